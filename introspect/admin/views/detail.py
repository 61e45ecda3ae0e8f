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
from introspect.admin.views.gate import GateView, build_gate_view
from introspect.admin.views.heatmap import SCALES, Heatmap, HeatScale, build_heatmap
from introspect.admin.views.siblings import CandidateGroup, candidate_groups
from introspect.admin.views.waterfall import Waterfall, build_waterfall
from introspect.store.tables import Job, JobEvent, Reward, Trajectory, Turn

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
    # The turn whose revision shows this turn's feedback (verifier, critique) in full: the turn's own
    # card then shows only the verdicts, so each piece of feedback appears once.
    feedback_shown_at: int | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.turn.id

    @property
    def verifier_lines(self) -> list[tuple[Any, bool]]:
        """Each verification, and whether to print its message: not when a critique restates it."""
        critiques = self.turn.critiques
        return [
            (v, bool(v.message) and not any((v.message or "") in c.feedback for c in critiques))
            for v in self.turn.verifications
        ]

    @property
    def text(self) -> str:
        return self.turn.output if self.turn.output is not None else (self.turn.answer or "")


@dataclass
class DetailView:
    trajectory: Trajectory
    job: Job | None
    turns: list[TurnView]
    gate: GateView
    escalations: list[TurnView]
    retrievals: list[TurnView]
    trajectory_rewards: list[Reward]
    scales: tuple[HeatScale, ...]
    groups: dict[int, CandidateGroup]  # Best-of-N candidates by sibling group
    waterfall: Waterfall
    last_event: JobEvent | None
    first_correct: bool | None  # the first attempt's verdict, against the final one (success)


def _summary(stats: dict[str, Any] | None) -> list[tuple[str, Any]]:
    if not stats:
        return []
    return [(label, stats[key]) for key, label in SUMMARY_KEYS if key in stats]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _feedback_between(turns: Sequence[Turn], start: int, stop: int) -> list[Feedback]:
    """Critiques, verifier messages, critic turns and gate reasons on turns ``start <= index < stop``."""
    found: list[Feedback] = []
    for t in turns:
        if not start <= t.index < stop:
            continue
        for v in t.verifications:
            verdict = "passed" if v.passed else ("failed" if v.passed is False else "unknown")
            # The verifier-feedback critic restates the verifier's message: say it once.
            restated = bool(v.message) and any((v.message or "") in c.feedback for c in t.critiques)
            found.append(Feedback("verifier", v.verifier, verdict, "" if restated else v.message or ""))
        for c in t.critiques:
            found.append(Feedback("critique", c.critic, c.verdict, c.feedback))
        if t.phase == "critique" and not t.critiques and t.output:
            found.append(Feedback("critic turn", t.model or "critic", "", t.output))
        decision = _dict(t.decision)
        if decision.get("action") in ("revise", "retrieve", "escalate"):
            # The reason is a code (verifier_rejected): a pill, not a paragraph.
            found.append(Feedback("gate", str(decision.get("reason") or ""), str(decision.get("action")), ""))
    return found


def _verdict(turn: Turn) -> bool | None:
    """Correct when every deciding verifier passed it (the dashboard's rule); None when none decided."""
    decided = [v.passed for v in turn.verifications if v.passed is not None]
    return all(decided) if decided else None


def build_detail(
    trajectory: Trajectory, job: Job | None, rewards: Sequence[Reward], last_event: JobEvent | None = None
) -> DetailView:
    turns = sorted(trajectory.turns, key=lambda t: t.index)
    by_turn: dict[uuid.UUID | None, list[Reward]] = defaultdict(list)
    for r in rewards:
        by_turn[r.turn_id].append(r)
    views: list[TurnView] = []
    previous: TurnView | None = None
    first_correct: bool | None = None
    seen_first = False
    for t in turns:
        is_attempt = t.phase in ATTEMPT_PHASES and (t.output is not None or t.answer is not None)
        view = TurnView(
            turn=t,
            heatmap=build_heatmap(t.token_stats),
            summary=_summary(t.stats),
            is_attempt=is_attempt,
            rewards=by_turn.get(t.id, []),
        )
        if is_attempt and t.sibling_group is None:
            if previous is not None:
                view.revision = Revision(
                    previous_index=previous.turn.index,
                    previous_attempt=previous.turn.attempt,
                    diff=word_diff(previous.text, view.text),
                    feedback=_feedback_between(turns, previous.turn.index, t.index),
                )
                previous.feedback_shown_at = t.index
            previous = view
        if is_attempt and not seen_first and t.selected is not False:
            seen_first, first_correct = True, _verdict(t)
        views.append(view)
    return DetailView(
        trajectory=trajectory,
        job=job,
        turns=views,
        gate=build_gate_view(turns),
        escalations=[
            v for v in views if v.turn.phase in ("escalate", "human") or v.turn.decision_action == "escalate"
        ],
        retrievals=[v for v in views if v.turn.retrieved],
        trajectory_rewards=by_turn.get(None, []),
        scales=SCALES,
        groups=candidate_groups(turns),
        waterfall=build_waterfall(trajectory, job, turns),
        last_event=last_event,
        first_correct=first_correct,
    )
