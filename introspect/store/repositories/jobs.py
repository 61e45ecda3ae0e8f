"""Jobs: creation with idempotency, listing with keyset cursors, and the lease protocol.

The lease protocol (Kleppmann's fencing tokens): a worker claims a job by bumping ``lease_version``
and setting an expiry; heartbeats extend the expiry only while the version still matches; every write
the job makes is conditioned on the version (see ``fence``), so a paused-then-resumed worker whose
lease was taken over writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, null, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from introspect.store.engine import is_postgres
from introspect.store.models import TERMINAL_STATUSES, Job, JobEvent
from introspect.store.types import utcnow

_JOBS = cast(Table, Job.__table__)
# Built once: the fence runs at the start of every write transaction of a running job, and building
# an ORM statement (then its cache key) cost more than executing it. Core, so no session sync either.
_FENCE = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("b_job_id"), _JOBS.c.lease_version == bindparam("b_version"))
    .values(updated_at=bindparam("b_now"))
)

_EVENTS = cast(Table, JobEvent.__table__)
_LAST_EVENT_ID = (
    select(func.max(_EVENTS.c.id))
    .where(_EVENTS.c.job_id == _JOBS.c.id)
    .scalar_subquery()
    .label("last_event_id")
)
_RUN_FIELDS = select(
    _JOBS.c.graph, _JOBS.c.input, _JOBS.c.config, _JOBS.c.resume_value, _JOBS.c.cancel_requested
).where(_JOBS.c.id == bindparam("b_id"))


class StaleLeaseError(RuntimeError):
    """The caller's lease version no longer matches: another worker owns the job now."""


@dataclass(frozen=True)
class Lease:
    job_id: uuid.UUID
    owner: str
    version: int


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
) -> Sequence[Job]:
    """Newest first; ``after`` is the (created_at, id) of the last row of the previous page."""
    stmt = select(Job)
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


@dataclass(frozen=True)
class Claim:
    """A lease just taken, with what running the job needs (read by the claim's own UPDATE). A job
    with a cancel request is never claimed, and the claim's transaction holds the row lock."""

    lease: Lease
    graph: str
    input: dict[str, Any]
    config: dict[str, Any]
    resume_value: Any
    # The job's newest event when claimed: every writer of a job's events holds its row lock, as the
    # claim does, so the run's first event follows exactly this one. None: no events, or SQLite
    # (whose RETURNING cannot correlate the subquery; embedded mode publishes no events anyway).
    last_event_id: int | None = None


def claim_job(session: Session, job_id: uuid.UUID, owner: str, lease_seconds: float) -> Lease | None:
    """Take the lease if the job is claimable (queued, or running with an expired lease)."""
    claim = claim_job_to_run(session, job_id, owner, lease_seconds)
    return None if claim is None else claim.lease


def claim_job_to_run(session: Session, job_id: uuid.UUID, owner: str, lease_seconds: float) -> Claim | None:
    """``claim_job`` returning the job's graph, input, config and pending human answer too."""
    now = utcnow()
    claimable = or_(
        Job.status == "queued",
        and_(Job.status == "running", or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now)),
    )
    stmt = (
        update(Job)
        .where(Job.id == job_id, claimable, Job.cancel_requested.is_(False))
        .values(
            status="running",
            lease_owner=owner,
            lease_version=Job.lease_version + 1,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Job.attempts + 1,
            started_at=now,
            updated_at=now,
        )
        .returning(
            Job.lease_version,
            Job.graph,
            Job.input,
            Job.config,
            Job.resume_value,
            _LAST_EVENT_ID if is_postgres(session) else null().label("last_event_id"),
        )
    )
    row = session.execute(stmt).first()
    if row is None:
        return None
    lease = Lease(job_id=job_id, owner=owner, version=row.lease_version)
    return Claim(lease, row.graph, row.input, row.config or {}, row.resume_value, row.last_event_id)


def renew_lease(session: Session, lease: Lease, lease_seconds: float) -> bool:
    """Heartbeat: extend the expiry only while we still hold the lease."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_version == lease.version, Job.status == "running")
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now)
    )
    return _rowcount(result) == 1


def fence(session: Session, lease: Lease) -> None:
    """Lock the job row iff the lease is current; raise StaleLeaseError otherwise.

    Called at the start of every write transaction of a job: the UPDATE takes the row lock, so a
    concurrent claim (which bumps lease_version) waits until this transaction ends.
    """
    result = session.connection().execute(
        _FENCE, {"b_job_id": lease.job_id, "b_version": lease.version, "b_now": utcnow()}
    )
    if _rowcount(result) != 1:
        raise StaleLeaseError(f"lease {lease.version} on job {lease.job_id} is no longer held")


def finish_job(
    session: Session,
    lease: Lease,
    *,
    status: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """Move a leased, running job to a final (or waiting) status and drop the lease; fenced.

    A pending human answer is consumed with it. A job that is no longer running is left alone: its
    run settled it already (the recorder finishes the job with its trajectory), and an error after
    that -- the last checkpoint write failing, say -- must not turn a success into a failure.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "lease_owner": None,
        "lease_expires_at": None,
        "resume_value": None,
        "updated_at": now,
    }
    if result is not None:
        values["result"] = result
    if error is not None:
        values["error"] = error
    if status in TERMINAL_STATUSES:
        values["finished_at"] = now
    res = session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_version == lease.version, Job.status == "running")
        .values(**values)
    )
    return _rowcount(res) == 1


def release_lease(
    session: Session, lease: Lease, *, error: str | None = None, refund_attempt: bool = False
) -> bool:
    """Put a leased job back in the queue; fenced.

    ``refund_attempt`` is for a clean hand-back (SIGTERM): the attempt did not fail, so it must not
    count towards the poison-job limit. After an error the attempt counts and the error is kept.
    """
    values: dict[str, Any] = {
        "status": "queued",
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": utcnow(),
    }
    if refund_attempt:
        values["attempts"] = Job.attempts - 1
    if error is not None:
        values["error"] = error
    res = session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_version == lease.version, Job.status == "running")
        .values(**values)
    )
    return _rowcount(res) == 1


def attempts_of(session: Session, job_id: uuid.UUID) -> int:
    return int(session.scalar(select(Job.attempts).where(Job.id == job_id)) or 0)


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


def expired_jobs(session: Session, limit: int = 100) -> Sequence[Job]:
    """Running jobs whose lease ran out (their worker died or stalled) — the sweeper's input."""
    now = utcnow()
    stmt = (
        select(Job)
        .where(Job.status == "running", Job.lease_expires_at < now)
        .order_by(Job.lease_expires_at)
        .limit(limit)
    )
    return session.scalars(stmt).all()


def cancel_requested_among(session: Session, job_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``job_ids`` a user asked to cancel (one query for all of a worker's jobs)."""
    if not job_ids:
        return set()
    stmt = select(Job.id).where(Job.id.in_(job_ids), Job.cancel_requested.is_(True))
    return set(session.scalars(stmt).all())


def queued_job_ids(session: Session, limit: int = 100) -> list[uuid.UUID]:
    stmt = select(Job.id).where(Job.status == "queued").order_by(Job.created_at).limit(limit)
    return list(session.scalars(stmt).all())


def fail_exhausted(session: Session, job_id: uuid.UUID, max_attempts: int, error: str) -> bool:
    """A job whose lease expired max_attempts times is poison: mark it failed with its last error."""
    now = utcnow()
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("running", "queued")), Job.attempts >= max_attempts)
        .values(
            status="failed",
            error=error,
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
            lease_version=Job.lease_version + 1,
        )
    )
    return _rowcount(res) == 1


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
