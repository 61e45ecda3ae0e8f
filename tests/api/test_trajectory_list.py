"""GET /v1/trajectories (filters, text search, cursor pages), Location on 201s, the typed trajectory
schema, and an example on every route of the OpenAPI document."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.runner import trajectory_schema
from introspect.testing.scripted_models import Script, ScriptedProvider

JOBS = [
    {
        "graph": "self_critique",
        "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
    },
    {"graph": "self_critique", "input": {"prompt": "Name the capital of France", "reference": "Paris"}},
    {"graph": "best_of_n", "input": {"prompt": "What is 17 + 25?", "reference": "42"}, "config": {"n": 2}},
]


def _settled(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def _ids(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/v1/trajectories", params=params)
    assert response.status_code == 200, response.text
    return [t["trajectory_id"] for t in response.json()["data"]]


def test_listing_filters_searches_and_pages(db_url: str) -> None:
    script = Script(answers=["The answer is 41.", "The answer is 42."])
    app = create_app(
        Settings(database_url=db_url, redis_url=None),
        bound_host="127.0.0.1",
        model_provider=ScriptedProvider(script),
    )
    with TestClient(app) as client:
        jobs = []
        for body in JOBS:
            created = client.post("/v1/jobs", json=body)
            assert (
                created.status_code == 201
                and created.headers["Location"] == f"/v1/jobs/{created.json()['id']}"
            )
            assert client.get(created.headers["Location"]).status_code == 200
            jobs.append(_settled(client, created.json()["id"]))
        arithmetic, capital, best = (j["trajectory_id"] for j in jobs)

        assert set(_ids(client)) == {arithmetic, capital, best}
        assert _ids(client, graph="best_of_n") == [best]
        assert _ids(client, q="capital France") == [capital]
        assert _ids(client, q="zebra") == [] and _ids(client, q="!!!") == []
        assert set(_ids(client, success=True)) == {arithmetic} | (
            {best} if jobs[2]["result"]["success"] else set()
        )
        assert capital in _ids(client, success=False)
        model = client.get(f"/v1/trajectories/{arithmetic}").json()["turns"][0]["model"]
        assert model and set(_ids(client, model=model)) == {arithmetic, capital, best}
        assert _ids(client, model="gpt-none") == []
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert _ids(client, created_after=future) == [] and len(_ids(client, created_before=future)) == 3
        assert _ids(client, batch="no-such-batch") == []

        seen, cursor = [], None
        while True:
            page = client.get(
                "/v1/trajectories", params={"limit": 1, **({"cursor": cursor} if cursor else {})}
            ).json()
            seen += [t["trajectory_id"] for t in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == _ids(client) and len(set(seen)) == 3
        summary = client.get("/v1/trajectories", params={"graph": "self_critique", "q": "17"}).json()["data"][
            0
        ]
        assert summary["turn_count"] >= 2 and summary["prompt"] == "What is 17 + 25?"
        assert client.get("/v1/trajectories", params={"cursor": "nope"}).status_code == 422
        assert client.get("/v1/trajectories", params={"graph": "a b"}).status_code == 422

        full = client.get(f"/v1/trajectories/{arithmetic}").json()
        jsonschema.validate(full, trajectory_schema())
        assert full["created_at"].endswith("+00:00")  # the resource's own ISO spelling, untouched

        documents = client.post(
            "/v1/corpora/facts/documents", json={"documents": [{"content": "Paris is in France."}]}
        )
        assert (
            documents.status_code == 201
            and client.get(documents.headers["Location"]).json()["documents"] == 1
        )


def test_openapi_types_trajectories_and_every_route_has_an_example(sqlite_url: str) -> None:
    app = create_app(Settings(database_url=sqlite_url, redis_url=None), bound_host="127.0.0.1")
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    assert {"TrajectoryResource", "TurnResource", "GateDecision", "TrajectorySummary"} <= set(schemas)
    ok = spec["paths"]["/v1/trajectories/{trajectory_id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    assert ok["schema"]["$ref"].endswith("/TrajectoryResource")
    missing = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        if not path.startswith("/admin")
        for method, operation in operations.items()
        if not _has_example(operation, schemas)
    ]
    assert missing == []


def _has_example(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    for code, response in operation.get("responses", {}).items():
        if not str(code).startswith("2"):
            continue
        if str(code) == "204":
            return True  # no body to show
        for media in response.get("content", {}).values():
            if "example" in media or "examples" in media:
                return True
            ref = media.get("schema", {}).get("$ref", "")
            if ref and "examples" in schemas.get(ref.split("/")[-1], {}):
                return True
    return False
