"""Waiting for a job to settle, and the OpenAI error body of a run that gave no answer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from introspect.openai_face import service
from introspect.store.tables import Job

SETTLED = frozenset({"waiting_human", "succeeded", "failed", "cancelled"})
POLL_SECONDS = (0.05, 0.1, 0.2, 0.25)


async def settled(request: Request, factory: Any, job_id: uuid.UUID) -> Job | None:
    attempt = 0
    while True:
        job = await run_in_threadpool(service.load_job, factory, job_id)
        if job.status in SETTLED:
            return job
        if await request.is_disconnected():
            return None  # the job runs on: it is durable, and readable at /v1/jobs/{id}
        await asyncio.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
        attempt += 1


def error_response(job: Job) -> JSONResponse | None:
    """A run that produced no answer, as an OpenAI error body (the client raises it)."""
    if job.status == "failed":
        body = {
            "message": f"the run failed: {job.error or 'unknown error'}",
            "type": "run_failed",
            "code": "run_failed",
        }
        return JSONResponse({"error": {**body, "param": None}, "detail": body["message"]}, status_code=502)
    if job.status == "cancelled":
        body = {"message": f"job {job.id} was cancelled", "type": "cancelled", "code": "cancelled"}
        return JSONResponse({"error": {**body, "param": None}, "detail": body["message"]}, status_code=409)
    return None
