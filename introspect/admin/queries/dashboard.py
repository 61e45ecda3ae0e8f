"""Aggregates for the dashboard.

Jobs by status cover every job (one GROUP BY on an indexed column). Everything else describes the
most recent trajectories (``RECENT_TRAJECTORIES``): their stop reasons, their turns' gate decisions,
the accuracy of each attempt and the (uncertainty metrics, verified correct) samples the calibration
charts are computed from. A fixed window keeps the page's cost flat as the store grows (at 100k
trajectories full-table aggregates cost hundreds of milliseconds; bench/admin_list.py) and shows the
service as it behaves now, not averaged over its history.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from introspect.store.models import Job, Reward, Trajectory, Turn, Verification

ATTEMPT_PHASES = frozenset({"generate", "revise", "escalate", "human"})
RECENT_TRAJECTORIES = 2000
_CHUNK = 500  # ids per IN list: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class VerifiedAttempt:
    attempt: int | None
    metrics: dict[str, float]  # the requested stats summary values that are present
    correct: bool


@dataclass(frozen=True)
class AttemptAccuracy:
    attempt: int
    total: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass
class RecentWindow:
    trajectories: int = 0
    stop_reasons: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    attempts: list[VerifiedAttempt] = field(default_factory=list)


def jobs_by_status(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status).order_by(Job.status))
    return [(str(s), int(n)) for s, n in rows]


def recent_window(
    session: Session, metric_keys: Sequence[str], trajectories: int = RECENT_TRAJECTORIES
) -> RecentWindow:
    """One pass over the newest ``trajectories`` trajectories and their turns.

    The newest come from the ``created_at`` index; their turns are then read in chunks of explicit
    ids, which both backends serve from the (trajectory_id, index) key (as one join, Postgres prefers
    a sequential scan of every turn, which grows with the table). An attempt counts as verified when a
    verifier decided on it, and as correct when every deciding verifier passed it. The metrics are
    pulled out of the stats JSON in SQL, so whole documents are never shipped.
    """
    window = RecentWindow()
    newest = select(Trajectory.id, Trajectory.stop_reason).order_by(
        Trajectory.created_at.desc(), Trajectory.id.desc()
    )
    ids: list[uuid.UUID] = []
    for traj_id, stop_reason in session.execute(newest.limit(trajectories)):
        ids.append(traj_id)
        window.stop_reasons[stop_reason or "(running)"] += 1
    window.trajectories = len(ids)
    verdict = (
        select(func.min(case((Verification.passed.is_(True), 1), else_=0)))
        .where(Verification.turn_id == Turn.id, Verification.passed.is_not(None))
        .scalar_subquery()
    )
    metrics = [Turn.stats[key].as_float() for key in metric_keys]
    for start in range(0, len(ids), _CHUNK):
        stmt = select(Turn.phase, Turn.attempt, Turn.decision_action, verdict, *metrics).where(
            Turn.trajectory_id.in_(ids[start : start + _CHUNK])
        )
        for phase, attempt, action, ok, *values in session.execute(stmt):
            if action is not None:
                window.decisions[action] += 1
            if ok is None or phase not in ATTEMPT_PHASES:
                continue
            found = {key: float(v) for key, v in zip(metric_keys, values, strict=True) if v is not None}
            window.attempts.append(VerifiedAttempt(attempt=attempt, metrics=found, correct=bool(ok)))
    return window


def accuracy_per_attempt(attempts: Sequence[VerifiedAttempt]) -> list[AttemptAccuracy]:
    totals: dict[int, list[int]] = {}
    for a in attempts:
        if a.attempt is not None:
            bucket = totals.setdefault(a.attempt, [0, 0])
            bucket[0] += 1
            bucket[1] += a.correct
    return [AttemptAccuracy(k, n, ok) for k, (n, ok) in sorted(totals.items())]


def calibration_samples(attempts: Sequence[VerifiedAttempt]) -> list[tuple[dict[str, float], bool]]:
    return [(a.metrics, a.correct) for a in attempts if a.metrics]


def human_label_counts(session: Session) -> tuple[int, int]:
    """(labelled correct, labelled incorrect) among human reward rows."""
    stmt = (
        select(Reward.label, func.count())
        .where(Reward.kind == "human", Reward.label.is_not(None))
        .group_by(Reward.label)
    )
    counts = {bool(label): int(n) for label, n in session.execute(stmt)}
    return counts.get(True, 0), counts.get(False, 0)
