"""The durable job event log behind SSE (``Last-Event-ID`` is an event id)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, insert, select
from sqlalchemy.orm import Session

from introspect.store.tables import Job, JobEvent
from introspect.store.types import utcnow

_EVENTS = cast(Table, JobEvent.__table__)
_JOBS = cast(Table, Job.__table__)
_APPEND = insert(_EVENTS).returning(_EVENTS.c.id)  # built once: see append_event
# The job's status and its next events in one statement (LEFT JOIN: a job without new events still
# gives its status row): an SSE stream runs it after every wake-up.
_STATUS_AND_EVENTS_AFTER = (
    select(_JOBS.c.status, _EVENTS.c.id, _EVENTS.c.type, _EVENTS.c.data)
    .select_from(
        _JOBS.outerjoin(_EVENTS, and_(_EVENTS.c.job_id == _JOBS.c.id, _EVENTS.c.id > bindparam("b_after")))
    )
    .where(_JOBS.c.id == bindparam("b_job_id"))
    .order_by(_EVENTS.c.id)
    .limit(bindparam("b_limit"))
)


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    type: str
    data: dict[str, Any]


def append_event(session: Session, job_id: uuid.UUID, type: str, data: dict[str, Any]) -> JobEvent:
    """Insert an event row; the returned object is detached (events are never updated).

    A prebuilt Core INSERT .. RETURNING instead of ``session.add`` + flush: a worker appends several
    events per turn, and the ORM unit of work and statement building were most of each one's cost.
    """
    session.flush()  # rows this one refers to (a job created in this transaction) go first
    created_at = utcnow()
    row = {"job_id": job_id, "type": type, "data": data, "created_at": created_at}
    event_id = session.connection().execute(_APPEND, row).scalar_one()
    return JobEvent(id=event_id, job_id=job_id, type=type, data=data, created_at=created_at)


def status_and_events_after(
    conn: Connection, job_id: uuid.UUID, after_id: int = 0, limit: int = 500
) -> tuple[str | None, list[LoggedEvent]]:
    """The job's status (None: no such job) and up to ``limit`` of its events after ``after_id``,
    in one Core statement: no ORM objects, one round trip on an autocommit connection."""
    rows = conn.execute(
        _STATUS_AND_EVENTS_AFTER, {"b_job_id": job_id, "b_after": after_id, "b_limit": limit}
    ).all()
    if not rows:
        return None, []
    return rows[0].status, [LoggedEvent(r.id, r.type, r.data) for r in rows if r.id is not None]
