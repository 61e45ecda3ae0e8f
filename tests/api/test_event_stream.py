"""SSE from published events: a run's chained event goes out as published, anything else from the log."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.event_follow import _following
from introspect.config import Settings
from introspect.runner.recorder import event_payload
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories import events
from introspect.worker.notify import RedisNotifier

MINIMAL = {"graph": "self_critique", "input": {"prompt": "What is 17 + 25?"}}


def test_only_an_event_chained_to_the_last_delivered_one_skips_the_log() -> None:
    event = {"id": 12, "type": "turn_started", "data": {"index": 0}, "prev": 11}
    assert _following(event, 11) == {"id": 12, "event": "turn_started", "data": {"index": 0}}
    assert _following(event, 10) is None  # the stream missed event 11 (or another writer's)
    assert _following({**event, "prev": None}, 11) is None  # a run's first event
    assert _following({k: v for k, v in event.items() if k != "prev"}, 11) is None
    assert _following({**event, "id": 11, "prev": 11}, 11) is None  # delivered already
    assert _following({**event, "data": "x"}, 11) is None


def _append(factory: sessionmaker[Session], job_id: uuid.UUID, type: str, data: dict[str, Any]) -> Any:
    with transaction(factory) as session:
        return events.append_event(session, job_id, type, data)


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out, kind = [], ""
    for line in text.splitlines():
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            out.append((kind, json.loads(line.split(":", 1)[1])))
    return out


def test_a_missed_publish_sends_the_stream_back_to_the_log(client: TestClient, settings: Settings) -> None:
    job_id = uuid.UUID(client.post("/v1/jobs", json=MINIMAL).json()["id"])
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    notify = RedisNotifier(settings.redis_url or "")

    def run() -> None:
        time.sleep(0.5)  # the stream has read the log ('queued') and waits on Redis
        with transaction(factory) as session:
            queued = events.status_and_events_after(session.connection(), job_id)[1][-1].id
        first = _append(factory, job_id, "turn_started", {"index": 0})
        notify(job_id, event_payload(first, prev=queued))  # chained: goes out as published
        time.sleep(0.2)
        lost = _append(factory, job_id, "turn_finished", {"index": 0})  # never published
        after_lost = _append(factory, job_id, "turn_started", {"index": 1})
        notify(job_id, event_payload(after_lost, prev=lost.id))  # names an event the stream lacks
        time.sleep(0.2)
        done = _append(factory, job_id, "status", {"status": "succeeded"})
        notify(job_id, event_payload(done, prev=after_lost.id))  # terminal: the stream ends

    writer = threading.Thread(target=run)
    writer.start()
    try:
        with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
            text = "".join(stream.iter_text())
    finally:
        writer.join()
        notify.close()
        engine.dispose()
    assert _events(text) == [
        ("status", {"status": "queued"}),
        ("turn_started", {"index": 0}),
        ("turn_finished", {"index": 0}),  # fetched from the log, in its place
        ("turn_started", {"index": 1}),
        ("status", {"status": "succeeded"}),
    ]
