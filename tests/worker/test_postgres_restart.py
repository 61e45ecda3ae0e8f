"""Postgres restarting under running jobs loses nothing: the jobs finish, each turn written once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.testing.databases import clone_postgres_database, create_postgres_template
from introspect.testing.scripted_models import Script, ScriptedProvider
from introspect.testing.servers import PostgresServer, start_postgres

pytestmark = pytest.mark.slow

JOB = {
    "graph": "self_critique",
    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
}


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = start_postgres()  # our own cluster: restarting the shared one would disturb other tests
    try:
        create_postgres_template(server)
        yield server
    finally:
        server.stop()


def test_jobs_survive_a_postgres_restart(own_postgres: PostgresServer) -> None:
    url = clone_postgres_database(own_postgres)
    settings = Settings(
        database_url=url, redis_url=None, max_attempts=5, lease_seconds=5, heartbeat_seconds=1
    )
    script = Script(answers=["The answer is 41.", "The answer is 42."], delay_s=0.4)
    app = create_app(settings, bound_host="127.0.0.1", model_provider=ScriptedProvider(script))
    with TestClient(app) as client:
        ids = [client.post("/v1/jobs", json=JOB).json()["id"] for _ in range(4)]
        time.sleep(0.6)  # first model calls are in flight
        own_postgres.restart()
        deadline = time.monotonic() + 90
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                statuses = {i: client.get(f"/v1/jobs/{i}").json()["status"] for i in ids}
            except Exception:
                statuses = {}
            if statuses and all(s in ("succeeded", "failed") for s in statuses.values()):
                break
            time.sleep(0.2)
        assert statuses and set(statuses.values()) == {"succeeded"}, statuses
        for job_id in ids:
            job = client.get(f"/v1/jobs/{job_id}").json()
            trajectory = client.get(f"/v1/trajectories/{job['trajectory_id']}").json()
            indexes = [t["index"] for t in trajectory["turns"]]
            assert indexes == list(range(len(indexes))) and "42" in job["result"]["answer"]
