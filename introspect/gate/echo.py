"""Attempts that are not answers: an echo of the feedback, or a repeat of an earlier attempt.

A small instruct model asked to revise often replies to the feedback instead of the task ("The answer
is also incorrect. Please try again.") -- fluent, low-NLL text that a verifier may even extract a
number from ("The numeric verifier rejected 32." -> 32). Such an attempt must never be accepted as
an answer, however confident its logits look. A verbatim repeat of an earlier attempt adds nothing
either: it is judged already.

Pure functions over text; no model is consulted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

EchoKind = Literal["feedback", "repeat"]

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
# Phrases of the feedback texts the loop sends (RISE's fixed feedback, verifier messages): an
# attempt built around them is talking about the review, not answering the task.
_FEEDBACK_PHRASES = (
    "the answer is incorrect",
    "the answer is also incorrect",
    "answer is not correct",
    "please try again",
    "verifier rejected",
)
# Share of an attempt's words that also occur in a feedback text for it to count as an echo, and
# the fewest words that test needs: a short answer ("42") may well appear in a critic's issues.
OVERLAP = 0.8
MIN_WORDS = 4


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def normalized(text: str) -> str:
    return " ".join(words(text))


def echo_kind(output: str, feedbacks: Sequence[str], previous: Sequence[str]) -> EchoKind | None:
    """``feedback`` if ``output`` mostly restates one of ``feedbacks`` (or the loop's feedback phrases),
    ``repeat`` if it equals an earlier attempt word for word, else None."""
    mine = words(output)
    if not mine:
        return None
    text = " ".join(mine)
    for feedback in feedbacks:
        theirs = set(words(feedback))
        if theirs and len(mine) >= MIN_WORDS and sum(w in theirs for w in mine) / len(mine) >= OVERLAP:
            return "feedback"
    if any(phrase in text for phrase in _FEEDBACK_PHRASES) and len(mine) <= 40:
        return "feedback"
    if any(text == normalized(p) for p in previous):
        return "repeat"
    return None
