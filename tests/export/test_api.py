"""The export router mounted on a small app, as the lead's app factory will mount it under /v1."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from introspect.export.api import router
from tests.export.builders import Try, record_trajectory
from tests.export.conftest import run_export


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> TestClient:
    app = FastAPI()
    app.state.session_factory = session_factory
    app.include_router(router, prefix="/v1")
    record_trajectory(session_factory, "What is 6 * 7?", [Try("It is 41.", False), Try("It is 42.", True)])
    record_trajectory(
        session_factory, "What is 2 + 2?", [Try("It is 5.", False)], graph="other", reference="4"
    )
    return TestClient(app)


def test_streams_jsonl_with_filters(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    with client.stream("GET", "/v1/exports/rise", params={"tau": "0.5"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        assert response.headers["x-export-format"] == "rise"
        rows = [json.loads(line) for line in response.iter_lines() if line]
    assert len(rows) == 3
    assert max(r["weight"] for r in rows) == pytest.approx(2.718281828459045**2)  # exp(1 / 0.5)

    response = client.get("/v1/exports/raw", params={"graph": "other", "success": "false"})
    assert [json.loads(line)["task_prompt"] for line in response.text.splitlines()] == ["What is 2 + 2?"]
    response = client.get("/v1/exports/rise-fastchat")
    assert response.headers["content-type"].startswith("application/json")
    assert json.loads(response.text) == run_export(session_factory, "rise-fastchat")


def test_unknown_format_is_a_422_naming_the_choices(client: TestClient) -> None:
    response = client.get("/v1/exports/csv")
    assert response.status_code == 422
    assert "unknown export format 'csv'" in response.json()["detail"]
    assert "rise-fastchat" in response.json()["detail"]


BAD_PARAMETERS = [
    {"tau": "0"},
    {"tau": "abc"},
    {"tau": "nan"},
    {"since": "yesterday"},
    {"split": "test"},
    {"keep": "best"},
    {"min_reward": "inf"},
    {"eval_fraction": "2"},
    {"success": "maybe"},
    {"colour": "red"},
    {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
]


def test_bad_parameters_are_422(client: TestClient) -> None:
    for params in BAD_PARAMETERS:
        response = client.get("/v1/exports/rise", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"], params
