"""Aggregates for the dashboard.

Jobs by status cover every job (one GROUP BY on an indexed column). Everything else describes a
window of recent trajectories (the newest ``window`` ones, optionally since a date): their stop
reasons, their turns' gate decisions and their attempts, from which the RISE figures and the
calibration are computed. A bounded window keeps the page's cost flat as the store grows (at 100k
trajectories full-table aggregates cost hundreds of milliseconds; bench/admin_list.py) and shows the
service as it behaves now, not averaged over its history.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from introspect.admin.queries.attempts import CHUNK, TrajectoryAttempts, load_attempts, recent_trajectories
from introspect.store.tables import Job, Reward, Turn

DEFAULT_WINDOW = 2000
MAX_WINDOW = 20_000


@dataclass
class RecentWindow:
    trajectories: list[TrajectoryAttempts] = field(default_factory=list)
    stop_reasons: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)


def jobs_by_status(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status).order_by(Job.status))
    return [(str(s), int(n)) for s, n in rows]


def unfinished_label(job_status: str | None) -> str:
    """What a trajectory without a stop reason is: still running only when its job is."""
    if job_status in (None, "running", "queued"):
        return "(running)"
    return f"(no stop: job {job_status})"


def recent_window(
    session: Session,
    metric_keys: Sequence[str] = (),
    *,
    window: int = DEFAULT_WINDOW,
    since: datetime | None = None,
) -> RecentWindow:
    out = RecentWindow(trajectories=recent_trajectories(session, limit=window, since=since))
    for t in out.trajectories:
        out.stop_reasons[t.stop_reason or unfinished_label(t.job_status)] += 1
    load_attempts(session, out.trajectories, metric_keys)
    ids: list[uuid.UUID] = [t.id for t in out.trajectories]
    for start in range(0, len(ids), CHUNK):
        stmt = (
            select(Turn.decision_action, func.count())
            .where(Turn.trajectory_id.in_(ids[start : start + CHUNK]), Turn.decision_action.is_not(None))
            .group_by(Turn.decision_action)
        )
        for action, n in session.execute(stmt):
            out.decisions[str(action)] += int(n)
    return out


def calibration_samples(
    trajectories: Sequence[TrajectoryAttempts],
) -> list[tuple[dict[str, float], bool]]:
    """(metrics, verified correct) of every verified attempt that has statistics."""
    return [
        (a.metrics, bool(a.correct))
        for t in trajectories
        for a in t.attempts
        if a.correct is not None and a.metrics
    ]


def human_label_counts(session: Session) -> tuple[int, int]:
    """(labelled correct, labelled incorrect) among human reward rows."""
    stmt = (
        select(Reward.label, func.count())
        .where(Reward.kind == "human", Reward.label.is_not(None))
        .group_by(Reward.label)
    )
    counts = {bool(label): int(n) for label, n in session.execute(stmt)}
    return counts.get(True, 0), counts.get(False, 0)
