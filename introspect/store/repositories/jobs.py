"""Jobs: creation with idempotency, reads, listing with keyset cursors, cancel requests.

Running a job -- claiming it, fencing its writes, settling it -- is the lease protocol in
``introspect.store.repositories.leases``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from introspect.store.tables import TERMINAL_STATUSES, Job
from introspect.store.types import utcnow

_JOBS = cast(Table, Job.__table__)
_RUN_FIELDS = select(
    _JOBS.c.graph, _JOBS.c.input, _JOBS.c.config, _JOBS.c.resume_value, _JOBS.c.cancel_requested
).where(_JOBS.c.id == bindparam("b_id"))


@dataclass(frozen=True)
class CreateOutcome:
    job: Job
    created: bool


class IdempotencyConflictError(ValueError):
    """Same Idempotency-Key, different request body."""


def create_job(
    session: Session,
    *,
    graph: str,
    input: dict[str, Any],
    config: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    api_key_id: uuid.UUID | None = None,
) -> CreateOutcome:
    """Insert a queued job, or return the existing one for a repeated Idempotency-Key.

    Concurrent requests with one key race on the unique constraint; the loser rolls back its
    savepoint and reads the winner's row, so exactly one job exists.
    """
    scope = str(api_key_id) if api_key_id else ""
    if idempotency_key is not None:
        existing = _by_idempotency(session, scope, idempotency_key)
        if existing is not None:
            return _replay(existing, request_hash)
    job = Job(
        graph=graph,
        input=input,
        config=config or {},
        meta=meta or {},
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        api_key_id=api_key_id,
        api_key_scope=scope,
    )
    if idempotency_key is None:  # nothing to race on: no savepoint (two round trips) needed
        session.add(job)
        session.flush()
        return CreateOutcome(job=job, created=True)
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        existing = _by_idempotency(session, scope, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, request_hash)
    return CreateOutcome(job=job, created=True)


def _by_idempotency(session: Session, scope: str, key: str) -> Job | None:
    stmt = select(Job).where(Job.api_key_scope == scope, Job.idempotency_key == key)
    return session.scalars(stmt).first()


def _replay(existing: Job, request_hash: str | None) -> CreateOutcome:
    if existing.request_hash != request_hash:
        raise IdempotencyConflictError("Idempotency-Key was already used with a different request body")
    return CreateOutcome(job=existing, created=False)


def get_job(session: Session, job_id: uuid.UUID) -> Job | None:
    return session.get(Job, job_id)


def run_fields(session: Session, job_id: uuid.UUID) -> Any:
    """What a worker needs to run a job (graph, input, config, resume_value, cancel_requested) as one
    row, without loading the whole job into the session."""
    return session.execute(_RUN_FIELDS, {"b_id": job_id}).first()


def list_jobs(
    session: Session,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    status: str | None = None,
    graph: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    batch_id: uuid.UUID | None = None,
) -> Sequence[Job]:
    """Newest first; ``after`` is the (created_at, id) of the last row of the previous page."""
    stmt = select(Job)
    if batch_id is not None:
        stmt = stmt.where(Job.batch_id == batch_id)
    if status:
        stmt = stmt.where(Job.status == status)
    if graph:
        stmt = stmt.where(Job.graph == graph)
    if created_after:
        stmt = stmt.where(Job.created_at >= created_after)
    if created_before:
        stmt = stmt.where(Job.created_at < created_before)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(or_(Job.created_at < at, and_(Job.created_at == at, Job.id < last_id)))
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return session.scalars(stmt).all()


def request_cancel(session: Session, job_id: uuid.UUID) -> Job | None:
    """Queued/waiting jobs are cancelled at once; running ones stop at the next node boundary."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        return None
    if job.status in TERMINAL_STATUSES:
        return job
    job.cancel_requested = True
    if job.status in ("queued", "waiting_human"):
        job.status = "cancelled"
        job.finished_at = utcnow()
        job.lease_owner = None
        job.lease_expires_at = None
    session.flush()
    return job


def is_cancel_requested(session: Session, job_id: uuid.UUID) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def set_status(session: Session, job_id: uuid.UUID, status: str, *, from_status: str | None = None) -> bool:
    stmt = update(Job).where(Job.id == job_id)
    if from_status is not None:
        stmt = stmt.where(Job.status == from_status)
    res = session.execute(stmt.values(status=status, updated_at=utcnow()))
    return _rowcount(res) == 1


def cancel_requested_among(session: Session, job_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``job_ids`` a user asked to cancel (one query for all of a worker's jobs)."""
    if not job_ids:
        return set()
    stmt = select(Job.id).where(Job.id.in_(job_ids), Job.cancel_requested.is_(True))
    return set(session.scalars(stmt).all())


def queued_job_ids(session: Session, limit: int = 100) -> list[uuid.UUID]:
    stmt = select(Job.id).where(Job.status == "queued").order_by(Job.created_at).limit(limit)
    return list(session.scalars(stmt).all())


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
