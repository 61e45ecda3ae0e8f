"""/v1/batches: a dataset in (one job per row, idempotent by row id), its progress, cancel, its jobs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from starlette.concurrency import run_in_threadpool

from introspect.api.deps import CallerDep, DispatcherDep, SessionFactoryDep
from introspect.api.schemas import BatchResource, CreateBatchRequest, ErrorBody, JobResource, JobStatus, Page
from introspect.api.services import batches as service

router = APIRouter(prefix="/batches", tags=["batches"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
    429: {"model": ErrorBody},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchResource,
    responses={200: {"model": BatchResource, "description": "An existing batch, continued"}, **ERRORS},
    summary="Run a dataset: a new batch (201), or the batch of that name continued (200)",
)
async def create_batch(
    body: CreateBatchRequest,
    response: Response,
    caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
) -> BatchResource:
    """Rows take ``prompt`` or ``messages`` and optionally ``reference``, ``verifier``, ``id``,
    ``metadata``, ``graph``, ``config``; GSM8K's ``question``/``answer`` shape is read as is and
    ``columns`` maps other names (``{"prompt": "problem"}``). A row whose id the batch has already
    adds no job."""
    batch, created, queued = await run_in_threadpool(
        service.create_batch, factory, body, api_key_id=caller.key_id
    )
    for job_id in queued:  # only after the rows committed: a worker woken now finds them
        await dispatcher.enqueue(job_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    else:
        response.headers["Location"] = f"/v1/batches/{batch.id}"
    return batch


@router.get("", response_model=Page[BatchResource], responses=ERRORS)
def list_batches(
    _caller: CallerDep,
    factory: SessionFactoryDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[BatchResource]:
    return service.page_of_batches(factory, limit=limit, cursor=cursor)


@router.get("/{batch_id}", response_model=BatchResource, responses=ERRORS)
def get_batch(batch_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep) -> BatchResource:
    return service.read_batch(factory, batch_id)


@router.post("/{batch_id}/cancel", response_model=BatchResource, responses=ERRORS)
def cancel_batch(batch_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep) -> BatchResource:
    """Queued rows are cancelled at once; running ones stop at their next node boundary."""
    return service.cancel(factory, batch_id)


@router.get("/{batch_id}/jobs", response_model=Page[JobResource], responses=ERRORS)
def batch_jobs(
    batch_id: uuid.UUID,
    _caller: CallerDep,
    factory: SessionFactoryDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    status: JobStatus | None = None,
) -> Page[JobResource]:
    return service.jobs_of(factory, batch_id, limit=limit, cursor=cursor, status=status)
