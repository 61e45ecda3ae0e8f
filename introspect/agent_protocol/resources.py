"""Jobs and threads seen through the Agent Protocol: Run, Thread and ThreadState objects.

A run *is* a job (``run_id`` = job id). Its state values are the job input (the same shape as
``POST /v1/jobs``'s ``input``) with the job's outcome on top -- ``answer``, ``stop_reason``,
``success``, ``trajectory_id``, ``turns`` -- not the graph's internal channels.
"""

from __future__ import annotations

import uuid
from typing import Any

from introspect.agent_protocol.assistants import assistant_uuid
from introspect.store.tables import AgentThread, Job

# LangGraph's run statuses; a job waiting for a person is an interrupted run (it resumes with
# ``command={"resume": ...}``), and a cancelled one is interrupted too (LangGraph's cancel action).
RUN_STATUS = {
    "queued": "pending",
    "running": "running",
    "waiting_human": "interrupted",
    "succeeded": "success",
    "failed": "error",
    "cancelled": "interrupted",
}
SETTLED = frozenset({"waiting_human", "succeeded", "failed", "cancelled"})
OUTCOME_KEYS = ("answer", "stop_reason", "success", "trajectory_id", "turns")


def run_path(thread_id: uuid.UUID | None, job_id: uuid.UUID) -> str:
    return f"/threads/{thread_id}/runs/{job_id}" if thread_id else f"/runs/{job_id}"


def run_resource(job: Job, thread_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "run_id": str(job.id),
        "thread_id": str(thread_id) if thread_id else None,
        "assistant_id": str(assistant_uuid(job.graph)),
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "status": RUN_STATUS.get(job.status, "pending"),
        "metadata": job.meta,
        "kwargs": {"input": job.input, "config": {"configurable": job.config}},
        "multitask_strategy": "reject",
    }


def interrupt_of(job: Job) -> dict[str, Any] | None:
    """The pending escalation of a ``waiting_human`` job as a LangGraph ``Interrupt``."""
    if job.status != "waiting_human":
        return None
    value = (job.result or {}).get("interrupt")
    return {"value": value, "id": str(job.id)}


def state_values(job: Job) -> dict[str, Any]:
    values: dict[str, Any] = dict(job.input)
    result = job.result or {}
    for key in OUTCOME_KEYS:
        if key in result:
            values[key] = result[key]
    return values


def run_output(job: Job) -> dict[str, Any]:
    """What ``runs.wait`` returns: the final values, an ``__interrupt__`` list while a person is
    asked, or ``__error__`` (the SDK raises it) for a failed run."""
    if job.status == "failed":
        return {"__error__": {"error": "RunError", "message": job.error or "the run failed"}}
    values = state_values(job)
    interrupt = interrupt_of(job)
    if interrupt is not None:
        values["__interrupt__"] = [interrupt]
    return values


def thread_status(latest: Job | None) -> str:
    if latest is None or latest.status in ("succeeded", "cancelled"):
        return "idle"
    if latest.status == "waiting_human":
        return "interrupted"
    return "error" if latest.status == "failed" else "busy"


def thread_resource(thread: AgentThread, latest: Job | None) -> dict[str, Any]:
    interrupt = None if latest is None else interrupt_of(latest)
    return {
        "thread_id": str(thread.id),
        "created_at": thread.created_at.isoformat(),
        "updated_at": thread.updated_at.isoformat(),
        "metadata": thread.meta,
        "status": thread_status(latest),
        "values": {} if latest is None else state_values(latest),
        "interrupts": {} if interrupt is None else {str(latest.id): [interrupt]},  # type: ignore[union-attr]
    }


def thread_state(thread_id: uuid.UUID, job: Job | None) -> dict[str, Any]:
    """The state after ``job`` (None: an empty thread). One checkpoint per run: the run's id."""
    if job is None:
        return {
            "values": {},
            "next": [],
            "checkpoint": _checkpoint(thread_id, None),
            "metadata": {},
            "created_at": None,
            "parent_checkpoint": None,
            "tasks": [],
            "interrupts": [],
        }
    interrupt = interrupt_of(job)
    tasks = []
    if interrupt is not None:
        tasks.append(
            {
                "id": str(job.id),
                "name": "escalate",
                "error": None,
                "interrupts": [interrupt],
                "checkpoint": None,
                "state": None,
                "result": None,
            }
        )
    return {
        "values": state_values(job),
        "next": ["escalate"] if interrupt is not None else [],
        "checkpoint": _checkpoint(thread_id, job.id),
        "metadata": {"run_id": str(job.id), "graph_id": job.graph, "status": job.status, **job.meta},
        "created_at": job.updated_at.isoformat(),
        "parent_checkpoint": None,
        "tasks": tasks,
        "interrupts": [] if interrupt is None else [interrupt],
    }


def _checkpoint(thread_id: uuid.UUID, job_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "thread_id": str(thread_id),
        "checkpoint_ns": "",
        "checkpoint_id": None if job_id is None else str(job_id),
        "checkpoint_map": None,
    }
