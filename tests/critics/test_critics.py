"""Critics: RISE's fixed feedback with the verifier's message, and a model critic's parsed verdict."""

from __future__ import annotations

import pytest

from introspect.critics import RISE_FEEDBACK, CritiqueInput, LlmCritic, VerifierFeedbackCritic, parse_verdict
from introspect.prompting import default_library
from tests.graphs.fakes import ScriptedChatModel


def test_verifier_feedback_critic() -> None:
    critic = VerifierFeedbackCritic()
    right = critic.critique(CritiqueInput("q", "a", verified=True))
    assert (right.verdict, right.feedback) == ("correct", "")
    bare = critic.critique(CritiqueInput("q", "a", verified=False))
    assert (bare.verdict, bare.feedback, bare.issues) == ("incorrect", RISE_FEEDBACK, [])
    said = critic.critique(CritiqueInput("q", "a", verified=False, verifier_message="Too long."))
    assert said.feedback == f"{RISE_FEEDBACK} Too long." and said.issues == ["Too long."]
    unknown = critic.critique(CritiqueInput("q", "a", verified=None))
    assert (unknown.verdict, unknown.feedback) == ("unknown", RISE_FEEDBACK)
    assert RISE_FEEDBACK == "The answer is incorrect. Please try again."  # the text the demo model learnt


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"verdict": "correct", "issues": []}', ("correct", [])),
        (
            'Sure!\n```json\n{"verdict": "incorrect", "issues": ["off by one"]}\n```',
            ("incorrect", ["off by one"]),
        ),
        ('{"note": 1} then {"verdict": "INCORRECT", "issues": "sign"}', ("incorrect", ["sign"])),
        ("Verdict: correct.", ("correct", [])),
        ("I am not sure.", ("unknown", [])),
        ('{"verdict": "maybe"}', ("unknown", [])),
    ],
)
def test_parse_verdict(reply: str, expected: tuple[str, list[str]]) -> None:
    assert parse_verdict(reply) == expected


def test_llm_critic_uses_the_template_and_records_its_call() -> None:
    model = ScriptedChatModel(
        script=['{"verdict": "incorrect", "issues": ["2 + 2 is 4"]}', "no idea", '{"verdict": "correct"}']
    )
    critic = LlmCritic(model, "critic")
    result = critic.critique(CritiqueInput("What is 2 + 2?", "5"))
    template = default_library()["critique"]
    assert result.verdict == "incorrect" and result.issues == ["2 + 2 is 4"]
    assert result.feedback == f"{RISE_FEEDBACK} 2 + 2 is 4"
    assert result.call is not None and result.call.prompt_template == "critique"
    assert result.call.prompt_hash == template.sha256 and result.call.completion_tokens == 5
    assert result.call.messages == [template.message(question="What is 2 + 2?", answer="5")]
    assert "What is 2 + 2?" in model.calls[0][0]["content"]
    unknown = critic.critique(CritiqueInput("q", "a"))
    assert (unknown.verdict, unknown.feedback) == ("unknown", "no idea")
    correct = critic.critique(CritiqueInput("q", "a"))
    assert (correct.verdict, correct.feedback) == ("correct", "")
