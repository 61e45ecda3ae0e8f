"""The lease protocol (Kleppmann's fencing tokens) a worker runs a job under.

A worker claims a job by bumping ``lease_version`` and setting an expiry; heartbeats extend the
expiry only while the version still matches; every write the job makes is conditioned on the version
(see ``fence``), so a paused-then-resumed worker whose lease was taken over writes nothing. The
statements a running job executes are built once: building a SQLAlchemy ORM statement (and its
cache key) cost more than executing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, insert, literal, null, or_, select, update
from sqlalchemy.orm import Session

from introspect.store.tables import TERMINAL_STATUSES, Job, JobEvent
from introspect.store.types import utcnow

_JOBS = cast(Table, Job.__table__)
_EVENTS = cast(Table, JobEvent.__table__)

# The fence runs at the start of every write transaction of a running job. Core, so no session
# synchronisation either.
_FENCE = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("b_job_id"), _JOBS.c.lease_version == bindparam("b_version"))
    .values(updated_at=bindparam("b_now"))
)
# fence + INSERT of an event as one statement (a data-modifying CTE, Postgres): on an autocommit
# connection one round trip instead of four (BEGIN, fence, INSERT, COMMIT), and a worker appends an
# event at the start of every turn. No row inserted means the lease is gone.


def fence_cte() -> Any:
    """The fence as a CTE returning the job's id -- one row iff the lease is current -- for a
    one-statement write to build on (parameters b_job_id, b_version, b_now)."""
    return _FENCE.returning(_JOBS.c.id).cte("fence")


def insert_event_from(
    source: Any, job_id: Any, *, event_type: str | None = None, data: str = "b_data"
) -> Any:
    """``INSERT INTO job_events SELECT job_id, type, :data, :b_now FROM source RETURNING id``: the
    event of a one-statement write, logged only if ``source`` yields its row. The type is
    ``event_type`` or, for None, the parameter b_type."""
    type_ = (
        bindparam("b_type", type_=_EVENTS.c.type.type)
        if event_type is None
        else literal(event_type, type_=_EVENTS.c.type.type)
    )
    columns = select(
        job_id,
        type_,
        bindparam(data, type_=_EVENTS.c.data.type),
        bindparam("b_now", type_=_EVENTS.c.created_at.type),
    )
    return (
        insert(_EVENTS)
        .from_select(["job_id", "type", "data", "created_at"], columns.select_from(source))
        .returning(_EVENTS.c.id)
    )


_FENCE_RETURNING = fence_cte()
_APPEND_FENCED = insert_event_from(_FENCE_RETURNING, _FENCE_RETURNING.c.id)
_VERSION_AND_STATUS = select(_JOBS.c.lease_version, _JOBS.c.status).where(_JOBS.c.id == bindparam("b_id"))
_LAST_EVENT_ID = (
    select(func.max(_EVENTS.c.id))
    .where(_EVENTS.c.job_id == _JOBS.c.id)
    .scalar_subquery()
    .label("last_event_id")
)
_CLAIM = (
    update(_JOBS)
    .where(
        _JOBS.c.id == bindparam("b_id"),
        or_(
            _JOBS.c.status == "queued",
            and_(
                _JOBS.c.status == "running",
                or_(_JOBS.c.lease_expires_at.is_(None), _JOBS.c.lease_expires_at < bindparam("b_now")),
            ),
        ),
        _JOBS.c.cancel_requested.is_(False),
    )
    .values(
        status="running",
        lease_owner=bindparam("b_owner"),
        lease_version=_JOBS.c.lease_version + 1,
        lease_expires_at=bindparam("b_expires"),
        attempts=_JOBS.c.attempts + 1,
        started_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)
_CLAIMED = (_JOBS.c.lease_version, _JOBS.c.graph, _JOBS.c.input, _JOBS.c.config, _JOBS.c.resume_value)
_CLAIM_ON_POSTGRES = _CLAIM.returning(*_CLAIMED, _LAST_EVENT_ID)
_CLAIM_ELSEWHERE = _CLAIM.returning(*_CLAIMED, null().label("last_event_id"))


class StaleLeaseError(RuntimeError):
    """The caller's lease version no longer matches: another worker owns the job now."""

    @classmethod
    def of(cls, lease: Lease) -> StaleLeaseError:
        return cls(f"lease {lease.version} on job {lease.job_id} is no longer held")


@dataclass(frozen=True)
class Lease:
    job_id: uuid.UUID
    owner: str
    version: int


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


def claim_job_to_run(
    db: Session | Connection, job_id: uuid.UUID, owner: str, lease_seconds: float
) -> Claim | None:
    """``claim_job`` returning the job's graph, input, config and pending human answer too. On an
    autocommit ``Connection`` (a worker's) the claim is one statement, its own transaction."""
    now = utcnow()
    conn = db.connection() if isinstance(db, Session) else db
    statement = _CLAIM_ON_POSTGRES if conn.dialect.name == "postgresql" else _CLAIM_ELSEWHERE
    params = {
        "b_id": job_id,
        "b_now": now,
        "b_owner": owner,
        "b_expires": now + timedelta(seconds=lease_seconds),
    }
    row = conn.execute(statement, params).first()
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
        raise StaleLeaseError.of(lease)


def append_event_fenced(conn: Connection, lease: Lease, type: str, data: dict[str, Any]) -> JobEvent:
    """Append an event iff ``lease`` is current, in one statement on ``conn`` (Postgres; run it on an
    autocommit connection: the statement is its own transaction). Raises StaleLeaseError otherwise.
    The returned object is detached, like ``events.append_event``'s."""
    now = utcnow()
    params = {
        "b_job_id": lease.job_id,
        "b_version": lease.version,
        "b_now": now,
        "b_type": type,
        "b_data": data,
    }
    event_id = conn.execute(_APPEND_FENCED, params).scalar_one_or_none()
    if event_id is None:
        raise StaleLeaseError.of(lease)
    return JobEvent(id=event_id, job_id=lease.job_id, type=type, data=data, created_at=now)


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
    params: dict[str, Any] = {
        "b_id": lease.job_id,
        "b_version": lease.version,
        "b_status": status,
        "b_now": now,
    }
    if result is not None:
        params["b_result"] = result
    if error is not None:
        params["b_error"] = error
    terminal = status in TERMINAL_STATUSES
    statement = finish_statement(
        sets_result=result is not None, sets_error=error is not None, terminal=terminal
    )
    return _rowcount(session.connection().execute(statement, params)) == 1


_FINISH_STATEMENTS: dict[tuple[bool, bool, bool], Any] = {}


def finish_statement(*, sets_result: bool, sets_error: bool, terminal: bool) -> Any:
    """finish_job's UPDATE for one combination of columns, built once (see _FENCE). Parameters:
    b_id, b_version, b_status, b_now and, as set, b_result and b_error."""
    key = (sets_result, sets_error, terminal)
    if key not in _FINISH_STATEMENTS:
        values: dict[str, Any] = {
            "status": bindparam("b_status"),
            "lease_owner": None,
            "lease_expires_at": None,
            "resume_value": null(),
            "updated_at": bindparam("b_now"),
        }
        if sets_result:
            values["result"] = bindparam("b_result", type_=_JOBS.c.result.type)
        if sets_error:
            values["error"] = bindparam("b_error")
        if terminal:
            values["finished_at"] = bindparam("b_now")
        _FINISH_STATEMENTS[key] = (
            update(_JOBS)
            .where(
                _JOBS.c.id == bindparam("b_id"),
                _JOBS.c.lease_version == bindparam("b_version"),
                _JOBS.c.status == "running",
            )
            .values(values)
        )
    return _FINISH_STATEMENTS[key]


def settled_under(session: Session, lease: Lease) -> bool:
    """The job was settled (is no longer running) under this very lease: a replayed write finds its
    first run's outcome, not a lost lease."""
    row = session.connection().execute(_VERSION_AND_STATUS, {"b_id": lease.job_id}).first()
    return row is not None and row.lease_version == lease.version and row.status != "running"


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
