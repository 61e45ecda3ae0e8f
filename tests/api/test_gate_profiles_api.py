"""/v1/gate/profiles: calibrate from stored verified attempts (201), clear 422s, list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import make_engine, make_session_factory
from tests.gate.test_profiles import store_history


@pytest.fixture
def history(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_calibrate_and_list(client: TestClient, history: sessionmaker[Session]) -> None:
    store_history(history, "m1", 60)
    created = client.post("/v1/gate/profiles/calibrate", json={"model": "m1", "precision_target": 0.8})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["version"] == 1 and body["active"] and body["meets_target"]
    assert body["figures"]["heldout_stop"]["precision"] >= 0.8
    assert body["predictor"]["kind"] == "logistic_regression"
    dry = client.post(
        "/v1/gate/profiles/calibrate", json={"model": "m1", "precision_target": 0.8, "dry_run": True}
    )
    assert dry.status_code == 200 and dry.json()["id"] is None
    listed = client.get("/v1/gate/profiles", params={"model": "m1"}).json()["data"]
    assert [(p["version"], p["active"]) for p in listed] == [(1, True)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m1"}, "not enough verified data for model 'm1': n=10"),
        ({"model": "m1", "precision_target": 3}, "precision_target"),
        ({"model": "m1", "surprise": 1}, "surprise"),
        ({"model": "bad name!"}, "model"),
    ],
)
def test_bad_requests_are_422(
    client: TestClient, history: sessionmaker[Session], body: dict[str, object], message: str
) -> None:
    store_history(history, "m1", 5)
    response = client.post("/v1/gate/profiles/calibrate", json=body)
    assert response.status_code == 422 and message in str(response.json()["detail"])


def test_missed_target_returns_its_figures(client: TestClient, history: sessionmaker[Session]) -> None:
    store_history(history, "noisy", 80, noise=True)
    response = client.post("/v1/gate/profiles/calibrate", json={"model": "noisy", "precision_target": 0.99})
    assert response.status_code == 422 and "not met" in response.json()["detail"]
    assert response.json()["figures"]["n"] == 160
    assert client.get("/v1/gate/profiles").json()["data"] == []
