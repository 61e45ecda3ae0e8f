"""Batch use cases for ``/v1/batches``: the shared batch service, answered as API resources."""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy.orm import Session, sessionmaker

from introspect.api.cursor import decode_cursor, encode_cursor
from introspect.api.schemas import BatchResource, CreateBatchRequest, JobResource, Page
from introspect.api.services import jobs as job_service
from introspect.batches import BatchSummary, DatasetError, get_batch, list_batches, open_batch, rows_from
from introspect.batches.service import cancel_batch
from introspect.runner.errors import JobValidationError


def resource(summary: BatchSummary, jobs_created: int | None = None) -> BatchResource:
    return BatchResource(
        id=summary.id,
        name=summary.name,
        status=summary.status,
        graph=summary.graph,
        config=summary.config,
        metadata=summary.metadata,
        source_sha256=summary.source_sha256,
        row_count=summary.row_count,
        counts=summary.counts,
        cancel_requested=summary.cancel_requested,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
        jobs_created=jobs_created,
    )


def create_batch(
    factory: sessionmaker[Session], body: CreateBatchRequest, *, api_key_id: uuid.UUID | None
) -> tuple[BatchResource, bool, list[uuid.UUID]]:
    """(batch, created, ids of the jobs to enqueue); a bad row is a JobValidationError naming it."""
    try:
        rows = rows_from(
            body.rows, graph=body.graph, config=body.config, columns=body.columns, label="rows", first=0
        )
    except DatasetError as exc:
        raise JobValidationError(str(exc)) from None
    canonical = json.dumps(body.rows, sort_keys=True, ensure_ascii=False).encode()
    sha = hashlib.sha256(canonical).hexdigest()
    opened = open_batch(
        factory,
        name=body.name or f"batch-{sha[:12]}",
        rows=rows,
        graph=body.graph,
        config=body.config,
        source_sha256=sha,
        metadata=body.metadata,
        api_key_id=api_key_id,
        retry_failed=body.retry_failed,
    )
    return resource(opened.summary, len(opened.new_job_ids)), opened.created, opened.queued_job_ids


def read_batch(factory: sessionmaker[Session], batch_id: uuid.UUID) -> BatchResource:
    return resource(get_batch(factory, str(batch_id)))


def page_of_batches(factory: sessionmaker[Session], *, limit: int, cursor: str | None) -> Page[BatchResource]:
    after = decode_cursor(cursor) if cursor else None
    rows = list_batches(factory, limit=limit + 1, after=after)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return Page[BatchResource](data=[resource(b) for b in page], next_cursor=next_cursor)


def cancel(factory: sessionmaker[Session], batch_id: uuid.UUID) -> BatchResource:
    return resource(cancel_batch(factory, str(batch_id)))


def jobs_of(
    factory: sessionmaker[Session], batch_id: uuid.UUID, *, limit: int, cursor: str | None, status: str | None
) -> Page[JobResource]:
    get_batch(factory, str(batch_id))  # 404 for an unknown batch rather than an empty page
    return job_service.list_jobs(
        factory,
        limit=limit,
        cursor=cursor,
        status=status,
        graph=None,
        created_after=None,
        created_before=None,
        batch_id=batch_id,
    )
