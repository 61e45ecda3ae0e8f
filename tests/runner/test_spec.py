"""validate_job_request: what the API turns into a 422, and what a valid request becomes."""

from __future__ import annotations

from typing import Any

import pytest

from introspect.runner import JobValidationError, parse_job, validate_job_request
from tests.graphs.fakes import fake_settings

SETTINGS = fake_settings("strong")
OK = {"prompt": "What is 2 + 2?"}


@pytest.mark.parametrize(
    ("graph", "input", "config", "message"),
    [
        ("nope", OK, {}, "unknown graph 'nope'"),
        ("self_critique", {}, {}, "exactly one of 'prompt' or 'messages'"),
        ("self_critique", {"prompt": "x", "messages": [{"role": "user", "content": "x"}]}, {}, "exactly one"),
        ("self_critique", {"prompt": "   "}, {}, "the prompt is empty"),
        ("self_critique", {"messages": [{"role": "assistant", "content": "x"}]}, {}, "end with a user"),
        ("self_critique", {"messages": [{"role": "robot", "content": "x"}]}, {}, "role"),
        ("self_critique", {"prompt": "x", "colour": 1}, {}, "colour"),
        ("self_critique", {"prompt": "x", "verifier": "nope"}, {}, "unknown verifier 'nope'"),
        ("self_critique", {"prompt": "x", "verifier": {"name": "regex"}}, {}, "pattern"),
        (
            "self_critique",
            {"prompt": "x", "verifier": {"name": "regex", "pattern": "["}},
            {},
            "regular expression",
        ),
        ("self_critique", {"prompt": "x", "verifier": "numeric"}, {}, "needs input.reference"),
        ("self_critique", OK, {"max_turns": 0}, "max_turns"),
        ("self_critique", OK, {"max_turns": 21}, "max_turns"),
        ("self_critique", OK, {"gate": {"bogus": 1}}, "bogus"),
        ("self_critique", OK, {"gate": {"min_self_certainty": "high"}}, "min_self_certainty"),
        ("self_critique", OK, {"colour": 1}, "colour"),
        ("self_critique", OK, {"escalation": "pigeon"}, "escalation"),
        ("self_critique", OK, {"escalation": "model"}, "needs an escalation_model"),
        ("self_critique", OK, {"escalation_model": "gpt-9"}, "unknown escalation_model 'gpt-9'"),
        ("self_critique", OK, {"generator_model": "gpt-9"}, "unknown generator_model"),
        ("self_critique", OK, {"critic_model": "gpt-9"}, "unknown critic_model"),
        ("best_of_n", OK, {"n": 0}, "n"),
        ("best_of_n", OK, {"selection": "random"}, "selection"),
    ],
)
def test_invalid_requests(graph: str, input: dict[str, Any], config: dict[str, Any], message: str) -> None:
    with pytest.raises(JobValidationError, match=message) as info:
        validate_job_request(graph, input, config, SETTINGS)
    assert info.value.message == str(info.value)


def test_valid_request_becomes_a_spec() -> None:
    spec = parse_job(
        "self_critique",
        {"prompt": "What is 2 + 2?", "reference": "4", "corpus": "facts"},
        {"max_turns": 3, "gate": {"min_self_certainty": 2.5}, "escalation_model": "strong", "max_tokens": 64},
        SETTINGS,
    )
    assert spec.verifier is not None and spec.verifier.name == "numeric"  # a numeric reference
    assert spec.policy.max_turns == 3 and spec.policy.min_self_certainty == 2.5
    assert spec.options.escalation == "model" and spec.options.escalation_model == "strong"
    assert spec.options.max_tokens == 64 and spec.options.generator_model == "local"
    assert spec.corpus == "facts" and spec.messages is None


def test_defaults() -> None:
    spec = parse_job("self_critique", {"prompt": "Capital of France?", "reference": "Paris"}, None, SETTINGS)
    assert spec.verifier is not None and spec.verifier.name == "exact"
    assert spec.options.escalation == "none" and spec.policy.max_turns == 5
    bare = parse_job("self_critique", {"prompt": "Tell me a joke."}, {}, SETTINGS)
    assert bare.verifier is None and bare.critic == "auto"


def test_messages_input_uses_the_last_user_message_as_the_task() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    spec = parse_job("best_of_n", {"messages": messages}, {"n": 8, "selection": "borda"}, SETTINGS)
    assert spec.prompt == "What is 2 + 2?" and spec.messages == messages
    assert spec.options.n == 8 and spec.options.selection == "borda"


def test_escalation_model_from_settings() -> None:
    settings = fake_settings("strong", escalation_model="strong")
    assert parse_job("self_critique", OK, {}, settings).options.escalation == "model"
    assert parse_job("self_critique", OK, {"escalation": "none"}, settings).options.escalation == "none"
    assert parse_job("self_critique", OK, {"escalation": "human"}, settings).options.escalation == "human"
