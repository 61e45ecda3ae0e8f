"""Threads: create, get, search, delete, state and history. A thread holds runs (jobs); its state
is its latest run's state values."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status
from sqlalchemy.exc import IntegrityError

from introspect.agent_protocol.resources import thread_resource, thread_state
from introspect.agent_protocol.schemas import HistoryRequest, ThreadCreate, ThreadSearch
from introspect.api.deps import CallerDep, SessionFactoryDep
from introspect.api.openapi_examples import example
from introspect.api.services.jobs import ConflictError, NotFoundError
from introspect.store.engine import transaction
from introspect.store.repositories import agent_threads

router = APIRouter(prefix="/threads", tags=["agent-protocol: threads"])

THREAD_EXAMPLE = {
    "thread_id": "0b9a4f4e-3c1d-4a51-9f67-2f0c1e9d7a11",
    "created_at": "2026-12-03T19:00:00+00:00",
    "updated_at": "2026-12-03T19:00:05+00:00",
    "metadata": {"user": "ada"},
    "status": "idle",
    "values": {"prompt": "What is 17 + 25?", "answer": "42", "stop_reason": "verified", "success": True},
    "interrupts": {},
}
_ONE = example(THREAD_EXAMPLE)
_HISTORY = example([{"values": THREAD_EXAMPLE["values"], "next": []}])


def _thread(factory: Any, thread_id: uuid.UUID) -> dict[str, Any]:
    with transaction(factory) as session:
        thread = agent_threads.get_thread(session, thread_id)
        if thread is None:
            raise NotFoundError(f"thread {thread_id} not found")
        latest = agent_threads.latest_jobs(session, [thread_id]).get(thread_id)
        return thread_resource(thread, latest)


@router.post("", summary="Create a thread", responses=_ONE)
def create_thread(
    response: Response,
    _caller: CallerDep,
    factory: SessionFactoryDep,
    body: Annotated[ThreadCreate | None, Body()] = None,
) -> dict[str, Any]:
    body = body or ThreadCreate()
    if body.thread_id is not None:
        with transaction(factory) as session:
            exists = agent_threads.get_thread(session, body.thread_id) is not None
        if exists:
            if body.if_exists == "do_nothing":
                return _thread(factory, body.thread_id)
            raise ConflictError(f"thread {body.thread_id} exists")
    try:
        with transaction(factory) as session:
            thread = agent_threads.create_thread(session, body.thread_id, body.metadata)
            resource = thread_resource(thread, None)
    except IntegrityError as exc:  # created concurrently with the same id
        raise ConflictError(f"thread {body.thread_id} exists") from exc
    response.headers["Location"] = f"/threads/{resource['thread_id']}"
    return resource


@router.post(
    "/search",
    summary="Search threads, newest first",
    responses=example([THREAD_EXAMPLE]),
)
def search_threads(
    _caller: CallerDep, factory: SessionFactoryDep, body: Annotated[ThreadSearch | None, Body()] = None
) -> list[dict[str, Any]]:
    body = body or ThreadSearch()
    with transaction(factory) as session:
        # A status filter is applied after the page is read: over-read so a page is usually full.
        scan = body.limit + body.offset if body.status is None else agent_threads.SEARCH_SCAN_LIMIT
        threads = agent_threads.search_threads(session, body.metadata, scan, 0)
        latest = agent_threads.latest_jobs(session, [t.id for t in threads])
        resources = [thread_resource(t, latest.get(t.id)) for t in threads]
    if body.status is not None:
        resources = [r for r in resources if r["status"] == body.status]
    return resources[body.offset : body.offset + body.limit]


@router.get("/{thread_id}", summary="Get a thread", responses=_ONE)
def get_thread(thread_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep) -> dict[str, Any]:
    return _thread(factory, thread_id)


@router.delete(
    "/{thread_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a thread (its jobs and trajectories stay)",
)
def delete_thread(thread_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep) -> Response:
    with transaction(factory) as session:
        if not agent_threads.delete_thread(session, thread_id):
            raise NotFoundError(f"thread {thread_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{thread_id}/state",
    summary="The thread's state: its latest run's values",
    responses=example({"values": THREAD_EXAMPLE["values"], "next": [], "tasks": [], "interrupts": []}),
)
def get_state(thread_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep) -> dict[str, Any]:
    with transaction(factory) as session:
        if agent_threads.get_thread(session, thread_id) is None:
            raise NotFoundError(f"thread {thread_id} not found")
        jobs = agent_threads.thread_jobs(session, thread_id, limit=1)
        return thread_state(thread_id, jobs[0] if jobs else None)


def _history(factory: Any, thread_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    with transaction(factory) as session:
        if agent_threads.get_thread(session, thread_id) is None:
            raise NotFoundError(f"thread {thread_id} not found")
        return [
            thread_state(thread_id, job) for job in agent_threads.thread_jobs(session, thread_id, limit=limit)
        ]


@router.post(
    "/{thread_id}/history",
    summary="The thread's states, newest first: one per run",
    responses=_HISTORY,
)
def post_history(
    thread_id: uuid.UUID,
    _caller: CallerDep,
    factory: SessionFactoryDep,
    body: Annotated[HistoryRequest | None, Body()] = None,
) -> list[dict[str, Any]]:
    return _history(factory, thread_id, (body or HistoryRequest()).limit)


@router.get(
    "/{thread_id}/history",
    summary="The thread's states, newest first (GET form)",
    responses=_HISTORY,
)
def get_history(
    thread_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep, limit: int = 10
) -> list[dict[str, Any]]:
    return _history(factory, thread_id, max(1, min(limit, 1000)))
