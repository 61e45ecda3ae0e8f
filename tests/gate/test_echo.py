"""Echo detection: feedback restated, RISE phrases, verbatim repeats; real answers pass."""

from __future__ import annotations

import pytest

from introspect.critics import RISE_FEEDBACK
from introspect.gate.echo import echo_kind

VERIFIER = f"{RISE_FEEDBACK} The numeric verifier rejected 32."


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        ("The numeric verifier rejected 32.", "feedback"),
        ("The answer is incorrect. Please try again.", "feedback"),
        ("The answer is also incorrect. Please try again.", "feedback"),
        ("I apologize. The answer is incorrect, please try again!", "feedback"),
        ("17 + 25 = 42. The answer is 42.", None),
        ("The capital of France is Paris.", None),
        ("32", "repeat"),
        ("", None),
    ],
)
def test_echo_kind(output: str, kind: str | None) -> None:
    assert echo_kind(output, [VERIFIER], ["32", "The answer is 31."]) == kind


def test_a_long_answer_that_mentions_the_phrase_is_an_answer() -> None:
    text = "You said the answer is incorrect, so let me redo it. " + "We add the tens and the ones. " * 8
    assert echo_kind(text + "So 17 + 25 = 42.", [], []) is None


def test_a_short_answer_found_in_a_critics_issues_is_an_answer() -> None:
    assert echo_kind("42", ["The answer should be 42, not 32."], ["32"]) is None
