"""Agent Protocol threads: rows that group jobs (the thread's runs) in the order they were made."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from introspect.store.tables import AgentThread, AgentThreadRun, Job
from introspect.store.types import utcnow

# Metadata filters are matched in Python (JSON containment differs between Postgres and SQLite);
# a search scans at most this many of the newest threads.
SEARCH_SCAN_LIMIT = 5000


def create_thread(session: Session, thread_id: uuid.UUID | None, meta: dict[str, Any]) -> AgentThread:
    thread = AgentThread(id=thread_id or uuid.uuid4(), meta=meta)
    session.add(thread)
    session.flush()
    return thread


def get_thread(session: Session, thread_id: uuid.UUID) -> AgentThread | None:
    return session.get(AgentThread, thread_id)


def touch(session: Session, thread: AgentThread) -> None:
    thread.updated_at = utcnow()


def search_threads(
    session: Session, meta: dict[str, Any] | None, limit: int, offset: int
) -> list[AgentThread]:
    stmt = select(AgentThread).order_by(AgentThread.created_at.desc(), AgentThread.id.desc())
    if not meta:
        return list(session.scalars(stmt.limit(limit).offset(offset)))
    rows = session.scalars(stmt.limit(SEARCH_SCAN_LIMIT))
    matching = [t for t in rows if all(t.meta.get(k) == v for k, v in meta.items())]
    return matching[offset : offset + limit]


def delete_thread(session: Session, thread_id: uuid.UUID) -> bool:
    # The links first: SQLite enforces ON DELETE CASCADE only with its foreign-key pragma on.
    session.execute(delete(AgentThreadRun).where(AgentThreadRun.thread_id == thread_id))
    result = session.execute(delete(AgentThread).where(AgentThread.id == thread_id))
    return bool(getattr(result, "rowcount", 0))


def link_run(session: Session, thread_id: uuid.UUID, job_id: uuid.UUID) -> None:
    if session.get(AgentThreadRun, job_id) is None:
        session.add(AgentThreadRun(thread_id=thread_id, job_id=job_id))
        session.flush()


def thread_jobs(session: Session, thread_id: uuid.UUID, limit: int = 100, offset: int = 0) -> Sequence[Job]:
    """The thread's jobs, newest first."""
    stmt = (
        select(Job)
        .join(AgentThreadRun, AgentThreadRun.job_id == Job.id)
        .where(AgentThreadRun.thread_id == thread_id)
        .order_by(AgentThreadRun.created_at.desc(), Job.created_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(stmt).all()


def latest_jobs(session: Session, thread_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]:
    """Each thread's newest job (threads without runs are absent)."""
    if not thread_ids:
        return {}
    stmt = (
        select(AgentThreadRun.thread_id, Job)
        .join(Job, AgentThreadRun.job_id == Job.id)
        .where(AgentThreadRun.thread_id.in_(thread_ids))
        .order_by(AgentThreadRun.created_at.asc(), Job.created_at.asc())
    )
    latest: dict[uuid.UUID, Job] = {}
    for thread_id, job in session.execute(stmt):
        latest[thread_id] = job  # ascending: the last one wins
    return latest


def thread_of_job(session: Session, job_id: uuid.UUID) -> uuid.UUID | None:
    link = session.get(AgentThreadRun, job_id)
    return None if link is None else link.thread_id
