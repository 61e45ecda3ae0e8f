"""Best-of-N candidates side by side: one group per ``sibling_group``, with scores and the vote.

The candidates of a Best-of-N step are one attempt sampled N times, not N attempts in a row, so they
are shown as columns of one group (Kang et al. 2025: the winner is the argmax of mean self-certainty,
or the Borda/majority vote over their extracted answers), never as revisions of each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from introspect.store.tables import Turn


@dataclass(frozen=True)
class Candidate:
    turn: Turn
    answer: str | None
    self_certainty: float | None
    votes: float | None
    passed: bool | None
    selected: bool


@dataclass(frozen=True)
class CandidateGroup:
    group: int
    method: str | None
    reason: str | None
    candidates: list[Candidate]
    answer_votes: list[tuple[str, float]]  # total votes per distinct answer, most first

    @property
    def first_index(self) -> int:
        return min(c.turn.index for c in self.candidates)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def candidate_groups(turns: Sequence[Turn]) -> dict[int, CandidateGroup]:
    grouped: dict[int, list[Turn]] = {}
    for t in sorted(turns, key=lambda t: t.index):
        if t.sibling_group is not None:
            grouped.setdefault(t.sibling_group, []).append(t)
    out: dict[int, CandidateGroup] = {}
    for group, members in grouped.items():
        candidates: list[Candidate] = []
        tally: dict[str, float] = {}
        method = reason = None
        for t in members:
            decision = t.decision if isinstance(t.decision, dict) else {}
            inputs = decision.get("inputs") if isinstance(decision.get("inputs"), dict) else {}
            assert isinstance(inputs, dict)
            method = method or (str(inputs["method"]) if inputs.get("method") else None)
            if t.selected:
                reason = str(decision.get("reason") or "")
            stats = t.stats or {}
            votes = _number(inputs.get("votes"))
            answer = t.answer if t.answer is not None else inputs.get("answer")
            decided = [v.passed for v in t.verifications if v.passed is not None]
            candidates.append(
                Candidate(
                    turn=t,
                    answer=None if answer is None else str(answer),
                    self_certainty=_number(inputs.get("mean_self_certainty"))
                    or _number(stats.get("mean_self_certainty")),
                    votes=votes,
                    passed=all(decided) if decided else None,
                    selected=bool(t.selected),
                )
            )
            if answer is not None:
                tally[str(answer)] = tally.get(str(answer), 0.0) + (votes if votes is not None else 1.0)
        ranked = sorted(tally.items(), key=lambda kv: -kv[1])
        out[group] = CandidateGroup(group, method, reason, candidates, ranked)
    return out
