"""Run jobs through the real runner on a real database (both backends), with scripted models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jsonschema
from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.orm import Session, sessionmaker

from introspect.config import Settings
from introspect.runner import (
    RunnerDeps,
    execute_job,
    make_checkpointer,
    trajectory_resource,
    trajectory_schema,
)
from introspect.runner.execute import JobOutcome
from introspect.store.engine import transaction
from introspect.store.repositories import jobs, leases
from introspect.store.repositories.leases import Lease
from introspect.store.tables import Job, JobEvent
from tests.graphs.fakes import FakeProvider, fake_settings


@dataclass
class Harness:
    session_factory: sessionmaker[Session]
    checkpointer: BaseCheckpointSaver[Any]

    def deps(self, provider: FakeProvider, settings: Settings | None = None, **kwargs: Any) -> RunnerDeps:
        return RunnerDeps(
            session_factory=self.session_factory,
            checkpointer=self.checkpointer,
            models=provider,
            settings=settings or fake_settings(*provider.models),
            **kwargs,
        )

    def create(self, graph: str, input: dict[str, Any], config: dict[str, Any] | None = None) -> uuid.UUID:
        with transaction(self.session_factory) as session:
            return jobs.create_job(session, graph=graph, input=input, config=config or {}).job.id

    def claim(self, job_id: uuid.UUID, owner: str = "test-worker") -> Lease:
        with transaction(self.session_factory) as session:
            lease = leases.claim_job(session, job_id, owner, lease_seconds=60)
        assert lease is not None
        return lease

    def execute(self, job_id: uuid.UUID, deps: RunnerDeps) -> JobOutcome:
        return execute_job(job_id, self.claim(job_id), deps)

    def run(
        self, graph: str, input: dict[str, Any], config: dict[str, Any] | None, deps: RunnerDeps
    ) -> JobOutcome:
        return self.execute(self.create(graph, input, config), deps)

    def resource(self, trajectory_id: uuid.UUID) -> dict[str, Any]:
        with self.session_factory() as session:
            resource = trajectory_resource(session, trajectory_id)
        assert resource is not None
        jsonschema.validate(resource, trajectory_schema())
        return resource

    def job(self, job_id: uuid.UUID) -> Job:
        with self.session_factory() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def events(self, job_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
        with self.session_factory() as session:
            rows = session.query(JobEvent).filter(JobEvent.job_id == job_id).order_by(JobEvent.id).all()
            return [(e.type, e.data) for e in rows]

    def set_resume(self, job_id: uuid.UUID, value: dict[str, Any]) -> None:
        """What the API's POST /jobs/{id}/resume does: store the answer and queue the job."""
        with transaction(self.session_factory) as session:
            job = session.get(Job, job_id)
            assert job is not None and job.status == "waiting_human"
            job.resume_value = value
            job.status = "queued"


@contextmanager
def harness_for(db_url: str, session_factory: sessionmaker[Session]) -> Iterator[Harness]:
    with make_checkpointer(db_url) as checkpointer:
        yield Harness(session_factory, checkpointer)


def actions(resource: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(phase, action, reason) per turn: the shape of a run at a glance."""
    return [
        (t["phase"], (t["decision"] or {}).get("action"), (t["decision"] or {}).get("reason"))
        for t in resource["turns"]
    ]
