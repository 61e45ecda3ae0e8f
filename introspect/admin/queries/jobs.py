"""Jobs for the admin view: a job's error, attempts, event log and runs, and the newest jobs by status.

A job can fail before it ever wrote a trajectory (a bad graph, a crash on start), so failures need a
page of their own: the trajectory list alone would never show them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from introspect.store.repositories.jobs import list_jobs
from introspect.store.tables import Job, JobEvent, Trajectory

EVENTS_SHOWN = 200


@dataclass(frozen=True)
class JobRun:
    id: uuid.UUID
    created_at: datetime
    stop_reason: str | None
    success: bool | None


@dataclass(frozen=True)
class JobBundle:
    job: Job
    events: list[JobEvent]  # newest last, at most EVENTS_SHOWN
    event_count: int
    runs: list[JobRun]

    @property
    def last_event(self) -> JobEvent | None:
        return self.events[-1] if self.events else None


@dataclass(frozen=True)
class JobRow:
    job: Job
    trajectory_id: uuid.UUID | None
    last_event: str | None


def load_job(session: Session, job_id: uuid.UUID) -> JobBundle | None:
    job = session.get(Job, job_id)
    if job is None:
        return None
    newest = session.scalars(
        select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id.desc()).limit(EVENTS_SHOWN)
    ).all()
    count = session.scalar(select(func.count()).select_from(JobEvent).where(JobEvent.job_id == job_id))
    runs = [
        JobRun(r.id, r.created_at, r.stop_reason, r.success)
        for r in session.execute(
            select(Trajectory.id, Trajectory.created_at, Trajectory.stop_reason, Trajectory.success)
            .where(Trajectory.job_id == job_id)
            .order_by(Trajectory.created_at)
        )
    ]
    return JobBundle(job=job, events=list(reversed(newest)), event_count=int(count or 0), runs=runs)


def last_events(session: Session, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The type of each job's newest event (one grouped query over the ``job_id`` index)."""
    if not job_ids:
        return {}
    newest = (
        select(func.max(JobEvent.id)).where(JobEvent.job_id.in_(job_ids)).group_by(JobEvent.job_id)
    ).scalar_subquery()
    rows = session.execute(select(JobEvent.job_id, JobEvent.type).where(JobEvent.id.in_(newest)))
    return {jid: str(kind) for jid, kind in rows}


def latest_trajectories(session: Session, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    if not job_ids:
        return {}
    out: dict[uuid.UUID, uuid.UUID] = {}
    stmt = (
        select(Trajectory.job_id, Trajectory.id)
        .where(Trajectory.job_id.in_(job_ids))
        .order_by(Trajectory.created_at)
    )
    for job_id, traj_id in session.execute(stmt):
        if job_id is not None:
            out[job_id] = traj_id  # the latest run wins
    return out


def job_rows(
    session: Session, *, status: str | None, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[JobRow]:
    jobs = list(list_jobs(session, limit=limit, after=after, status=status))
    ids = [j.id for j in jobs]
    events, runs = last_events(session, ids), latest_trajectories(session, ids)
    return [JobRow(job=j, trajectory_id=runs.get(j.id), last_event=events.get(j.id)) for j in jobs]
