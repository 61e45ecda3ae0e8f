"""The attempts of a set of trajectories, with their verdicts, in one chunked pass.

Shared by the list (first-vs-final correctness), the dashboard (RISE accuracy@t), calibration and the
label queue. An attempt counts as verified when a verifier decided on it, and as correct when every
deciding verifier passed it. Metric values are pulled out of the stats JSON in SQL, so whole
documents are never shipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from introspect.store.tables import Batch, Job, Trajectory, Turn, Verification

ATTEMPT_PHASES = ("generate", "revise", "escalate", "human")
CHUNK = 500  # ids per IN list: well under SQLite's bound-parameter limit
# A trajectory's batch/run tag: its job's batch name (``introspect run --dataset``, POST /v1/batches),
# else the first of these job metadata keys present (jobs submitted one by one with a run label).
TAG_KEYS = ("batch", "run", "tag")


@dataclass(frozen=True)
class AttemptRow:
    index: int
    attempt: int | None
    phase: str
    model: str | None
    answer: str | None
    sibling_group: int | None
    selected: bool | None
    correct: bool | None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class TrajectoryAttempts:
    id: uuid.UUID
    created_at: datetime
    success: bool | None
    stop_reason: str | None
    job_status: str | None
    tag: str | None
    models: list[Any]
    attempts: list[AttemptRow] = field(default_factory=list)

    @property
    def model(self) -> str | None:
        """The model that made the first attempt (what a per-model figure is about)."""
        for a in self.attempts:
            if a.model:
                return a.model
        return str(self.models[0]) if self.models else None


def tag_of(meta: Any) -> str | None:
    if not isinstance(meta, dict):
        return None
    for key in TAG_KEYS:
        value = meta.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:200]
    return None


def verdict_column() -> Any:
    return (
        select(func.min(case((Verification.passed.is_(True), 1), else_=0)))
        .where(Verification.turn_id == Turn.id, Verification.passed.is_not(None))
        .scalar_subquery()
    )


def recent_trajectories(
    session: Session,
    *,
    limit: int,
    since: datetime | None = None,
    ids: Sequence[uuid.UUID] | None = None,
) -> list[TrajectoryAttempts]:
    """The newest ``limit`` trajectories (or exactly ``ids``), newest first, without their attempts."""
    stmt = (
        select(
            Trajectory.id,
            Trajectory.created_at,
            Trajectory.success,
            Trajectory.stop_reason,
            Trajectory.models,
            Job.status,
            Job.meta,
            Batch.name,
        )
        .outerjoin(Job, Job.id == Trajectory.job_id)
        .outerjoin(Batch, Batch.id == Job.batch_id)
        .order_by(Trajectory.created_at.desc(), Trajectory.id.desc())
    )
    if ids is not None:
        stmt = stmt.where(Trajectory.id.in_(list(ids)))
    if since is not None:
        stmt = stmt.where(Trajectory.created_at >= since)
    return [
        TrajectoryAttempts(
            id=r[0],
            created_at=r[1],
            success=r[2],
            stop_reason=r[3],
            models=list(r[4] or []),
            job_status=r[5],
            tag=r[7] or tag_of(r[6]),
        )
        for r in session.execute(stmt.limit(limit))
    ]


def load_attempts(
    session: Session, trajectories: Sequence[TrajectoryAttempts], metric_keys: Sequence[str] = ()
) -> None:
    """Fill each trajectory's ``attempts`` (index order), reading turns by explicit ids in chunks
    (both backends serve that from the (trajectory_id, index) key)."""
    by_id = {t.id: t for t in trajectories}
    ids = list(by_id)
    metrics = [Turn.stats[key].as_float() for key in metric_keys]
    for start in range(0, len(ids), CHUNK):
        stmt = (
            select(
                Turn.trajectory_id,
                Turn.index,
                Turn.attempt,
                Turn.phase,
                Turn.model,
                Turn.answer,
                Turn.sibling_group,
                Turn.selected,
                verdict_column(),
                *metrics,
            )
            .where(Turn.trajectory_id.in_(ids[start : start + CHUNK]), Turn.phase.in_(ATTEMPT_PHASES))
            .order_by(Turn.trajectory_id, Turn.index)
        )
        for tid, index, attempt, phase, model, answer, group, selected, ok, *values in session.execute(stmt):
            found = {k: float(v) for k, v in zip(metric_keys, values, strict=True) if v is not None}
            by_id[tid].attempts.append(
                AttemptRow(
                    index=index,
                    attempt=attempt,
                    phase=phase,
                    model=model,
                    answer=answer,
                    sibling_group=group,
                    selected=selected,
                    correct=None if ok is None else bool(ok),
                    metrics=found,
                )
            )
