"""The durable job event log behind SSE (``Last-Event-ID`` is an event id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from introspect.store.models import JobEvent


def append_event(session: Session, job_id: uuid.UUID, type: str, data: dict[str, Any]) -> JobEvent:
    event = JobEvent(job_id=job_id, type=type, data=data)
    session.add(event)
    session.flush()
    return event


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
