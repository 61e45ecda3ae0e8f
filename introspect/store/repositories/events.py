"""The durable job event log behind SSE (``Last-Event-ID`` is an event id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from introspect.store.models import JobEvent
from introspect.store.types import utcnow

_EVENTS = cast(Table, JobEvent.__table__)
_APPEND = insert(_EVENTS).returning(_EVENTS.c.id)  # built once: see append_event


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


def events_after(
    session: Session, job_id: uuid.UUID, after_id: int = 0, limit: int = 500
) -> Sequence[JobEvent]:
    stmt = (
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.id > after_id)
        .order_by(JobEvent.id)
        .limit(limit)
    )
    return session.scalars(stmt).all()
