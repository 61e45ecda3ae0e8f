"""``introspect export``: file + manifest from the configured database; bad options are clean errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from introspect.cli.main import app
from introspect.config import get_settings
from tests.export.builders import Try, record_trajectory


@pytest.fixture
def configured(
    db_url: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    monkeypatch.setenv("INTROSPECT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield session_factory
    get_settings.cache_clear()


def test_export_writes_file_and_manifest(configured: sessionmaker[Session], tmp_path: Path) -> None:
    record_trajectory(configured, "What is 6 * 7?", [Try("It is 41.", False), Try("It is 42.", True)])
    record_trajectory(configured, "What is 1 + 1?", [Try("It is 3.", False)], graph="other", reference="2")
    out = tmp_path / "data" / "rise.jsonl"
    result = CliRunner().invoke(
        app, ["export", "--format", "rise", "--out", str(out), "--tau", "0.5", "--graph", "self_critique"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and {r["prompt"][0]["content"] for r in rows} == {"What is 6 * 7?"}
    manifest = json.loads((tmp_path / "data" / "rise.jsonl.manifest.json").read_text())
    assert manifest["row_count"] == 2 and manifest["parameters"]["options"]["tau"] == 0.5
    assert "wrote 2 rise rows" in result.output

    result = CliRunner().invoke(app, ["export", "-f", "raw", "-o", "-", "--failed"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["task_prompt"] for line in result.stdout.splitlines()] == ["What is 1 + 1?"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "csv"], "unknown export format 'csv'"),
        (["--format", "rise", "--tau", "0"], "tau must be a number >= 0.02"),
        (["--format", "rise", "--tau", "0.001"], "tau must be a number >= 0.02"),
        (["--format", "raw", "--since", "0001-01-01T00:00:00+14:00"], "in range"),
        (["--format", "rise", "--tau", "x"], "--tau"),
        (["--format", "rise", "--keep", "best"], "keep must be one of"),
        (["--format", "rise", "--since", "yesterday"], "not an ISO 8601 date"),
        (["--format", "rise", "--split", "test"], "split must be one of"),
        (["--format", "rise", "--eval-fraction", "3"], "eval_fraction"),
        (["--format", "rise", "--since", "2025-02-01", "--until", "2025-01-01"], "until must be later"),
    ],
)
def test_bad_options_are_clean_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", *args, "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_unmigrated_database_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTROSPECT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["export", "--format", "rise", "--out", str(tmp_path / "x.jsonl")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "no Introspect tables" in result.output and "run `introspect db upgrade` once" in result.output
    assert not (tmp_path / "x.jsonl").exists()
