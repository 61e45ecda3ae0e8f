"""The job event log as an SSE stream reads it: status and the events after a cursor, in one query."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories import events, jobs


def test_status_and_events_after_a_cursor(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        job_id = jobs.create_job(session, graph="self_critique", input={"prompt": "q"}).job.id
        other = jobs.create_job(session, graph="self_critique", input={"prompt": "q"}).job.id
    with engine.connect() as conn:
        assert events.status_and_events_after(conn, job_id) == ("queued", [])  # no events yet
    with transaction(session_factory) as session:
        first = events.append_event(session, job_id, "status", {"status": "queued"})
        events.append_event(session, other, "status", {"status": "queued"})  # another job's
        second = events.append_event(session, job_id, "turn_started", {"index": 0})
        third = events.append_event(session, job_id, "turn_finished", {"index": 0})
    with engine.connect() as conn:
        status, logged = events.status_and_events_after(conn, job_id)
        assert status == "queued"
        assert [(e.id, e.type, e.data) for e in logged] == [
            (first.id, "status", {"status": "queued"}),
            (second.id, "turn_started", {"index": 0}),
            (third.id, "turn_finished", {"index": 0}),
        ]
        assert [e.id for e in events.status_and_events_after(conn, job_id, first.id)[1]] == [
            second.id,
            third.id,
        ]
        assert [e.id for e in events.status_and_events_after(conn, job_id, 0, limit=1)[1]] == [first.id]
        assert events.status_and_events_after(conn, job_id, third.id) == ("queued", [])
        assert events.status_and_events_after(conn, uuid.uuid4()) == (None, [])
