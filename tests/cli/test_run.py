"""``introspect run``: embedded defaults (fresh SQLite) on the demo model, a table or the JSON resource."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from introspect.cli.main import app
from introspect.config import get_settings
from introspect.models.demo import make_problems
from introspect.runner import trajectory_schema


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data directory: no database yet, so the command must create and migrate it."""
    for name in ("INTROSPECT_DATABASE_URL", "INTROSPECT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTROSPECT_MODEL_PATH", "demo")  # its reference task; the default is SmolLM2
    monkeypatch.setenv("INTROSPECT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "240")  # one table row per turn, nothing folded
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_invalid_job_is_a_clear_error(embedded: Path) -> None:
    result = CliRunner().invoke(app, ["run", "What is 2 + 2?", "--verifier", "nope"])
    assert result.exit_code == 2
    assert "unknown verifier 'nope'" in result.output
    bad_json = CliRunner().invoke(app, ["run", "q", "--config", "{oops"])
    assert bad_json.exit_code == 2 and "invalid JSON" in bad_json.output


@pytest.mark.slow
def test_run_json_matches_the_trajectory_schema(embedded: Path) -> None:
    problem = make_problems(1, split="eval")[0]
    args = ["run", problem.question, "--reference", str(problem.answer), "--verifier", "numeric", "--json"]
    result = CliRunner().invoke(app, [*args, "--max-turns", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, trajectory_schema())
    assert (embedded / "introspect.db").exists()
    assert data["status"] == "succeeded" and data["graph"] == "self_critique"
    assert data["stop_reason"] in ("verified", "max_turns") and 1 <= len(data["turns"]) <= 3
    for turn in data["turns"]:
        assert isinstance(turn["stats"]["mean_self_certainty"], float)
        # ``profile``: the seeded catalog gate profile of the demo model that set the thresholds.
        assert set(turn["decision"]) == {"action", "reason", "inputs", "thresholds", "profile"}
        assert turn["decision"]["profile"]["model"] == "demo"
    assert data["turns"][-1]["decision"]["action"] == "stop"


@pytest.mark.slow
def test_run_prints_a_table_of_turns(embedded: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "What is 12 plus 30?", "--reference", "42", "--graph", "best_of_n", "--config", '{"n": 3}'],
    )
    assert result.exit_code == 0, result.output
    for header in ("phase", "answer", "self-cert.", "decision", "reason"):
        assert header in result.stdout
    assert "selected_by_self_certainty" in result.stdout and "answer:" in result.stdout
