"""best_attempt: verified first, then calibrated estimate, critic approval, agreement, earliest."""

from __future__ import annotations

from typing import Any

from graphs.final_answer import best_attempt
from graphs.state import JudgedAttempt


def judged(
    index: int,
    answer: str,
    *,
    passed: bool | None = None,
    verdict: str | None = None,
    reason: str = "low_confidence",
    phase: str = "revise",
    p_correct: float | None = None,
) -> JudgedAttempt:
    stats: dict[str, Any] | None = None if p_correct is None else {"p_correct": p_correct}
    attempt: Any = {"index": index, "output": f"The answer is {answer}.", "phase": phase, "stats": stats}
    verification: Any = None if passed is None else {"passed": passed}
    critique: Any = None if verdict is None else {"verdict": verdict, "feedback": "", "issues": []}
    return {  # type: ignore[typeddict-item]
        "attempt": attempt,
        "answer": answer,
        "verification": verification,
        "critique": critique,
        "decision": {"reason": reason},
    }


def indexes(*history: JudgedAttempt) -> int:
    chosen = best_attempt(list(history))
    assert chosen is not None
    return int(chosen["attempt"]["index"])


def test_the_first_verified_attempt_wins() -> None:
    assert (
        indexes(judged(0, "1", passed=False), judged(1, "2", passed=True), judged(2, "2", passed=True)) == 1
    )


def test_a_human_answer_wins() -> None:
    assert indexes(judged(0, "1", passed=True), judged(1, "2", phase="human")) == 1


def test_without_evidence_the_first_attempt_is_kept() -> None:
    assert indexes(judged(0, "Paris"), judged(1, "Lyon"), judged(2, "Nice")) == 0


def test_agreement_across_attempts() -> None:
    assert indexes(judged(0, "Lyon"), judged(1, "Paris"), judged(2, "paris")) == 1


def test_rejected_attempts_and_echoes_lose() -> None:
    history = [
        judged(0, "Lyon", verdict="incorrect"),
        judged(1, "x", reason="echo_feedback"),
        judged(2, "Paris"),
    ]
    assert indexes(*history) == 2
    # everything rejected: still never the echo
    assert indexes(judged(0, "1", passed=False), judged(1, "2", passed=False, reason="echo_feedback")) == 0


def test_critic_approval_then_calibrated_estimate() -> None:
    assert indexes(judged(0, "Lyon"), judged(1, "Paris", verdict="correct")) == 1
    estimated = [
        judged(0, "Lyon", p_correct=0.2),
        judged(1, "Paris", p_correct=0.9),
        judged(2, "Lyon", p_correct=0.1),
    ]
    assert indexes(*estimated) == 1


def test_empty_history() -> None:
    assert best_attempt([]) is None
