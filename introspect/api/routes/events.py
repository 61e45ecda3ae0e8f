"""/v1/jobs/{id}/events: Server-Sent Events replayed from the durable event log.

Every event has the job_events row id as its SSE id, so a client reconnecting with ``Last-Event-ID``
gets exactly what it missed (the log following itself is ``introspect.api.event_follow``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from sse_starlette.sse import EventSourceResponse

from introspect.api.deps import CallerDep, EngineDep
from introspect.api.event_follow import open_follow
from introspect.api.openapi_examples import sse_example
from introspect.api.services.jobs import NotFoundError

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}/events",
    responses=sse_example(
        'id: 1\nevent: status\ndata: {"status": "queued"}\n\n'
        'id: 3\nevent: turn_finished\ndata: {"index": 0, "phase": "generate", "decision": '
        '{"action": "stop", "reason": "verified"}, "stats": {"mean_self_certainty": 6.1}}\n\n',
        "SSE stream of job events",
    ),
)
async def job_events(
    job_id: uuid.UUID,
    request: Request,
    _caller: CallerDep,
    engine: EngineDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    follow = await open_follow(request, engine, job_id, after)
    if follow is None:
        raise NotFoundError(f"job {job_id} not found")

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for event in follow.events():
            yield {"id": str(event["id"]), "event": event["event"], "data": json.dumps(event["data"])}

    return EventSourceResponse(stream(), ping=15)
