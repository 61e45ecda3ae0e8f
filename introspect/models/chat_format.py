"""Chat formatting facts read from a tokenizer's own chat template.

* **End of turn**: the special token the template writes after an assistant message (``<|im_end|>``
  for ChatML, ``<|eot_id|>`` for Llama 3, ``<|end|>`` for the demo model). Generation stops there
  even when the checkpoint's EOS is another token.
* **System prompt**: some templates reject a ``system`` role (Gemma's raise); their system text is
  folded into the first user message instead of failing the job.
* **Context budget**: a conversation that does not fit loses its oldest attempts first -- each an
  assistant answer and the user feedback after it -- and never the system prompt, the task (the
  first user message) or the latest turn.
* **No template**: a tokenizer without one cannot format a conversation faithfully, so loading fails
  with one line unless the operator supplies a template file (``INTROSPECT_CHAT_TEMPLATE``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_SENTINEL = "\u2063introspect-sentinel\u2063"


class ChatTemplateError(ValueError):
    """The tokenizer cannot format a conversation (one line for the operator)."""


class ContextLengthError(ValueError):
    """Even the task alone does not fit the model's context."""


def ensure_chat_template(tokenizer: Any, model_name: str, template_file: Path | None = None) -> None:
    """Install ``template_file`` if given; fail with a clear message when there is no template."""
    if template_file is not None:
        try:
            tokenizer.chat_template = Path(template_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ChatTemplateError(f"cannot read chat template {template_file}: {exc.strerror}") from None
    if not getattr(tokenizer, "chat_template", None):
        raise ChatTemplateError(
            f"the tokenizer of model {model_name!r} has no chat template: set INTROSPECT_CHAT_TEMPLATE "
            "to a Jinja chat template file (see README, 'Models')"
        )


def _render(tokenizer: Any, messages: list[dict[str, Any]], generation_prompt: bool) -> str:
    return str(
        tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=False)
    )


def end_of_turn_ids(tokenizer: Any) -> list[int]:
    """The special token(s) the template writes right after an assistant message's content."""
    try:
        text = _render(
            tokenizer,
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _SENTINEL}],
            False,
        )
    except Exception:
        return []
    if _SENTINEL not in text:
        return []
    after = text.split(_SENTINEL, 1)[1]
    ids = list(tokenizer(after, add_special_tokens=False)["input_ids"])
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    special |= {int(i) for i in (getattr(tokenizer, "added_tokens_decoder", {}) or {})}
    for i in ids:
        if int(i) in special:
            return [int(i)]
        if tokenizer.decode([i]).strip():  # ordinary text before any special token: no end marker
            return []
    return []


def supports_system(tokenizer: Any) -> bool:
    try:
        text = _render(
            tokenizer,
            [{"role": "system", "content": _SENTINEL}, {"role": "user", "content": "hi"}],
            True,
        )
    except Exception:
        return False
    return _SENTINEL in text


def fold_system(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """System messages become a preamble of the first user message (templates without a system role)."""
    system = "\n\n".join(str(m["content"]) for m in messages if m.get("role") == "system")
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    for m in rest:
        if m.get("role") == "user":
            m["content"] = f"{system}\n\n{m['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def fit_to_context(
    messages: Sequence[dict[str, Any]], count: Callable[[list[dict[str, Any]]], int], limit: int
) -> tuple[list[dict[str, Any]], int]:
    """(messages that fit in ``limit`` tokens, number of messages dropped).

    Drops the oldest (assistant answer, following user message) pairs after the task; raises
    :class:`ContextLengthError` when the task and the latest turn alone do not fit."""
    kept = [dict(m) for m in messages]
    dropped = 0
    while count(kept) > limit:
        task = next((i for i, m in enumerate(kept) if m.get("role") == "user"), len(kept))
        protect = len(kept) - 2  # the latest answer and the message after it stay
        oldest = next((i for i in range(task + 1, protect) if kept[i].get("role") == "assistant"), None)
        if oldest is None:
            raise ContextLengthError(
                f"the prompt needs {count(kept)} tokens but the model's context leaves room for {limit}"
            )
        width = 2 if oldest + 1 < protect and kept[oldest + 1].get("role") == "user" else 1
        del kept[oldest : oldest + width]
        dropped += width
    return kept, dropped
