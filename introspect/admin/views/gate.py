"""Gate decisions as one row each, with the signal that decided it, and each signal across turns.

A stored decision carries every gate input and the whole policy (``introspect.gate.decide``). Shown raw
that is ~20 inputs and the same ~11 thresholds per turn; what a reader wants is *which* input made the
call, its value against its cut-off, and how each signal moved from turn to turn. ``DECIDERS`` maps
each reason the gate can give to the inputs (and thresholds) behind it; a reason it does not know
(a newer gate, Best-of-N's selection) still gets its row, with no signal highlighted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from introspect.store.tables import Turn

# reason -> the decision inputs that decided it (first one is the headline).
DECIDERS: dict[str, tuple[str, ...]] = {
    "human_answer": ("phase",),
    "verified": ("verified",),
    "verifier_rejected": ("verified",),
    "confident": ("mean_self_certainty", "mean_nll", "predicted_correct", "confident"),
    "low_confidence": ("mean_self_certainty", "mean_nll", "predicted_correct", "confident"),
    "critic_approved": ("critique_verdict",),
    "critic_rejected": ("critique_verdict",),
    "unverifiable": ("confident", "critique_verdict"),
    "max_turns": ("attempt",),
    "token_budget": ("tokens_used",),
    "repeated_failure": ("failed_attempts",),
    "regime_scattered": ("regime", "mean_entropy", "mean_varentropy"),
    "regime_unsure": ("regime", "mean_entropy", "mean_varentropy"),
    "regime_branch": ("regime", "mean_entropy", "mean_varentropy"),
    "regime_confident": ("regime", "mean_entropy", "mean_varentropy"),
    "selected_by_self_certainty": ("mean_self_certainty",),
    "selected_by_borda": ("votes", "mean_self_certainty"),
    "selected_by_majority": ("votes",),
    "not_selected": ("votes", "mean_self_certainty"),
}


@dataclass(frozen=True)
class Signal:
    """A numeric gate input and the policy field it is held against."""

    key: str
    label: str
    threshold: str | None
    passes: str  # "above" | "below": which side of the threshold counts as fine
    unit: str = ""


SIGNALS: tuple[Signal, ...] = (
    Signal("mean_self_certainty", "mean self-certainty", "min_self_certainty", "above", "nats"),
    Signal("mean_nll", "mean NLL", "max_mean_nll", "below", "nats/token"),
    Signal("predicted_correct", "predicted P(correct)", "min_predicted_correct", "above"),
    Signal("mean_entropy", "mean entropy", "entropy_threshold", "below", "nats"),
    Signal("mean_varentropy", "mean varentropy", "varentropy_threshold", "below", "nats²"),
    Signal("attempt", "attempt", "max_turns", "below"),
    Signal("failed_attempts", "rejected attempts", "escalate_after_failures", "below"),
    Signal("tokens_used", "tokens used", "token_budget", "below"),
)
_THRESHOLD_OF = {s.key: s.threshold for s in SIGNALS if s.threshold}
# Reasons that end a run without a good answer: a "stop" that must not look like success.
UNRESOLVED_STOPS = frozenset({"max_turns", "token_budget", "unverifiable", "not_selected"})
# Always shown in a decision row when present, besides the deciding ones.
HEADLINE_INPUTS = (
    "verified",
    "critique_verdict",
    "regime",
    "mean_self_certainty",
    "mean_nll",
    "predicted_correct",
)


@dataclass(frozen=True)
class Cell:
    key: str
    value: Any
    threshold: Any
    deciding: bool


@dataclass(frozen=True)
class GateRow:
    turn_id: Any
    turn_index: int
    phase: str
    attempt: int | None
    action: str
    reason: str
    tone: str  # "good" | "bad" | "neutral": how the pill is coloured
    cells: list[Cell]
    inputs: dict[str, Any]


@dataclass(frozen=True)
class SeriesPoint:
    turn_index: int
    value: float


@dataclass(frozen=True)
class Series:
    signal: Signal
    points: list[SeriesPoint]
    threshold: float | None


@dataclass(frozen=True)
class GateView:
    rows: list[GateRow]
    thresholds: dict[str, Any]  # the policy in force; {} when decisions disagree (see varying)
    varying: list[str]  # threshold keys whose value changed between decisions
    series: list[Series]
    profile: dict[str, Any] | None  # the calibrated gate profile the decisions used, if any


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def tone_of(action: str, reason: str) -> str:
    if action == "stop":
        return "bad" if reason in UNRESOLVED_STOPS else "good"
    return "neutral"


def stop_tone(stop_reason: str | None, success: bool | None) -> str:
    """A trajectory's stop pill: green only for a run that ended on a good answer."""
    if success is False or stop_reason in UNRESOLVED_STOPS:
        return "bad"
    if success is True:
        return "good"
    return "neutral"


def _row(turn: Turn, decision: dict[str, Any]) -> GateRow:
    inputs = _dict(decision.get("inputs"))
    thresholds = _dict(decision.get("thresholds"))
    reason = str(decision.get("reason") or "")
    action = str(decision.get("action") or turn.decision_action or "?")
    deciding = DECIDERS.get(reason, ())
    keys = [k for k in deciding if k in inputs]
    keys += [k for k in HEADLINE_INPUTS if inputs.get(k) is not None and k not in keys]
    cells = [Cell(k, inputs[k], thresholds.get(_THRESHOLD_OF.get(k, ""), None), k in deciding) for k in keys]
    return GateRow(
        turn_id=turn.id,
        turn_index=turn.index,
        phase=turn.phase,
        attempt=turn.attempt,
        action=action,
        reason=reason,
        tone=tone_of(action, reason),
        cells=cells,
        inputs=inputs,
    )


def build_gate_view(turns: Sequence[Turn]) -> GateView:
    rows: list[GateRow] = []
    policies: list[dict[str, Any]] = []
    profile: dict[str, Any] | None = None
    for t in sorted(turns, key=lambda t: t.index):
        decision = _dict(t.decision)
        if not decision:
            continue
        rows.append(_row(t, decision))
        policies.append(_dict(decision.get("thresholds")))
        profile = _dict(decision.get("profile")) or profile
    merged: dict[str, Any] = {}
    varying: list[str] = []
    for policy in policies:
        for key, value in policy.items():
            if key in merged and merged[key] != value and key not in varying:
                varying.append(key)
            merged.setdefault(key, value)
    series = []
    for signal in SIGNALS:
        points = [
            SeriesPoint(r.turn_index, v) for r in rows if (v := _number(r.inputs.get(signal.key))) is not None
        ]
        if not points:
            continue
        threshold = _number(merged.get(signal.threshold)) if signal.threshold else None
        series.append(Series(signal, points, threshold))
    return GateView(rows=rows, thresholds=merged, varying=varying, series=series, profile=profile)
