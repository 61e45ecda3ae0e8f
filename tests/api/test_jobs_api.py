"""Contract tests for /v1/jobs: creation, idempotency, reads, listing, cancel, resume."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.testing.live_server import live_server

MINIMAL = {
    "graph": "self_critique",
    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
}


def test_minimal_body_creates_a_queued_job(client: TestClient) -> None:
    response = client.post("/v1/jobs", json=MINIMAL)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert job["graph"] == "self_critique"
    assert {"id", "status", "trajectory_id", "result"} <= job.keys()
    fetched = client.get(f"/v1/jobs/{job['id']}").json()
    assert fetched["id"] == job["id"] and fetched["turn_count"] == 0


def test_verifier_may_be_an_object_with_options(client: TestClient) -> None:
    body = {
        "graph": "self_critique",
        "input": {"prompt": "Say hi", "verifier": {"name": "regex", "pattern": "hi"}},
    }
    assert client.post("/v1/jobs", json=body).status_code == 201


def test_idempotency_key_replays_and_conflicts(client: TestClient) -> None:
    headers = {"Idempotency-Key": "abc-1"}
    first = client.post("/v1/jobs", json=MINIMAL, headers=headers)
    again = client.post("/v1/jobs", json=MINIMAL, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    other = {**MINIMAL, "input": {**MINIMAL["input"], "prompt": "What is 1 + 1?"}}
    conflict = client.post("/v1/jobs", json=other, headers=headers)
    assert conflict.status_code == 422
    assert "Idempotency-Key" in conflict.json()["detail"]


def test_fifty_concurrent_posts_with_one_key_create_one_job(settings: Settings) -> None:
    app = create_app(settings, bound_host="127.0.0.1")
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as http:

        def post(_: int) -> httpx.Response:
            return http.post("/v1/jobs", json=MINIMAL, headers={"Idempotency-Key": "race"})

        with ThreadPoolExecutor(max_workers=50) as pool:
            responses = list(pool.map(post, range(50)))
        assert {r.status_code for r in responses} <= {200, 201}
        assert sum(r.status_code == 201 for r in responses) == 1
        assert len({r.json()["id"] for r in responses}) == 1
        listed = http.get("/v1/jobs", params={"limit": 200}).json()
        assert len(listed["data"]) == 1


def test_validation_errors_are_422_with_a_message(client: TestClient) -> None:
    cases = [
        {"graph": "nope", "input": {"prompt": "x"}},
        {"graph": "self_critique", "input": {"prompt": "x", "verifier": "telepathy"}},
        {"graph": "self_critique", "input": {}},
        {"graph": "self_critique", "input": {"prompt": ""}},
        {"graph": "self_critique", "input": {"prompt": "x"}, "config": {"max_turns": 0}},
        {"graph": "self_critique", "input": {"prompt": "x", "bogus": 1}},
        {"input": {"prompt": "x"}},
    ]
    for body in cases:
        response = client.post("/v1/jobs", json=body)
        assert response.status_code == 422, (body, response.text)
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    broken = client.post("/v1/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422


def test_unknown_ids_are_404(client: TestClient) -> None:
    missing = uuid.uuid4()
    assert client.get(f"/v1/jobs/{missing}").status_code == 404
    assert client.post(f"/v1/jobs/{missing}/cancel").status_code == 404
    assert client.post(f"/v1/jobs/{missing}/resume", json={"answer": "x"}).status_code == 404
    assert client.get(f"/v1/trajectories/{missing}").status_code == 404
    assert client.get(f"/v1/jobs/{missing}/events").status_code == 404
    assert client.get("/v1/jobs/not-a-uuid").status_code == 422


def test_list_paginates_with_cursor_and_filters(client: TestClient) -> None:
    ids = {client.post("/v1/jobs", json=MINIMAL).json()["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/jobs", params=params).json()
        seen.extend(j["id"] for j in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(seen) == ids and len(seen) == 5
    assert client.get("/v1/jobs", params={"status": "succeeded"}).json()["data"] == []
    assert len(client.get("/v1/jobs", params={"graph": "self_critique"}).json()["data"]) == 5
    assert client.get("/v1/jobs", params={"created_after": "2999-01-01T00:00:00Z"}).json()["data"] == []
    assert client.get("/v1/jobs", params={"cursor": "garbage!!"}).status_code == 422
    assert client.get("/v1/jobs", params={"status": "sleeping"}).status_code == 422
    assert client.get("/v1/jobs", params={"limit": 0}).status_code == 422


def test_cancel_queued_job_and_resume_requires_waiting(client: TestClient) -> None:
    job = client.post("/v1/jobs", json=MINIMAL).json()
    conflict = client.post(f"/v1/jobs/{job['id']}/resume", json={"answer": "42"})
    assert conflict.status_code == 409
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/v1/jobs/{job['id']}/resume", json={}).status_code == 422


def test_events_replay_from_last_event_id(client: TestClient) -> None:
    job = client.post("/v1/jobs", json=MINIMAL).json()
    client.post(f"/v1/jobs/{job['id']}/cancel")
    with client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        text = "".join(stream.iter_text())
    assert "event: status" in text and '"queued"' in text and '"cancelled"' in text
    first_id = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("id:"))
    with client.stream("GET", f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": first_id}) as stream:
        rest = "".join(stream.iter_text())
    assert '"queued"' not in rest and '"cancelled"' in rest
