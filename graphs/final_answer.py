"""The final answer of a self-critique run: its best attempt, not its last.

A revision can make a right answer wrong (a small model answering the feedback instead of the task,
or second-guessing itself), so the loop must never hand back a worse answer than it already had:

1. a person's answer, else the first attempt a verifier accepted;
2. otherwise, among the attempts nothing rejected (no failed verification, no "incorrect" critique,
   no echo of the feedback) -- all attempts when every one was rejected:
   a calibrated correctness estimate (``stats["p_correct"]``, when a gate profile supplies one);
   else a critic's approval; else agreement across attempts (the answer most attempts reached);
   ties go to the earliest attempt, because a revision the loop asked for without evidence is no
   evidence that the first answer was wrong.

Echoes of the feedback are never chosen; with nothing else, the last attempt is returned (as before).
"""

from __future__ import annotations

import math
from collections import Counter

from graphs.state import JudgedAttempt
from introspect.gate.echo import normalized


def _echo(judged: JudgedAttempt) -> bool:
    reason = str((judged["decision"] or {}).get("reason", ""))
    return reason == "echo_feedback"


def _rejected(judged: JudgedAttempt) -> bool:
    verification, critique = judged["verification"], judged["critique"]
    return (verification is not None and verification["passed"] is False) or (
        critique is not None and critique["verdict"] == "incorrect"
    )


def _p_correct(judged: JudgedAttempt) -> float | None:
    value = (judged["attempt"]["stats"] or {}).get("p_correct")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def best_attempt(history: list[JudgedAttempt]) -> JudgedAttempt | None:
    attempts = [j for j in history if j["attempt"]["output"].strip()]
    if not attempts:
        return history[-1] if history else None
    humans = [j for j in attempts if j["attempt"]["phase"] == "human"]
    if humans:
        return humans[-1]
    passed = [j for j in attempts if j["verification"] is not None and j["verification"]["passed"] is True]
    passed = [j for j in passed if not _echo(j)]
    if passed:
        return passed[0]
    answers = [j for j in attempts if not _echo(j)]
    if not answers:
        return history[-1]
    pool = [j for j in answers if not _rejected(j)] or answers
    estimated = [(p, j) for j in pool if (p := _p_correct(j)) is not None]
    if len(estimated) == len(pool):
        return max(estimated, key=lambda pj: pj[0])[1]  # max keeps the earliest of equals
    approved = [j for j in pool if j["critique"] is not None and j["critique"]["verdict"] == "correct"]
    if approved:
        return approved[0]
    votes = Counter(normalized(j["answer"]) for j in pool)
    top = max(votes.values())
    return next(j for j in pool if votes[normalized(j["answer"])] == top)
