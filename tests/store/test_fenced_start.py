"""The one-statement start (Postgres): trajectory and 'running' event together, only under the lease."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from introspect.store.engine import autocommit, make_engine, make_session_factory, transaction
from introspect.store.repositories import jobs, leases, trajectories
from introspect.store.repositories.fenced_start import start_job_fenced
from introspect.store.tables import JobEvent, Trajectory


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def test_a_start_writes_the_trajectory_and_the_running_event_only_under_the_lease(pg_engine: Engine) -> None:
    with transaction(make_session_factory(pg_engine)) as s:
        job_id = jobs.create_job(s, graph="self_critique", input={"prompt": "p"}).job.id
    with autocommit(pg_engine) as conn:
        claim = leases.claim_job_to_run(conn, job_id, "w1", 60)
        assert claim is not None and claim.lease.version == 1
        row = trajectories.trajectory_row(
            graph="self_critique", task_prompt="p", job_id=job_id, reference="42", meta={"config": {"x": 1}}
        )
        stale = leases.Lease(job_id, "w0", 0)
        with pytest.raises(leases.StaleLeaseError):
            start_job_fenced(
                conn, stale, {**row, "id": trajectories.trajectory_row(graph="g", task_prompt="p")["id"]}
            )
        event = start_job_fenced(conn, claim.lease, row)
    assert (event.type, event.data) == ("status", {"status": "running"})
    with pg_engine.connect() as conn:
        stored = conn.execute(select(Trajectory.__table__)).one()
        logged = conn.execute(select(JobEvent.id, JobEvent.type, JobEvent.data)).all()
        assert conn.scalar(select(func.count()).select_from(Trajectory)) == 1
    assert (stored.id, stored.job_id, stored.reference, stored.metadata) == (
        row["id"],
        job_id,
        "42",
        {"config": {"x": 1}},
    )
    assert (stored.models, stored.total_tokens, stored.finished_at) == (
        [],
        0,
        None,
    ) and stored.created_at is not None
    assert [tuple(r) for r in logged] == [(event.id, "status", {"status": "running"})]
