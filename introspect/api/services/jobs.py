"""Job use cases: create (idempotent), read, list, cancel, resume a human escalation."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.cursor import decode_cursor, encode_cursor
from introspect.api.schemas import CreateJobRequest, JobResource, Page, ResumeRequest
from introspect.runner.errors import JobValidationError
from introspect.runner.spec import validate_job_request
from introspect.store.engine import transaction
from introspect.store.repositories import events, jobs
from introspect.store.tables import Job, Trajectory, Turn


class NotFoundError(LookupError):
    pass


class ConflictError(RuntimeError):
    """The job is not in a state that allows the request (e.g. resume when not waiting)."""


@dataclass(frozen=True)
class Created:
    job: JobResource
    created: bool


def request_hash(body: CreateJobRequest) -> str:
    canonical = json.dumps(body.model_dump(mode="json", exclude_none=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_job(
    factory: sessionmaker[Session],
    body: CreateJobRequest,
    *,
    idempotency_key: str | None,
    api_key_id: uuid.UUID | None,
) -> Created:
    """Validate, then insert the job and its first event in one transaction (raises JobValidationError)."""
    input_ = body.input.model_dump(mode="json", exclude_none=True)
    config = body.config.model_dump(mode="json", exclude_none=True)
    if not input_.get("prompt") and not input_.get("messages"):
        raise JobValidationError("input needs a 'prompt' or 'messages'")
    validate_job_request(body.graph, input_, config)
    with transaction(factory) as session:
        outcome = jobs.create_job(
            session,
            graph=body.graph,
            input=input_,
            config=config,
            meta=body.metadata,
            idempotency_key=idempotency_key,
            request_hash=request_hash(body),
            api_key_id=api_key_id,
        )
        if outcome.created:
            events.append_event(session, outcome.job.id, "status", {"status": "queued"})
            resource = _resource(outcome.job, None, 0)  # a new job has no trajectory yet
        else:
            resource = _resources(session, [outcome.job])[0]
    return Created(job=resource, created=outcome.created)


def get_job(factory: sessionmaker[Session], job_id: uuid.UUID) -> JobResource:
    with transaction(factory) as session:
        job = jobs.get_job(session, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        return _resources(session, [job])[0]


def list_jobs(
    factory: sessionmaker[Session],
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    graph: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    batch_id: uuid.UUID | None = None,
) -> Page[JobResource]:
    after = decode_cursor(cursor) if cursor else None
    with transaction(factory) as session:
        rows = jobs.list_jobs(
            session,
            limit=limit + 1,
            after=after,
            status=status,
            graph=graph,
            created_after=created_after,
            created_before=created_before,
            batch_id=batch_id,
        )
        page, more = rows[:limit], len(rows) > limit
        data = _resources(session, page)
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return Page[JobResource](data=data, next_cursor=next_cursor)


def cancel_job(factory: sessionmaker[Session], job_id: uuid.UUID) -> JobResource:
    with transaction(factory) as session:
        job = jobs.request_cancel(session, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        if job.status == "cancelled":
            events.append_event(session, job.id, "status", {"status": "cancelled"})
        return _resources(session, [job])[0]


def resume_job(factory: sessionmaker[Session], job_id: uuid.UUID, body: ResumeRequest) -> JobResource:
    """Store the human's answer and re-queue the job; the runner feeds it to ``Command(resume=...)``."""
    with transaction(factory) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        if job.status != "waiting_human":
            raise ConflictError(f"job {job_id} is {job.status}, not waiting for a human answer")
        job.resume_value = body.model_dump(exclude_none=True)
        job.status = "queued"
        session.flush()
        events.append_event(session, job.id, "status", {"status": "queued", "resumed": True})
        return _resources(session, [job])[0]


def _resources(session: Session, rows: Sequence[Job]) -> list[JobResource]:
    """Job resources with their latest trajectory id and turn count, in two queries per page."""
    ids = [j.id for j in rows]
    trajectories: dict[uuid.UUID, uuid.UUID] = {}
    counts: dict[uuid.UUID, int] = {}
    if ids:
        stmt = (
            select(Trajectory.job_id, Trajectory.id, func.count(Turn.id))
            .outerjoin(Turn, Turn.trajectory_id == Trajectory.id)
            .where(Trajectory.job_id.in_(ids))
            .group_by(Trajectory.job_id, Trajectory.id)
        )
        for job_id, traj_id, count in session.execute(stmt):
            if job_id is not None:
                trajectories[job_id] = traj_id
                counts[job_id] = int(count)
    return [_resource(j, trajectories.get(j.id), counts.get(j.id, 0)) for j in rows]


def _resource(job: Job, trajectory_id: uuid.UUID | None, turn_count: int) -> JobResource:
    result: dict[str, Any] | None = job.result
    return JobResource(
        id=job.id,
        status=job.status,
        graph=job.graph,
        trajectory_id=trajectory_id,
        result=result,
        stop_reason=(result or {}).get("stop_reason"),
        turn_count=turn_count,
        attempts=job.attempts,
        error=job.error,
        input=job.input,
        config=job.config,
        metadata=job.meta,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
    )
