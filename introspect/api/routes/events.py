"""/v1/jobs/{id}/events: Server-Sent Events replayed from the durable event log.

Every event has the job_events row id as its SSE id, so a client reconnecting with ``Last-Event-ID``
gets exactly what it missed (the log following itself is ``introspect.api.event_follow``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
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
    after = _last_event_id(last_event_id)
    follow = await open_follow(request, engine, job_id, after)
    if follow is None:
        raise NotFoundError(f"job {job_id} not found")

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for event in follow.events():
            yield {"id": str(event["id"]), "event": event["event"], "data": json.dumps(event["data"])}

    return EventSourceResponse(stream(), ping=15)


_EVENT_ID = re.compile(r"[0-9]{1,18}")  # ids are bigint rows; str.isdigit() would also pass "²"


def _last_event_id(value: str | None) -> int:
    """The id a reconnecting client last saw (0: from the start). Anything this stream cannot have
    sent is a 422 before the stream starts."""
    if not value:
        return 0
    if _EVENT_ID.fullmatch(value) is None:
        raise HTTPException(422, "Last-Event-ID must be an event id this stream sent (decimal digits)")
    return int(value)
