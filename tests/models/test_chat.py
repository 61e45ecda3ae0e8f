from __future__ import annotations

import json

import numpy as np
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from introspect.models.chat import LocalChatModel, OpenAICompatChatModel, to_backend_messages
from introspect.models.local import LocalModel
from introspect.uncertainty import TokenStats
from tests.models.fake_openai import VOCAB, FakeServer

MESSAGES = [SystemMessage("Be brief."), HumanMessage("What is 2 + 2?")]
METADATA_KEYS = {"token_stats", "stats", "model", "usage", "finish_reason"}


def _check_metadata(message: AIMessage, *, exact: bool) -> TokenStats:
    meta = message.response_metadata
    assert meta.keys() >= METADATA_KEYS
    json.dumps(meta, allow_nan=False)  # storable as-is in a JSON column
    stats = TokenStats.from_compact(meta["token_stats"])
    assert stats.exact is exact and meta["stats"]["exact"] is exact
    assert meta["stats"]["n_tokens"] == len(stats) == meta["usage"]["completion_tokens"]
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == len(stats)
    return stats


def test_message_conversion() -> None:
    assert to_backend_messages([*MESSAGES, AIMessage("4")]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4"},
    ]


def test_local_chat_model_invoke(local_model: LocalModel) -> None:
    chat = LocalChatModel(local_model=local_model, max_new_tokens=8)
    assert isinstance(chat, BaseChatModel)
    message = chat.invoke(MESSAGES)
    assert isinstance(message, AIMessage)
    stats = _check_metadata(message, exact=True)
    assert message.response_metadata["model"] == local_model.name
    [direct] = local_model.generate(to_backend_messages(MESSAGES), max_new_tokens=8)
    assert message.content == direct.text
    assert direct.stats is not None
    np.testing.assert_allclose(stats.self_certainty, direct.stats.self_certainty, rtol=1e-4)  # type: ignore[arg-type]


def test_local_chat_model_candidates(local_model: LocalModel) -> None:
    chat = LocalChatModel(local_model=local_model, max_new_tokens=6, temperature=1.0, seed=3)
    candidates = chat.generate_candidates(MESSAGES, n=3)
    assert len(candidates) == 3
    for message in candidates:
        _check_metadata(message, exact=True)
    assert len({m.content for m in candidates}) > 1


def test_openai_compat_chat_model() -> None:
    server = FakeServer(steps=4)
    chat = OpenAICompatChatModel(
        model="fake", base_url="http://fake.local/v1", api_key="k", http_client=server.client(),
        vocab_size=len(VOCAB), temperature=0.5,
    )  # fmt: skip
    message = chat.invoke(MESSAGES)
    stats = _check_metadata(message, exact=False)
    assert stats.self_certainty is None and message.response_metadata["stats"]["mean_self_certainty"] is None
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    candidates = chat.generate_candidates(MESSAGES, n=2)
    assert len(candidates) == 2 and server.requests[-1]["n"] == 2


def test_stop_sequences_go_to_the_server() -> None:
    server = FakeServer(steps=2)
    chat = OpenAICompatChatModel(
        model="fake", api_key="k", base_url="http://fake.local/v1", http_client=server.client()
    )
    chat.invoke(MESSAGES, stop=["\n"])
    assert server.requests[0]["stop"] == ["\n"]


def test_local_model_honours_stop_sequences_when_batching(local_model: LocalModel) -> None:
    probe = LocalChatModel(local_model=local_model, max_new_tokens=12).invoke(MESSAGES)
    stop = probe.text[3:5]
    assert stop
    cut = LocalChatModel(local_model=local_model, max_new_tokens=12).invoke(MESSAGES, stop=[stop])
    assert cut.text == probe.text[: probe.text.index(stop)]
    assert cut.response_metadata["finish_reason"] == "stop"
    locked = LocalModel(local_model.model, local_model.tokenizer, batching=None)
    with pytest.raises(ValueError, match="stop sequences"):  # the lock path (generate) has none
        LocalChatModel(local_model=locked, max_new_tokens=4).invoke(MESSAGES, stop=["\n"])


def test_local_chat_model_accepts_model_alias(local_model: LocalModel) -> None:
    assert LocalChatModel(model=local_model).backend() is local_model
