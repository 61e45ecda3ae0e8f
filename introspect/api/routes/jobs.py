"""/v1/jobs: create (idempotent), read, list, cancel, resume."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from starlette.concurrency import run_in_threadpool

from introspect.api.deps import CallerDep, DispatcherDep, SessionFactoryDep
from introspect.api.schemas import CreateJobRequest, ErrorBody, JobResource, JobStatus, Page, ResumeRequest
from introspect.api.services import jobs as service
from introspect.store.types import UtcInput

router = APIRouter(prefix="/jobs", tags=["jobs"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
    422: {"model": ErrorBody},
    429: {"model": ErrorBody},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=JobResource,
    responses={200: {"model": JobResource, "description": "Replay of an Idempotency-Key"}, **ERRORS},
    summary="Create a job (201), or return the job an Idempotency-Key already created (200)",
)
async def create_job(
    body: CreateJobRequest,
    response: Response,
    caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> JobResource:
    created = await run_in_threadpool(
        service.create_job, factory, body, idempotency_key=idempotency_key, api_key_id=caller.key_id
    )
    if created.created:
        # Only after the row committed: a worker woken now will find it.
        await dispatcher.enqueue(created.job.id)
        response.headers["Location"] = f"/v1/jobs/{created.job.id}"
    else:
        response.status_code = status.HTTP_200_OK
    return created.job


@router.get("/{job_id}", response_model=JobResource, responses=ERRORS)
def get_job(job_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep) -> JobResource:
    return service.get_job(factory, job_id)


@router.get("", response_model=Page[JobResource], responses=ERRORS)
def list_jobs(
    _caller: CallerDep,
    factory: SessionFactoryDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    status: JobStatus | None = None,
    graph: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
    created_after: UtcInput | None = None,
    created_before: UtcInput | None = None,
) -> Page[JobResource]:
    return service.list_jobs(
        factory,
        limit=limit,
        cursor=cursor,
        status=status,
        graph=graph,
        created_after=created_after,
        created_before=created_before,
    )


@router.post("/{job_id}/cancel", response_model=JobResource, responses=ERRORS)
def cancel_job(job_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep) -> JobResource:
    """Queued or waiting jobs are cancelled at once; a running job stops at its next node boundary."""
    return service.cancel_job(factory, job_id)


@router.post("/{job_id}/resume", response_model=JobResource, responses={**ERRORS, 409: {"model": ErrorBody}})
async def resume_job(
    job_id: uuid.UUID,
    body: ResumeRequest,
    _caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
) -> JobResource:
    """Answer a human escalation; the job continues from its checkpoint with this answer."""
    job = await run_in_threadpool(service.resume_job, factory, job_id, body)
    await dispatcher.enqueue(job.id)
    return job
