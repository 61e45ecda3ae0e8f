"""Model calls as nodes make them: any LangChain chat model in, text + token statistics out.

The local chat model puts the answer's token statistics in ``AIMessage.response_metadata``
(``stats``: the summary, ``token_stats``: the compact per-token arrays) because it collects them while
generating. A remote model's answer has none; the score node then teacher-forces it through the local
model (``LocalModel.score``) so the gate can judge answers it did not write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_messages

from graphs.state import Message
from introspect.gate.profile import scorer_ref
from introspect.runner.context import Scorer


@dataclass(frozen=True)
class Reply:
    text: str
    stats: dict[str, Any] | None
    token_stats: dict[str, Any] | None
    latency_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str | None = None  # the model's own name for itself (name@weights-hash for local models)
    finish_reason: str | None = None  # "length": cut at the token limit


def reply_from_message(message: BaseMessage, latency_ms: float) -> Reply:
    meta = message.response_metadata or {}
    usage = message.usage_metadata if isinstance(message, AIMessage) else None
    stats = meta.get("stats")
    # A turn's latency is the model's own time: waiting for a model shared by other jobs is not.
    waited = meta.get("lock_wait_ms")
    if isinstance(waited, int | float) and not isinstance(waited, bool):
        latency_ms = max(0.0, latency_ms - float(waited))
    model = meta.get("model")
    completion = usage.get("output_tokens") if usage else None
    if completion is None and isinstance(stats, dict) and isinstance(stats.get("n_tokens"), int):
        completion = stats["n_tokens"]
    return Reply(
        text=message.text,
        stats=stats if isinstance(stats, dict) else None,
        token_stats=meta.get("token_stats") if isinstance(meta.get("token_stats"), dict) else None,
        latency_ms=latency_ms,
        prompt_tokens=usage.get("input_tokens") if usage else None,
        completion_tokens=completion,
        model=model if isinstance(model, str) and model else None,
        finish_reason=meta.get("finish_reason") if isinstance(meta.get("finish_reason"), str) else None,
    )


def length_limit(model: BaseChatModel, max_tokens: int) -> dict[str, Any]:
    """Introspect's own chat models take transformers' ``max_new_tokens``; LangChain's take ``max_tokens``."""
    key = "max_new_tokens" if "max_new_tokens" in type(model).model_fields else "max_tokens"
    return {key: max_tokens}


def invoke_chat(model: BaseChatModel, messages: list[Message], max_tokens: int) -> Reply:
    started = time.perf_counter()
    message = model.invoke(messages, **length_limit(model, max_tokens))
    return reply_from_message(message, (time.perf_counter() - started) * 1000)


def invoke_chat_n(
    model: BaseChatModel,
    messages: list[Message],
    n: int,
    *,
    max_tokens: int,
    temperature: float,
    seed: int | None,
) -> list[Reply]:
    """``n`` candidates from one batched call (``n`` generations in one ``ChatResult``).

    A model that ignores ``n`` returns a single generation; the remaining candidates are then drawn
    with one ``batch`` call, so any chat model works, only less efficiently.
    """
    kwargs: dict[str, Any] = {**length_limit(model, max_tokens), "temperature": temperature}
    if seed is not None:
        kwargs["seed"] = seed
    started = time.perf_counter()
    result = model.generate([convert_to_messages(messages)], n=n, **kwargs)
    generations = list(result.generations[0])
    latency_ms = (time.perf_counter() - started) * 1000
    replies = [reply_from_message(g.message, latency_ms / max(1, len(generations))) for g in generations]  # type: ignore[attr-defined]
    if len(replies) < n:
        started = time.perf_counter()
        more = model.batch([messages] * (n - len(replies)), **kwargs)
        each = (time.perf_counter() - started) * 1000 / max(1, len(more))
        replies += [reply_from_message(m, each) for m in more]
    return replies[:n]


def needs_local_scoring(stats: dict[str, Any] | None) -> bool:
    """An answer the local scorer must read: no statistics, or a remote server's approximate ones
    (top-k log-probs bracket the entropy and have no self-certainty; the gate needs exact ones)."""
    return stats is None or stats.get("exact") is False


def teacher_forced(
    scorer: Scorer, messages: list[Message], text: str, *, finish_reason: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, compact per-token arrays) of ``text`` read by the local model after ``messages``.

    The end-of-turn token is scored too, as generation would have produced it -- unless the answer
    was cut at the length limit (``finish_reason == "length"``): no end-of-turn token was generated
    then, and scoring one would add a large, unrelated surprise to the answer's statistics."""
    stats = scorer.score(messages, text, add_eos=finish_reason != "length")
    return stats.summary(), stats.to_compact()


def scored_stats(
    scorer: Scorer, messages: list[Message], text: str, own: dict[str, Any] | None, finish_reason: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The local scorer's exact statistics of an answer, with the generator's approximate ones (if
    any) kept beside them under ``remote``; ``scorer`` names the model whose logits they are."""
    summary, compact = teacher_forced(scorer, messages, text, finish_reason=finish_reason)
    stats: dict[str, Any] = {**summary, "source": "teacher_forced"}
    ref = scorer_ref(scorer)
    if ref is not None:
        stats["scorer"] = ref[0]
        if ref[1]:
            stats["scorer_weights_hash"] = ref[1]
    if own is not None:
        stats["remote"] = own
    return stats, compact
