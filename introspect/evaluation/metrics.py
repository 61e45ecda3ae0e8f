"""RISE's evaluation metrics (Qu et al. 2024) over graded attempts; pure functions.

Two runs per problem and model:

- **oracle run** (``p1``): the task's verifier is in the loop, so the job stops at the first verified
  attempt (at most ``turns``): p1@t5 = some attempt verified; also mean turns and tokens per solved
  task (the cost of getting there with the real gate).
- **no-oracle run** (``m1``): the reference is hidden from the loop and the gate is told never to
  stop early, so every problem gets ``turns`` attempts, each after the fixed RISE feedback:
  accuracy at each turn (turn 1 included), m1@t5 = majority vote over the attempts' extracted answers
  (ties to the latest), and AUROC of each uncertainty summary for predicting an attempt's correctness.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from introspect.gate.metrics import auroc

# Each summary, signed so that higher means "more likely correct".
UNCERTAINTY_METRICS: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "self_certainty": lambda s: s.get("mean_self_certainty"),
    "neg_entropy": lambda s: None if s.get("mean_entropy") is None else -s["mean_entropy"],
    "neg_gnll": lambda s: None if s.get("gnll") is None else -s["gnll"],
    "neg_mean_nll": lambda s: None if s.get("mean_nll") is None else -s["mean_nll"],
    "margin": lambda s: s.get("mean_margin"),
    "min_logprob": lambda s: s.get("min_logprob"),
}


@dataclass(frozen=True)
class GradedAttempt:
    answer: str | None  # what the task's verifier extracted
    correct: bool
    stats: dict[str, Any] = field(default_factory=dict)
    tokens: int = 0


@dataclass(frozen=True)
class ProblemRun:
    row_id: str
    attempts: list[GradedAttempt]
    total_tokens: int = 0
    seconds: float | None = None


def majority(answers: Sequence[str | None]) -> str | None:
    """The most common answer; among equally common ones, the one given last."""
    votes = Counter(a for a in answers if a is not None and a != "")
    if not votes:
        return None
    top = max(votes.values())
    for answer in reversed(answers):
        if answer is not None and votes.get(answer) == top:
            return answer
    return None


def _rate(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def no_oracle_metrics(
    runs: Sequence[ProblemRun], turns: int, is_correct: Callable[[str, str | None], bool]
) -> dict[str, Any]:
    """Turn-1 accuracy, accuracy per turn, m1@t5 and AUROC per metric from the no-oracle run.
    ``is_correct(row_id, answer)`` grades a voted answer."""
    per_turn = []
    for k in range(turns):
        hits = 0
        for run in runs:
            if not run.attempts:
                continue
            attempt = run.attempts[min(k, len(run.attempts) - 1)]  # a job that stopped early keeps its answer
            hits += int(attempt.correct)
        per_turn.append(_rate(hits, len(runs)))
    voted = sum(int(is_correct(r.row_id, majority([a.answer for a in r.attempts[:turns]]))) for r in runs)
    attempts = [a for r in runs for a in r.attempts[:turns]]
    aurocs: dict[str, float | None] = {}
    for name, read in UNCERTAINTY_METRICS.items():
        pairs = [(read(a.stats), a.correct) for a in attempts]
        kept = [(float(v), y) for v, y in pairs if isinstance(v, int | float) and math.isfinite(v)]
        aurocs[name] = auroc([v for v, _ in kept], [y for _, y in kept]) if kept else None
    return {
        "problems": len(runs),
        "turn1": per_turn[0] if per_turn else None,
        "accuracy_per_turn": per_turn,
        "m1_at_t": _rate(voted, len(runs)),
        "auroc": aurocs,
        "attempts": len(attempts),
        "attempt_accuracy": _rate(sum(a.correct for a in attempts), len(attempts)),
    }


def oracle_metrics(runs: Sequence[ProblemRun], turns: int) -> dict[str, Any]:
    """p1@t5, mean turns and tokens per solved task from the oracle run."""
    solved = [r for r in runs if any(a.correct for a in r.attempts[:turns])]
    seconds = [r.seconds for r in runs if r.seconds is not None]
    total_tokens = sum(r.total_tokens for r in runs)
    return {
        "problems": len(runs),
        "p1_at_t": _rate(len(solved), len(runs)),
        "turn1_oracle": _rate(sum(int(bool(r.attempts) and r.attempts[0].correct) for r in runs), len(runs)),
        "mean_turns": (sum(len(r.attempts) for r in runs) / len(runs)) if runs else None,
        "tokens_per_solved": (total_tokens / len(solved)) if solved else None,
        "seconds_per_job": (sum(seconds) / len(seconds)) if seconds else None,
    }
