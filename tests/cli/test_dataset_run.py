"""``introspect run --dataset``: a batch per file, rows idempotent, reruns add nothing, bad rows named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from introspect.cli.main import app
from introspect.config import get_settings
from introspect.models.demo import make_problems, model_path
from introspect.store.engine import make_engine, make_session_factory
from introspect.store.tables import Batch, Job, Trajectory


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("INTROSPECT_DATABASE_URL", "INTROSPECT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTROSPECT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTROSPECT_MODEL_PATH", str(model_path()))
    monkeypatch.setenv("COLUMNS", "240")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _counts() -> tuple[int, int, int]:
    engine = make_engine(get_settings().resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            return (
                session.scalar(select(func.count()).select_from(Batch)) or 0,
                session.scalar(select(func.count()).select_from(Job)) or 0,
                session.scalar(select(func.count()).select_from(Trajectory)) or 0,
            )
    finally:
        engine.dispose()


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_bad_rows_are_named_and_exit_2(embedded: Path) -> None:
    bad = _write(embedded / "bad.jsonl", [{"prompt": "What is 1 + 1?"}, {"promt": "typo"}])
    result = CliRunner().invoke(app, ["run", "--dataset", str(bad)])
    assert result.exit_code == 2
    assert "line 2" in result.output and "unknown field 'promt'" in result.output
    (embedded / "nojson.jsonl").write_text('{"prompt": "a"}\n{oops\n')
    result = CliRunner().invoke(app, ["run", "--dataset", str(embedded / "nojson.jsonl")])
    assert result.exit_code == 2 and "line 2: not JSON" in result.output
    mapped = _write(embedded / "m.jsonl", [{"q": "What is 2 + 2?"}])
    result = CliRunner().invoke(app, ["run", "--dataset", str(mapped), "--columns", "prompt=question"])
    assert result.exit_code == 2 and "no column 'question'" in result.output
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2 and "PROMPT or --dataset" in result.output


@pytest.mark.slow
def test_dataset_runs_once_and_a_rerun_adds_nothing(embedded: Path) -> None:
    problems = make_problems(3, split="eval")
    rows: list[object] = [
        {"id": "a", "prompt": problems[0].question, "reference": problems[0].answer, "metadata": {"k": 1}},
        # GSM8K's shape: the reference is the number after "####".
        {"question": problems[1].question, "answer": f"step by step\n#### {problems[1].answer}"},
        {"q": problems[2].question, "gold": str(problems[2].answer)},
    ]
    data = _write(embedded / "tasks.jsonl", rows[:2])
    args = ["run", "--dataset", str(data), "--max-turns", "2", "--json", "--concurrency", "2"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["rows"] == 2 and summary["status"] == "finished"
    assert summary["counts"] == {"succeeded": 2}
    assert _counts() == (1, 2, 2)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout.strip().splitlines()[-1])["batch_id"] == summary["batch_id"]
    assert _counts() == (1, 2, 2)  # same batch, no new job, no new trajectory
    mapped = _write(embedded / "mapped.jsonl", rows[2:])
    other = CliRunner().invoke(
        app, ["run", "--dataset", str(mapped), "--columns", "prompt=q,reference=gold", "--max-turns", "1"]
    )
    assert other.exit_code == 0, other.output
    assert _counts() == (2, 3, 3)
    engine = make_engine(get_settings().resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            job = session.scalars(select(Job).where(Job.batch_row_id == "a")).one()
            assert job.meta["k"] == 1 and job.meta["batch"].startswith("tasks-")
            gsm = session.scalars(select(Job).where(Job.batch_row_id != "a", Job.input["prompt"].isnot(None)))
            references = {j.input.get("reference") for j in gsm}
            assert str(problems[1].answer) in references
    finally:
        engine.dispose()
    # The batch tag reaches export: only this batch's trajectories.
    out = embedded / "raw.jsonl"
    name = summary["name"]
    exported = CliRunner().invoke(app, ["export", "--format", "raw", "--batch", name, "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    assert len(out.read_text().splitlines()) == 2
