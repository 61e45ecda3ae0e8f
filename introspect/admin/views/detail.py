"""The trajectory page's view-model: turn timeline, heatmaps, revision diffs, gate decisions, labels.

Built from ORM rows by pure functions (no SQL here), so the shaping is testable without a database.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from introspect.admin.views.diff import TextDiff, word_diff
from introspect.admin.views.heatmap import Heatmap, HeatScale, build_heatmap, scale_for
from introspect.store.models import Job, Reward, Trajectory, Turn

# Turns whose output is an attempt at the task (RISE: each is a training example); an "escalate" turn
# is a stronger model's answer, a "human" turn a person's (the export counts the same phases).
ATTEMPT_PHASES = frozenset({"generate", "revise", "escalate", "human"})
# The summary numbers worth a glance on each turn, in display order.
SUMMARY_KEYS = (
    ("mean_entropy", "mean H"),
    ("mean_varentropy", "mean VarH"),
    ("mean_self_certainty", "mean SC"),
    ("mean_logprob", "mean log p"),
    ("min_logprob", "min log p"),
    ("gnll", "G-NLL"),
    ("mean_margin", "mean margin"),
    ("regime", "regime"),
)


@dataclass(frozen=True)
class Feedback:
    """A piece of feedback between two attempts: what the next attempt was asked to fix."""

    kind: str  # "critique" | "verifier" | "critic turn" | "gate"
    source: str
    verdict: str
    text: str


@dataclass(frozen=True)
class Revision:
    previous_index: int
    previous_attempt: int | None
    diff: TextDiff
    feedback: list[Feedback]


@dataclass
class TurnView:
    turn: Turn
    heatmap: Heatmap | None
    summary: list[tuple[str, Any]]
    is_attempt: bool
    revision: Revision | None = None
    rewards: list[Reward] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        return self.turn.id

    @property
    def text(self) -> str:
        return self.turn.output if self.turn.output is not None else (self.turn.answer or "")


@dataclass(frozen=True)
class GateStep:
    turn_id: uuid.UUID
    turn_index: int
    phase: str
    attempt: int | None
    action: str
    reason: str
    inputs: dict[str, Any]
    thresholds: dict[str, Any]


@dataclass
class DetailView:
    trajectory: Trajectory
    job: Job | None
    turns: list[TurnView]
    gate: list[GateStep]
    escalations: list[TurnView]
    retrievals: list[TurnView]
    trajectory_rewards: list[Reward]
    scale: HeatScale


def _summary(stats: dict[str, Any] | None) -> list[tuple[str, Any]]:
    if not stats:
        return []
    return [(label, stats[key]) for key, label in SUMMARY_KEYS if key in stats]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def gate_steps(turns: Sequence[Turn]) -> list[GateStep]:
    steps = []
    for t in turns:
        decision = _dict(t.decision)
        if not decision:
            continue
        steps.append(
            GateStep(
                turn_id=t.id,
                turn_index=t.index,
                phase=t.phase,
                attempt=t.attempt,
                action=str(decision.get("action") or t.decision_action or "?"),
                reason=str(decision.get("reason") or ""),
                inputs=_dict(decision.get("inputs")),
                thresholds=_dict(decision.get("thresholds")),
            )
        )
    return steps


def _feedback_between(turns: Sequence[Turn], start: int, stop: int) -> list[Feedback]:
    """Critiques, verifier messages, critic turns and gate reasons on turns ``start <= index < stop``."""
    found: list[Feedback] = []
    for t in turns:
        if not start <= t.index < stop:
            continue
        for v in t.verifications:
            verdict = "passed" if v.passed else ("failed" if v.passed is False else "unknown")
            found.append(Feedback("verifier", v.verifier, verdict, v.message or ""))
        for c in t.critiques:
            found.append(Feedback("critique", c.critic, c.verdict, c.feedback))
        if t.phase == "critique" and not t.critiques and t.output:
            found.append(Feedback("critic turn", t.model or "critic", "", t.output))
        decision = _dict(t.decision)
        if decision.get("action") in ("revise", "retrieve", "escalate"):
            found.append(
                Feedback(
                    "gate", f"turn {t.index}", str(decision.get("action")), str(decision.get("reason") or "")
                )
            )
    return found


def build_detail(trajectory: Trajectory, job: Job | None, rewards: Sequence[Reward]) -> DetailView:
    turns = sorted(trajectory.turns, key=lambda t: t.index)
    scale = scale_for(t.token_stats for t in turns)
    by_turn: dict[uuid.UUID | None, list[Reward]] = defaultdict(list)
    for r in rewards:
        by_turn[r.turn_id].append(r)
    views: list[TurnView] = []
    previous: TurnView | None = None
    for t in turns:
        is_attempt = t.phase in ATTEMPT_PHASES and (t.output is not None or t.answer is not None)
        view = TurnView(
            turn=t,
            heatmap=build_heatmap(t.token_stats, scale),
            summary=_summary(t.stats),
            is_attempt=is_attempt,
            rewards=by_turn.get(t.id, []),
        )
        if is_attempt:
            if previous is not None:
                view.revision = Revision(
                    previous_index=previous.turn.index,
                    previous_attempt=previous.turn.attempt,
                    diff=word_diff(previous.text, view.text),
                    feedback=_feedback_between(turns, previous.turn.index, t.index),
                )
            # A Best-of-N loser is not what the next attempt revised.
            if t.selected is not False:
                previous = view
        views.append(view)
    return DetailView(
        trajectory=trajectory,
        job=job,
        turns=views,
        gate=gate_steps(turns),
        escalations=[
            v for v in views if v.turn.phase in ("escalate", "human") or v.turn.decision_action == "escalate"
        ],
        retrievals=[v for v in views if v.turn.retrieved],
        trajectory_rewards=by_turn.get(None, []),
        scale=scale,
    )
