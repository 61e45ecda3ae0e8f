"""Runs on a thread or stateless: create, wait, stream, get, list, join, cancel.

Every run is a job created exactly as ``POST /v1/jobs`` creates one (Idempotency-Key included) and
enqueued for the worker once committed; waiting and streaming only read the database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from introspect.agent_protocol.resources import SETTLED, run_output, run_path, run_resource
from introspect.agent_protocol.schemas import STREAM_MODES, RunCreate
from introspect.agent_protocol.service import StartedRun, get_run, start_run
from introspect.agent_protocol.streaming import stream_run
from introspect.api.deps import CallerDep, DispatcherDep, EngineDep, SessionFactoryDep
from introspect.api.openapi_examples import example, sse_example
from introspect.api.services import jobs as job_service
from introspect.api.services.jobs import NotFoundError
from introspect.runner.errors import JobValidationError
from introspect.store.engine import transaction
from introspect.store.repositories import agent_threads
from introspect.store.tables import Job

router = APIRouter(tags=["agent-protocol: runs"])

IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=255)]
RUN_EXAMPLE = {
    "run_id": "5d0c7f4a-9b1e-4c2d-8e3f-0a1b2c3d4e5f",
    "thread_id": "0b9a4f4e-3c1d-4a51-9f67-2f0c1e9d7a11",
    "assistant_id": "7e0f0a52-7d3b-5a8e-b1c4-3f2e1d0c9b8a",
    "status": "pending",
    "metadata": {},
    "multitask_strategy": "reject",
}
OUTPUT_EXAMPLE = {
    "prompt": "What is 17 + 25?",
    "reference": "42",
    "answer": "The answer is 42.",
    "stop_reason": "verified",
    "success": True,
    "trajectory_id": "9c1e0f7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
    "turns": 2,
}
_RUN = example(RUN_EXAMPLE)
_OUTPUT = example(OUTPUT_EXAMPLE)
_STREAM = sse_example(
    'event: metadata\ndata: {"run_id": "...", "attempt": 1}\n\n'
    'event: updates\ndata: {"generate": {"index": 0}}\n\n',
    "SSE in the LangGraph Server format",
)
POLL_SECONDS = (0.05, 0.1, 0.2, 0.25)


def _modes(body: RunCreate) -> list[str]:
    modes = body.modes()
    unknown = [m for m in modes if m not in STREAM_MODES]
    if unknown:
        raise JobValidationError(f"unsupported stream_mode {unknown}; supported: {', '.join(STREAM_MODES)}")
    return modes


async def _start(
    factory: Any, dispatcher: Any, caller: Any, thread_id: uuid.UUID | None, body: RunCreate, key: str | None
) -> StartedRun:
    started = await run_in_threadpool(start_run, factory, thread_id, body, idempotency_key=key, caller=caller)
    if started.enqueue:
        # Only after the row committed: a worker woken now will find it.
        await dispatcher.enqueue(started.job_id)
    return started


async def _settled(request: Request, factory: Any, job_id: uuid.UUID) -> Job | None:
    """The job once it succeeded, failed, was cancelled or waits for a person; None if the client left."""
    attempt = 0
    while True:
        job = await run_in_threadpool(get_run, factory, None, job_id)
        if job.status in SETTLED:
            return job
        if await request.is_disconnected():
            return None  # the job runs on: it is durable, and joinable later
        await asyncio.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
        attempt += 1


def _located(response: Response, started: StartedRun) -> None:
    response.headers["Content-Location"] = run_path(started.thread_id, started.job_id)


# --- on a thread ---------------------------------------------------------------------------------


@router.post("/threads/{thread_id}/runs", summary="Start a run (a job) in the background", responses=_RUN)
async def create_run(
    thread_id: uuid.UUID,
    body: RunCreate,
    response: Response,
    caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    started = await _start(factory, dispatcher, caller, thread_id, body, idempotency_key)
    _located(response, started)
    job = await run_in_threadpool(get_run, factory, thread_id, started.job_id)
    return run_resource(job, thread_id)


@router.post("/threads/{thread_id}/runs/wait", summary="Run and wait for the final values", responses=_OUTPUT)
async def wait_run(
    thread_id: uuid.UUID,
    body: RunCreate,
    request: Request,
    response: Response,
    caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _wait(request, response, factory, dispatcher, caller, thread_id, body, idempotency_key)


@router.post("/threads/{thread_id}/runs/stream", summary="Run and stream it as SSE", responses=_STREAM)
async def stream_new_run(
    thread_id: uuid.UUID,
    body: RunCreate,
    request: Request,
    caller: CallerDep,
    engine: EngineDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: IdempotencyKey = None,
) -> EventSourceResponse:
    return await _stream(request, engine, factory, dispatcher, caller, thread_id, body, idempotency_key)


@router.get(
    "/threads/{thread_id}/runs",
    summary="A thread's runs, newest first",
    responses=example([RUN_EXAMPLE]),
)
def list_runs(
    thread_id: uuid.UUID,
    _caller: CallerDep,
    factory: SessionFactoryDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    with transaction(factory) as session:
        if agent_threads.get_thread(session, thread_id) is None:
            raise NotFoundError(f"thread {thread_id} not found")
        return [
            run_resource(j, thread_id) for j in agent_threads.thread_jobs(session, thread_id, limit, offset)
        ]


@router.get("/threads/{thread_id}/runs/{run_id}", summary="Get a run", responses=_RUN)
def get_run_route(
    thread_id: uuid.UUID, run_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep
) -> dict[str, Any]:
    return run_resource(get_run(factory, thread_id, run_id), thread_id)


@router.get(
    "/threads/{thread_id}/runs/{run_id}/join",
    summary="Wait for a run and return its values",
    responses=_OUTPUT,
)
async def join_run(
    thread_id: uuid.UUID, run_id: uuid.UUID, request: Request, _caller: CallerDep, factory: SessionFactoryDep
) -> dict[str, Any]:
    await run_in_threadpool(get_run, factory, thread_id, run_id)
    job = await _settled(request, factory, run_id)
    return {} if job is None else run_output(job)


@router.get(
    "/threads/{thread_id}/runs/{run_id}/stream",
    summary="Stream a run that is under way (join)",
    responses=_STREAM,
)
async def join_stream(
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    request: Request,
    _caller: CallerDep,
    engine: EngineDep,
    factory: SessionFactoryDep,
    stream_mode: Annotated[list[str] | None, Query()] = None,
) -> EventSourceResponse:
    await run_in_threadpool(get_run, factory, thread_id, run_id)
    modes = [m for m in (stream_mode or ["values"]) if m in STREAM_MODES] or ["values"]
    return EventSourceResponse(stream_run(request, engine, factory, run_id, modes), ping=15)


@router.post(
    "/threads/{thread_id}/runs/{run_id}/cancel",
    summary="Cancel a run (at its next node boundary)",
    responses=_RUN,
)
async def cancel_run(
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    request: Request,
    _caller: CallerDep,
    factory: SessionFactoryDep,
    wait: Annotated[bool, Query()] = False,
    action: Annotated[str, Query(pattern="^(interrupt|rollback)$")] = "interrupt",
) -> dict[str, Any]:
    await run_in_threadpool(get_run, factory, thread_id, run_id)
    await run_in_threadpool(job_service.cancel_job, factory, run_id)
    job = await _settled(request, factory, run_id) if wait else None
    if job is None:
        job = await run_in_threadpool(get_run, factory, thread_id, run_id)
    return run_resource(job, thread_id)


# --- stateless ------------------------------------------------------------------------------------


@router.post("/runs", summary="Start a stateless run in the background", responses=_RUN)
async def create_stateless_run(
    body: RunCreate,
    response: Response,
    caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    started = await _start(factory, dispatcher, caller, None, body, idempotency_key)
    _located(response, started)
    return run_resource(await run_in_threadpool(get_run, factory, None, started.job_id), None)


@router.post("/runs/wait", summary="Run without a thread and wait for the final values", responses=_OUTPUT)
async def wait_stateless_run(
    body: RunCreate,
    request: Request,
    response: Response,
    caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _wait(request, response, factory, dispatcher, caller, None, body, idempotency_key)


@router.post("/runs/stream", summary="Run without a thread and stream it as SSE", responses=_STREAM)
async def stream_stateless_run(
    body: RunCreate,
    request: Request,
    caller: CallerDep,
    engine: EngineDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: IdempotencyKey = None,
) -> EventSourceResponse:
    return await _stream(request, engine, factory, dispatcher, caller, None, body, idempotency_key)


async def _wait(
    request: Request,
    response: Response,
    factory: Any,
    dispatcher: Any,
    caller: Any,
    thread_id: uuid.UUID | None,
    body: RunCreate,
    key: str | None,
) -> dict[str, Any]:
    started = await _start(factory, dispatcher, caller, thread_id, body, key)
    _located(response, started)
    job = await _settled(request, factory, started.job_id)
    return {} if job is None else run_output(job)


async def _stream(
    request: Request,
    engine: Any,
    factory: Any,
    dispatcher: Any,
    caller: Any,
    thread_id: uuid.UUID | None,
    body: RunCreate,
    key: str | None,
) -> EventSourceResponse:
    modes = _modes(body)
    started = await _start(factory, dispatcher, caller, thread_id, body, key)

    async def events() -> AsyncIterator[dict[str, str]]:
        async for item in stream_run(request, engine, factory, started.job_id, modes, started.after_event):
            yield item

    headers = {"Content-Location": run_path(started.thread_id, started.job_id)}
    return EventSourceResponse(events(), ping=15, headers=headers)
