"""/v1/batches: a dataset in, counts, cancel, the job list; a repeated POST adds no job or trajectory."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from introspect.batches.inline import run_batch
from introspect.config import Settings
from introspect.models.demo import make_problems, model_path
from introspect.store.engine import make_engine, make_session_factory
from introspect.store.repositories.batches import trajectory_in_batch
from introspect.store.tables import Trajectory


def _body(name: str) -> dict[str, object]:
    problems = make_problems(2, split="eval")
    return {
        "name": name,
        "config": {"max_turns": 2},
        "rows": [
            {"id": "p0", "prompt": problems[0].question, "reference": problems[0].answer},
            {"id": "p1", "question": problems[1].question, "answer": f"...\n#### {problems[1].answer}"},
        ],
    }


def test_create_continue_list_cancel(client: TestClient) -> None:
    created = client.post("/v1/batches", json=_body("b1"))
    assert created.status_code == 201, created.text
    batch = created.json()
    assert batch["status"] == "queued" and batch["row_count"] == 2 and batch["jobs_created"] == 2
    assert batch["counts"] == {"queued": 2}
    again = client.post("/v1/batches", json=_body("b1"))
    assert again.status_code == 200 and again.json()["jobs_created"] == 0
    assert again.json()["id"] == batch["id"]
    jobs = client.get(f"/v1/batches/{batch['id']}/jobs").json()["data"]
    assert len(jobs) == 2 and {j["metadata"]["batch_row"] for j in jobs} == {"p0", "p1"}
    references = {str(p.answer) for p in make_problems(2, split="eval")}
    assert {j["input"].get("reference") for j in jobs} == references
    listed = client.get("/v1/batches").json()["data"]
    assert [b["name"] for b in listed] == ["b1"]
    cancelled = client.post(f"/v1/batches/{batch['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"] == {"cancelled": 2}
    other = client.post("/v1/batches", json={**_body("b1"), "graph": "best_of_n"})
    assert other.status_code == 409 and "b1" in other.json()["detail"]


def test_bad_rows_are_422_naming_the_row(client: TestClient) -> None:
    body = {"rows": [{"prompt": "fine"}, {"prompt": "x", "verifier": "nope"}]}
    response = client.post("/v1/batches", json=body)
    assert response.status_code == 422 and "rows[1]" in response.json()["detail"]
    assert "unknown verifier" in response.json()["detail"]
    assert client.post("/v1/batches", json={"rows": []}).status_code == 422
    missing = client.post("/v1/batches", json={"rows": [{"q": "x"}], "columns": {"prompt": "question"}})
    assert missing.status_code == 422 and "no column 'question'" in missing.json()["detail"]
    assert client.get(f"/v1/batches/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/v1/batches/{uuid.uuid4()}/jobs").status_code == 404


def test_a_finished_batch_posted_again_adds_no_trajectory(client: TestClient, settings: Settings) -> None:
    batch = client.post("/v1/batches", json=_body("run-me")).json()
    local = settings.model_copy(update={"model_path": Path(model_path())})
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    try:
        final = run_batch(local, factory, uuid.UUID(batch["id"]), concurrency=2)
        assert final.counts == {"succeeded": 2} and final.status == "finished"
        assert client.post("/v1/batches", json=_body("run-me")).json()["jobs_created"] == 0
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(Trajectory)) == 2
            tagged = select(func.count()).select_from(Trajectory).where(trajectory_in_batch("run-me"))
            assert session.scalar(tagged) == 2
            assert session.scalar(tagged.where(trajectory_in_batch("other"))) == 0
    finally:
        engine.dispose()
    assert client.get(f"/v1/batches/{batch['id']}").json()["status"] == "finished"
