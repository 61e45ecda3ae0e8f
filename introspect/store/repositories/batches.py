"""Batches: a named dataset run, its jobs (one per row, unique by (batch, row id)), counts, cancel.

Trajectories carry their batch through their job: :func:`trajectory_in_batch` is the condition that
export, eval and the admin view filter by.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from introspect.store.repositories import events
from introspect.store.tables import TERMINAL_STATUSES, Batch, Job, Trajectory
from introspect.store.types import utcnow


def batch_ref_condition(ref: str) -> ColumnElement[bool]:
    """A batch named ``ref``, or whose id is ``ref``."""
    try:
        return or_(Batch.name == ref, Batch.id == uuid.UUID(ref))
    except ValueError:
        return Batch.name == ref


def trajectory_in_batch(ref: str) -> ColumnElement[bool]:
    """Trajectories of the jobs of the batch ``ref`` (name or id)."""
    batch_ids = select(Batch.id).where(batch_ref_condition(ref))
    return Trajectory.job_id.in_(select(Job.id).where(Job.batch_id.in_(batch_ids)))


def find_batch(session: Session, ref: str) -> Batch | None:
    return session.scalars(select(Batch).where(batch_ref_condition(ref))).first()


def get_or_create_batch(
    session: Session,
    *,
    name: str,
    graph: str,
    config: dict[str, Any],
    meta: dict[str, Any],
    source_sha256: str | None,
    api_key_id: uuid.UUID | None,
) -> tuple[Batch, bool]:
    """The batch named ``name``, created if missing (two creators race on the unique name)."""
    existing = session.scalars(select(Batch).where(Batch.name == name)).first()
    if existing is not None:
        return existing, False
    batch = Batch(
        name=name, graph=graph, config=config, meta=meta, source_sha256=source_sha256, api_key_id=api_key_id
    )
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:
        winner = session.scalars(select(Batch).where(Batch.name == name)).first()
        if winner is None:
            raise
        return winner, False
    return batch, True


def row_ids(session: Session, batch_id: uuid.UUID) -> set[str]:
    stmt = select(Job.batch_row_id).where(Job.batch_id == batch_id)
    return {r for r in session.scalars(stmt) if r is not None}


def add_row_jobs(session: Session, batch: Batch, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Queue one job per row (``row_id``, ``graph``, ``input``, ``config``, ``meta``); rows whose id
    the batch has already are skipped, so adding the same rows twice adds nothing."""
    have = row_ids(session, batch.id)
    jobs = [
        Job(
            graph=row["graph"],
            input=row["input"],
            config=row["config"],
            meta={"batch": batch.name, "batch_row": row["row_id"], **row.get("meta", {})},
            batch_id=batch.id,
            batch_row_id=row["row_id"],
            api_key_id=batch.api_key_id,
            api_key_scope=str(batch.api_key_id) if batch.api_key_id else "",
        )
        for row in rows
        if row["row_id"] not in have
    ]
    session.add_all(jobs)
    session.flush()
    for job in jobs:
        events.append_event(session, job.id, "status", {"status": "queued", "batch": batch.name})
    batch.row_count = len(have) + len(jobs)
    batch.updated_at = utcnow()
    session.flush()
    return [job.id for job in jobs]


def requeue(session: Session, batch_id: uuid.UUID, statuses: Sequence[str]) -> list[uuid.UUID]:
    """Put the batch's jobs in ``statuses`` (failed, cancelled) back in the queue, attempts reset."""
    ids = list(session.scalars(select(Job.id).where(Job.batch_id == batch_id, Job.status.in_(statuses))))
    if ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(
                status="queued", attempts=0, error=None, cancel_requested=False, finished_at=None,
                lease_owner=None, lease_expires_at=None, updated_at=utcnow(),
            )
        )  # fmt: skip
        for job_id in ids:
            events.append_event(session, job_id, "status", {"status": "queued", "requeued": True})
    session.execute(update(Batch).where(Batch.id == batch_id).values(cancel_requested=False))
    return ids


def status_counts(session: Session, batch_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    out: dict[uuid.UUID, dict[str, int]] = {b: {} for b in batch_ids}
    if not batch_ids:
        return out
    stmt = (
        select(Job.batch_id, Job.status, func.count())
        .where(Job.batch_id.in_(batch_ids))
        .group_by(Job.batch_id, Job.status)
    )
    for batch_id, status, count in session.execute(stmt):
        if batch_id is not None:
            out[batch_id][status] = int(count)
    return out


def active_job_ids(session: Session, batch_id: uuid.UUID, status: str = "queued") -> list[uuid.UUID]:
    stmt = select(Job.id).where(Job.batch_id == batch_id, Job.status == status).order_by(Job.created_at)
    return list(session.scalars(stmt))


def cancel(session: Session, batch: Batch) -> None:
    """Queued and waiting jobs end ``cancelled`` now; running ones stop at their next node boundary."""
    now = utcnow()
    batch.cancel_requested = True
    batch.updated_at = now
    waiting = list(
        session.scalars(
            select(Job.id).where(Job.batch_id == batch.id, Job.status.in_(("queued", "waiting_human")))
        )
    )
    if waiting:
        session.execute(
            update(Job)
            .where(Job.id.in_(waiting))
            .values(
                status="cancelled", cancel_requested=True, finished_at=now, lease_owner=None,
                lease_expires_at=None, updated_at=now,
            )
        )  # fmt: skip
        for job_id in waiting:
            events.append_event(session, job_id, "status", {"status": "cancelled"})
    session.execute(
        update(Job)
        .where(Job.batch_id == batch.id, Job.status.not_in(TERMINAL_STATUSES))
        .values(cancel_requested=True)
    )
    session.flush()


def list_batches(
    session: Session, *, limit: int, after: tuple[datetime, uuid.UUID] | None = None
) -> Sequence[Batch]:
    stmt = select(Batch)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(or_(Batch.created_at < at, and_(Batch.created_at == at, Batch.id < last_id)))
    return session.scalars(stmt.order_by(Batch.created_at.desc(), Batch.id.desc()).limit(limit)).all()
