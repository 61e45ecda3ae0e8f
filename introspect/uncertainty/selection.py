"""Best-of-N: pick one of N sampled answers by self-certainty, or vote on their final answers.

Kang et al. 2025 ("Scalable Best-of-N Selection via Self-Certainty"): rank the N answers by mean
self-certainty (rank r = 1 is the most certain); the answer at rank r gives ``(N - r + 1) ** p`` votes
to its extracted final answer (Borda voting). ``p = 0`` is plain majority vote; the paper suggests
``p ~ 0.3`` for N <= 16 and ``p ~ 1.2`` for N >= 32.

Determinism: equal scores keep candidate order when ranking, and equal tallies go to the answer that
occurs first in candidate order -- the same rule in :func:`borda_vote` and :func:`majority_vote`, so
``borda_vote(..., p=0)`` and ``majority_vote`` agree on every input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from introspect.uncertainty.token_stats import TokenStats

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class VoteResult:
    answer: Hashable | None  # the winning extracted answer; None when every candidate abstained
    index: int | None  # the best-ranked candidate that gave the winning answer
    tallies: dict[Hashable, float]  # votes per answer, in order of first occurrence
    answers: list[Hashable | None]  # the extracted answer of each candidate (None = abstained)
    votes: list[float]  # the votes each candidate cast


def mean_self_certainty(candidate: Any) -> float | None:
    """Mean self-certainty of a ``TokenStats``, an object with ``.stats``, a summary dict or a number."""
    if isinstance(candidate, TokenStats):
        if candidate.self_certainty is None or len(candidate) == 0:
            return None
        return float(candidate.self_certainty.mean())
    if isinstance(candidate, Mapping):
        value = candidate.get("mean_self_certainty")
        return None if value is None else float(value)
    if isinstance(candidate, int | float):
        return float(candidate)
    stats = getattr(candidate, "stats", None)
    return None if stats is None else mean_self_certainty(stats)


def select_by_self_certainty(candidates: Sequence[Any]) -> int:
    """Index of the candidate with the highest mean self-certainty; ties go to the lowest index.

    Candidates without self-certainty (e.g. from an OpenAI-compatible server) are skipped; if none has
    it, ``ValueError``.
    """
    best: int | None = None
    best_score = -math.inf
    for i, candidate in enumerate(candidates):
        score = mean_self_certainty(candidate)
        if score is None or math.isnan(score):
            continue
        if best is None or score > best_score:
            best, best_score = i, score
    if best is None:
        raise ValueError("no candidate has a self-certainty score")
    return best


def default_borda_power(n: int) -> float:
    """The paper's suggestion: 0.3 up to N = 16, 1.2 from N = 32, linear in between (our choice)."""
    if n <= 16:
        return 0.3
    if n >= 32:
        return 1.2
    return 0.3 + (n - 16) * (1.2 - 0.3) / 16


def _identity(candidate: Any) -> Hashable | None:
    return candidate


def _tally(
    answers: list[Hashable | None], votes: list[float], order: list[int]
) -> tuple[Hashable | None, int | None, dict[Hashable, float]]:
    per_answer: dict[Hashable, list[float]] = {}
    for answer, vote in zip(answers, votes, strict=True):
        if answer is not None:
            per_answer.setdefault(answer, []).append(vote)
    tallies = {answer: math.fsum(v) for answer, v in per_answer.items()}
    if not tallies:
        return None, None, tallies
    # max() keeps the first maximum in insertion order: ties go to the earliest-occurring answer.
    winner = max(tallies, key=lambda a: tallies[a])
    index = next(i for i in order if answers[i] == winner)
    return winner, index, tallies


def _ranking(scores: Sequence[float]) -> list[int]:
    if any(math.isnan(s) for s in scores):
        raise ValueError("scores contain NaN")
    return sorted(range(len(scores)), key=lambda i: -scores[i])  # stable: equal scores keep order


def borda_vote(
    candidates: Sequence[C],
    scores: Sequence[float],
    p: float | None = None,
    extract_answer: Callable[[C], Hashable | None] = _identity,
) -> VoteResult:
    """Borda vote over ``extract_answer(candidate)``, ranking candidates by ``scores`` (higher = better).

    ``p = None`` uses :func:`default_borda_power` for this N. Candidates whose answer extracts to
    ``None`` abstain but keep their rank.
    """
    n = len(candidates)
    if len(scores) != n:
        raise ValueError(f"{len(scores)} scores for {n} candidates")
    power = default_borda_power(n) if p is None else p
    order = _ranking(scores)
    answers = [extract_answer(c) for c in candidates]
    votes = [0.0] * n
    for rank, i in enumerate(order, start=1):
        if answers[i] is not None:
            votes[i] = float(n - rank + 1) ** power
    answer, index, tallies = _tally(answers, votes, order)
    return VoteResult(answer=answer, index=index, tallies=tallies, answers=answers, votes=votes)


def majority_vote(
    candidates: Sequence[C],
    extract_answer: Callable[[C], Hashable | None] = _identity,
    scores: Sequence[float] | None = None,
) -> VoteResult:
    """One vote per candidate. ``index`` is the best-scored candidate with the winning answer when
    ``scores`` are given, otherwise its first occurrence."""
    order = list(range(len(candidates))) if scores is None else _ranking(scores)
    answers = [extract_answer(c) for c in candidates]
    votes = [1.0 if a is not None else 0.0 for a in answers]
    answer, index, tallies = _tally(answers, votes, order)
    return VoteResult(answer=answer, index=index, tallies=tallies, answers=answers, votes=votes)
