"""A run's live stream in the LangGraph Server's SSE format, read from the job's durable event log.

``metadata`` first (``{"run_id", "attempt"}``), then per stream mode: ``values`` (the state values:
the input at the start, the turn count after each turn, the outcome at the end), ``updates``
(``{node: update}`` per finished turn, ``{"__interrupt__": [...]}`` when a person is asked) and
``events`` (``on_chain_start``/``on_chain_end`` per node and for the whole graph, as LangChain's
astream_events v2 shapes them); a failed run ends with an ``error`` event.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from introspect.agent_protocol.resources import SETTLED, interrupt_of, run_output, state_values
from introspect.agent_protocol.service import get_run
from introspect.api.event_follow import open_follow
from introspect.store.tables import Job


def _sse(event: str, data: Any) -> dict[str, str]:
    return {"event": event, "data": json.dumps(data, default=str)}


def _chain_event(kind: str, name: str, run_id: str, data: dict[str, Any], graph: str) -> dict[str, Any]:
    return {
        "event": kind,
        "name": name,
        "run_id": run_id,
        "tags": [] if name == graph else [f"graph:step:{name}"],
        "metadata": {"graph_id": graph, "langgraph_node": name},
        "data": data,
        "parent_ids": [],
    }


class RunStream:
    def __init__(self, job: Job, modes: list[str]) -> None:
        self.job, self.modes = job, modes
        self.run_id, self.graph = str(job.id), job.graph

    def opening(self) -> list[dict[str, str]]:
        out = [_sse("metadata", {"run_id": self.run_id, "attempt": max(self.job.attempts, 1)})]
        if "events" in self.modes:
            start = _chain_event(
                "on_chain_start", self.graph, self.run_id, {"input": self.job.input}, self.graph
            )
            out.append(_sse("events", start))
        if "values" in self.modes:
            out.append(_sse("values", dict(self.job.input)))
        return out

    def turn(self, kind: str, data: dict[str, Any]) -> list[dict[str, str]]:
        phase = str(data.get("phase", "turn"))
        out = []
        if kind == "turn_started" and "events" in self.modes:
            out.append(
                _sse(
                    "events", _chain_event("on_chain_start", phase, self.run_id, {"input": data}, self.graph)
                )
            )
        if kind == "turn_finished":
            if "events" in self.modes:
                end = _chain_event("on_chain_end", phase, self.run_id, {"output": data}, self.graph)
                out.append(_sse("events", end))
            if "updates" in self.modes:
                out.append(_sse("updates", {phase: data}))
            if "values" in self.modes:
                out.append(_sse("values", {**self.job.input, "turns": int(data.get("index", 0)) + 1}))
        return out

    def closing(self, job: Job) -> list[dict[str, str]]:
        if job.status == "failed":
            return [_sse("error", {"error": "RunError", "message": job.error or "the run failed"})]
        out = []
        interrupt = interrupt_of(job)
        if "events" in self.modes:
            end = _chain_event(
                "on_chain_end", self.graph, self.run_id, {"output": run_output(job)}, self.graph
            )
            out.append(_sse("events", end))
        if "updates" in self.modes:
            if interrupt is not None:
                out.append(_sse("updates", {"__interrupt__": [interrupt]}))
            else:
                outcome = {k: v for k, v in state_values(job).items() if k not in job.input}
                out.append(_sse("updates", {"finish": outcome}))
        if "values" in self.modes:
            out.append(_sse("values", run_output(job)))
        return out


async def stream_run(
    request: Request,
    engine: Engine,
    factory: sessionmaker[Session],
    job_id: uuid.UUID,
    modes: list[str],
    after: int = 0,
) -> AsyncIterator[dict[str, str]]:
    """The SSE events of a run from event ``after`` of its log until it settles (succeeds, fails,
    is cancelled or waits for a person)."""
    job = await run_in_threadpool(get_run, factory, None, job_id)
    shaper = RunStream(job, modes)
    for item in shaper.opening():
        yield item
    follow = await open_follow(request, engine, job_id, after)
    if follow is None:
        return
    try:
        async for event in follow.events():
            kind, data = event["event"], event["data"]
            if kind in ("turn_started", "turn_finished"):
                for item in shaper.turn(kind, data):
                    yield item
            elif kind == "status" and data.get("status") in SETTLED:
                current = await run_in_threadpool(get_run, factory, None, job_id)
                if current.status not in SETTLED:
                    continue  # an escalation answered since: the log goes on with the resumed run
                for item in shaper.closing(current):
                    yield item
                return
    finally:
        await follow.close()
