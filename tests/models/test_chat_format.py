"""Chat formatting read from the template: end of turn, system role, context budget, no template."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from introspect.models.chat_format import (
    ChatTemplateError,
    ContextLengthError,
    end_of_turn_ids,
    ensure_chat_template,
    fit_to_context,
    fold_system,
    supports_system,
)
from introspect.models.local import LocalModel

NO_SYSTEM = (
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
    "<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def conversation(attempts: int) -> list[dict[str, str]]:
    out = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "TASK " * 10}]
    for i in range(attempts):
        out += [
            {"role": "assistant", "content": f"attempt {i} " * 10},
            {"role": "user", "content": f"fb {i}"},
        ]
    return out


def words(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"].split()) for m in messages)


def test_fit_drops_the_oldest_attempts_first_and_never_the_task() -> None:
    messages = conversation(3)
    kept, dropped = fit_to_context(messages, words, 50)
    assert dropped == 4 and kept[:2] == messages[:2] and kept[-2:] == messages[-2:]
    assert fit_to_context(messages, words, 10_000) == (messages, 0)
    with pytest.raises(ContextLengthError):
        fit_to_context(messages, words, 5)


def test_fold_system_into_the_first_user_message() -> None:
    folded = fold_system(conversation(0))
    assert folded == [{"role": "user", "content": "Be brief.\n\n" + "TASK " * 10}]


def test_template_facts(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert end_of_turn_ids(tokenizer) == [tokenizer.convert_tokens_to_ids("<|end|>")]
    assert supports_system(tokenizer)
    tokenizer.chat_template = NO_SYSTEM
    assert not supports_system(tokenizer)


def test_a_model_whose_template_has_no_system_role_gets_the_system_text_in_the_user_turn(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    template = tmp_path / "chat.jinja"
    template.write_text(NO_SYSTEM)
    model = LocalModel.from_pretrained(tiny_model_dir, device="cpu", dtype="float32", chat_template=template)
    ids = model.encode_prompt([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert model.tokenizer.decode(ids).count("Be brief.") == 1


def test_the_context_budget_applies_when_encoding(local_model: LocalModel) -> None:
    assert local_model.context_length == 512  # the tiny model's max_position_embeddings
    long = conversation(40)
    ids = local_model.encode_prompt(long, reserve=64)
    assert len(ids) <= 512 - 64
    assert "TASK" in local_model.tokenizer.decode(ids)


def test_no_template_is_a_clear_error_unless_one_is_given(tiny_model_dir: Path, tmp_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = None
    with pytest.raises(ChatTemplateError, match="INTROSPECT_CHAT_TEMPLATE"):
        ensure_chat_template(tokenizer, "tiny")
    template = tmp_path / "t.jinja"
    template.write_text(NO_SYSTEM)
    ensure_chat_template(tokenizer, "tiny", template)
    assert tokenizer.chat_template == NO_SYSTEM
