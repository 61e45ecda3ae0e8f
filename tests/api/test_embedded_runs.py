"""Embedded mode end to end: API → in-process worker → graph → store, with a scripted model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.testing.scripted_models import Script, ScriptedProvider

JOB = {
    "graph": "self_critique",
    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
}


def _client(db_url: str, script: Script) -> TestClient:
    settings = Settings(database_url=db_url, redis_url=None)
    return TestClient(create_app(settings, bound_host="127.0.0.1", model_provider=ScriptedProvider(script)))


@pytest.fixture
def wrong_then_right(db_url: str) -> Iterator[TestClient]:
    with _client(db_url, Script(answers=["The answer is 41.", "The answer is 42."])) as client:
        yield client


def _wait(client: TestClient, job_id: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")


def test_job_runs_to_success_and_exposes_its_trajectory(wrong_then_right: TestClient) -> None:
    client = wrong_then_right
    job_id = client.post("/v1/jobs", json=JOB).json()["id"]
    job = _wait(client, job_id, {"succeeded", "failed"})
    assert job["status"] == "succeeded", job
    assert job["stop_reason"] == job["result"]["stop_reason"]
    assert "42" in job["result"]["answer"] and job["turn_count"] >= 2
    trajectory = client.get(f"/v1/trajectories/{job['trajectory_id']}").json()
    assert trajectory["job_id"] == job_id and trajectory["turns"][0]["phase"] == "generate"
    assert trajectory["turns"][0]["decision"]["action"] == "revise"
    assert trajectory["turns"][-1]["decision"]["action"] == "stop"
    assert trajectory["turns"][0]["stats"]["mean_self_certainty"] == 6.0
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        body = "".join(stream.iter_text())
    for event in ("status", "turn_started", "turn_finished"):
        assert f"event: {event}" in body
    assert '"succeeded"' in body


def test_human_escalation_waits_then_resumes(db_url: str) -> None:
    script = Script(answers=["The answer is 41."])
    with _client(db_url, script) as client:
        body = {**JOB, "config": {"escalation": "human", "gate": {"escalate_after_failures": 1}}}
        job_id = client.post("/v1/jobs", json=body).json()["id"]
        waiting = _wait(client, job_id, {"waiting_human", "succeeded", "failed"})
        assert waiting["status"] == "waiting_human", waiting
        resumed = client.post(f"/v1/jobs/{job_id}/resume", json={"answer": "The answer is 42."})
        assert resumed.status_code == 200
        done = _wait(client, job_id, {"succeeded", "failed"})
        assert done["status"] == "succeeded", done
        trajectory = client.get(f"/v1/trajectories/{done['trajectory_id']}").json()
        assert [t["phase"] for t in trajectory["turns"]].count("human") == 1
        assert client.post(f"/v1/jobs/{job_id}/resume", json={"answer": "again"}).status_code == 409


def test_running_job_cancels_at_the_next_node_boundary(db_url: str) -> None:
    script = Script(answers=["The answer is 41."], delay_s=0.3)
    with _client(db_url, script) as client:
        job_id = client.post("/v1/jobs", json={**JOB, "config": {"max_turns": 10}}).json()["id"]
        _wait(client, job_id, {"running"})
        assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
        done = _wait(client, job_id, {"cancelled", "succeeded", "failed"})
        assert done["status"] == "cancelled"
        assert done["turn_count"] < 10
