"""Runs as jobs: an Agent Protocol run request becomes ``POST /v1/jobs``'s job (same validation,
idempotency, worker and trajectory), linked to its thread; ``command.resume`` answers the
thread's waiting job exactly as ``POST /v1/jobs/{id}/resume`` does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from introspect.agent_protocol.assistants import resolve_graph
from introspect.agent_protocol.schemas import RunCreate
from introspect.api.auth import Caller
from introspect.api.schemas import CreateJobRequest, ResumeRequest
from introspect.api.services import jobs as job_service
from introspect.api.services.jobs import ConflictError, NotFoundError
from introspect.runner.errors import JobValidationError
from introspect.store.engine import transaction
from introspect.store.repositories import agent_threads
from introspect.store.tables import Job, JobEvent

# configurable keys LangGraph clients and Studio add for the server's own use: never job config.
RESERVED_CONFIGURABLE = frozenset(
    {"thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map", "run_id", "assistant_id", "graph_id",
     "user_id"}
)  # fmt: skip
ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant", "system": "system"}


@dataclass(frozen=True)
class StartedRun:
    job_id: uuid.UUID
    thread_id: uuid.UUID | None
    enqueue: bool  # a new or resumed job, for the caller to enqueue; False: an Idempotency-Key replay
    after_event: int  # the run's stream starts after this event id of the job's log


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # LangChain content blocks
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    raise JobValidationError("input.messages[].content must be a string or a list of text blocks")


def job_input(raw: dict[str, Any]) -> dict[str, Any]:
    """The REST job input, also accepting LangChain messages (``{"type": "human", ...}``)."""
    out = dict(raw)
    messages = raw.get("messages")
    if isinstance(messages, list):
        converted = []
        for m in messages:
            if not isinstance(m, dict):
                raise JobValidationError("input.messages must be a list of objects")
            role = ROLES.get(str(m.get("role") or m.get("type") or ""))
            if role is None:
                raise JobValidationError(f"input.messages: unknown role {m.get('role') or m.get('type')!r}")
            converted.append({"role": role, "content": _text(m.get("content", ""))})
        out["messages"] = converted
    return out


def job_config(config: dict[str, Any] | None, context: dict[str, Any] | None) -> dict[str, Any]:
    configurable = dict((config or {}).get("configurable") or {})
    merged = {**configurable, **(context or {})}
    return {
        k: v
        for k, v in merged.items()
        if k not in RESERVED_CONFIGURABLE and not k.startswith(("langgraph_", "__"))
    }


def _resume_request(command: dict[str, Any]) -> ResumeRequest:
    unsupported = sorted(set(command) - {"resume"})
    if unsupported or "resume" not in command:
        raise JobValidationError(
            f"command supports only 'resume' (got {', '.join(unsupported) or 'nothing'})"
        )
    value = command["resume"]
    try:
        if isinstance(value, str):
            return ResumeRequest(answer=value)
        if isinstance(value, dict):
            return ResumeRequest.model_validate(value)
    except ValidationError as exc:
        raise JobValidationError(f"command.resume: {exc.errors()[0]['msg']}") from exc
    raise JobValidationError('command.resume must be the answer text or {"answer": ..., "comment": ...}')


def last_event_id(session: Session, job_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.max(JobEvent.id)).where(JobEvent.job_id == job_id)) or 0)


def _thread(session: Session, thread_id: uuid.UUID, if_not_exists: str) -> None:
    if agent_threads.get_thread(session, thread_id) is not None:
        return
    if if_not_exists != "create":
        raise NotFoundError(f"thread {thread_id} not found")
    agent_threads.create_thread(session, thread_id, {})


def _latest(session: Session, thread_id: uuid.UUID) -> Job | None:
    jobs = agent_threads.thread_jobs(session, thread_id, limit=1)
    return jobs[0] if jobs else None


def start_run(
    factory: sessionmaker[Session],
    thread_id: uuid.UUID | None,
    body: RunCreate,
    *,
    idempotency_key: str | None,
    caller: Caller,
) -> StartedRun:
    graph = resolve_graph(body.assistant_id)
    if body.command is not None:
        return _resume(factory, thread_id, body.command)
    if body.input is None:
        raise JobValidationError("a run needs 'input' (the job input, e.g. {\"prompt\": ...}) or a 'command'")
    if thread_id is not None:
        with transaction(factory) as session:
            _thread(session, thread_id, body.if_not_exists)
            latest = _latest(session, thread_id)
            busy = latest is not None and latest.status in ("queued", "running")
            latest_id = None if latest is None else latest.id
        if busy and body.multitask_strategy == "reject":
            raise ConflictError(
                f"thread {thread_id} has a run in progress ({latest_id}); multitask_strategy is reject"
            )
        if busy and body.multitask_strategy in ("interrupt", "rollback") and latest_id is not None:
            job_service.cancel_job(factory, latest_id)
    try:
        request = CreateJobRequest.model_validate(
            {
                "graph": graph,
                "input": job_input(body.input),
                "config": job_config(body.config, body.context),
                "metadata": dict(body.metadata or {}),
            }
        )
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise JobValidationError(where) from exc
    created = job_service.create_job(
        factory, request, idempotency_key=idempotency_key, api_key_id=caller.key_id
    )
    if thread_id is not None:
        with transaction(factory) as session:
            agent_threads.link_run(session, thread_id, created.job.id)
            thread = agent_threads.get_thread(session, thread_id)
            if thread is not None:
                agent_threads.touch(session, thread)
    return StartedRun(created.job.id, thread_id, created.created, 0)


def _resume(
    factory: sessionmaker[Session], thread_id: uuid.UUID | None, command: dict[str, Any]
) -> StartedRun:
    answer = _resume_request(command)
    if thread_id is None:
        raise JobValidationError("command.resume answers a thread's interrupted run: use a thread")
    with transaction(factory) as session:
        if agent_threads.get_thread(session, thread_id) is None:
            raise NotFoundError(f"thread {thread_id} not found")
        latest = _latest(session, thread_id)
        if latest is None or latest.status != "waiting_human":
            raise ConflictError(f"thread {thread_id} has no interrupted run to resume")
        job_id = latest.id
        # Nothing writes to a waiting job's log, so every event after this one is the resumed run's.
        after = last_event_id(session, job_id)
    job_service.resume_job(factory, job_id, answer)
    return StartedRun(job_id, thread_id, True, after)


def get_run(factory: sessionmaker[Session], thread_id: uuid.UUID | None, job_id: uuid.UUID) -> Job:
    with transaction(factory) as session:
        job = session.get(Job, job_id)
        linked = agent_threads.thread_of_job(session, job_id)
        if job is None or (thread_id is not None and linked != thread_id):
            raise NotFoundError(f"run {job_id} not found" + (f" on thread {thread_id}" if thread_id else ""))
        session.expunge(job)
        return job
