"""Operator mistakes (issue 16, item 6) end in one line naming the problem, never a traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from introspect.testing.databases import create_empty_postgres_database
from introspect.testing.servers import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


def _introspect(
    args: list[str], database_url: str, tmp_path: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTROSPECT_")}
    env.update(
        INTROSPECT_DATABASE_URL=database_url,
        INTROSPECT_DATA_DIR=str(tmp_path / "data"),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(ROOT),
        COLUMNS="80",  # a narrow terminal must not wrap the one line into several
    )
    return subprocess.run(
        [sys.executable, "-m", "introspect.cli.main", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error:"), output
    return lines[0]


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_worker_on_a_database_without_tables_says_run_db_upgrade(
    backend: str, pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = (
        create_empty_postgres_database(pg_server)
        if backend == "postgres"
        else f"sqlite:///{tmp_path}/empty.db"
    )
    result = _introspect(["worker"], url, tmp_path, timeout=60)
    assert result.returncode == 2
    line = _one_error_line(result)
    assert "run `introspect db upgrade` once" in line


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "not usable"),
        ("postgresql+nosuchdriver://u:hunter2@localhost/db", "not usable"),
        ("mysql://u:hunter2@localhost/db", "not usable"),  # no driver installed for it
        ("postgresql+psycopg://u:hunter2@127.0.0.1:1/db", "cannot connect"),
    ],
)
@pytest.mark.parametrize(
    "command", [["worker"], ["db", "upgrade"], ["export", "-f", "raw", "-o", "x.jsonl"], ["keys", "create"]]
)
def test_a_bad_database_url_is_one_line_and_exit_2(
    command: list[str], url: str, problem: str, tmp_path: Path
) -> None:
    result = _introspect(command, url, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = _one_error_line(result)
    assert problem in line
    assert "hunter2" not in line  # the password is never printed


def test_serve_with_a_bad_database_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _introspect(
        ["serve", "--port", "1"], "postgresql+nosuchdriver://u:hunter2@localhost/db", tmp_path
    )
    assert result.returncode == 2
    assert "not usable" in _one_error_line(result)


def _export(tmp_path: Path, url: str, out: Path) -> subprocess.CompletedProcess[str]:
    return _introspect(["export", "-f", "raw", "-o", str(out)], url, tmp_path)


def test_export_writes_through_a_symlink(sqlite_url: str, tmp_path: Path) -> None:
    target = tmp_path / "real.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    result = _export(tmp_path, sqlite_url, link)
    assert result.returncode == 0, result.stdout + result.stderr
    assert link.is_symlink() and link.resolve() == target  # the link is kept, its target replaced
    assert target.read_text() == ""  # an empty database: an empty export


def test_export_writes_through_a_dangling_symlink(sqlite_url: str, tmp_path: Path) -> None:
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "new.jsonl")
    assert _export(tmp_path, sqlite_url, link).returncode == 0
    assert link.is_symlink() and (tmp_path / "new.jsonl").is_file()


@pytest.mark.parametrize("kind", ["directory", "fifo", "link to fifo"])
def test_export_refuses_a_target_that_is_not_a_regular_file(kind: str, tmp_path: Path) -> None:
    special = tmp_path / "special"
    if kind == "directory":
        special.mkdir()
    else:
        os.mkfifo(special)  # like /dev/stdout or a device: the rename would replace the node
    out = special if kind != "link to fifo" else tmp_path / "link"
    if kind == "link to fifo":
        out.symlink_to(special)
    # A database URL that cannot work: the output is refused before the export (or the database) runs.
    result = _export(tmp_path, "postgresql+psycopg://u:p@127.0.0.1:1/db", out)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not a regular file" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    mode = special.lstat().st_mode
    assert stat.S_ISDIR(mode) if kind == "directory" else stat.S_ISFIFO(mode)
    assert not list(tmp_path.glob("*.partial"))
