"""Export files: manifest beside the file (format, parameters, version, row count, sha256); atomic."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

import introspect
from introspect.export import ExportFilters, ExportOptions, export_to_file, manifest_path
from introspect.export.formats.rise import WeightOverflowError
from introspect.export.options import MIN_TAU
from introspect.store.engine import transaction
from introspect.store.tables import Reward
from tests.export.builders import Try, record_trajectory


def test_manifest_describes_the_file(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    record_trajectory(session_factory, "What is 6 * 7?", [Try("It is 41.", False), Try("It is 42.", True)])
    path = tmp_path / "exports" / "rise.jsonl"
    export_to_file(
        session_factory,
        "rise",
        path,
        filters=ExportFilters(graph="self_critique"),
        options=ExportOptions(tau=0.5),
    )
    data = path.read_bytes()
    stored = json.loads(manifest_path(path).read_text())
    assert manifest_path(path) == tmp_path / "exports" / "rise.jsonl.manifest.json"
    assert stored["format"] == "rise" and stored["file"] == "rise.jsonl"
    assert stored["row_count"] == 2 == len(data.splitlines())
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["bytes"] == len(data)
    assert stored["parameters"]["options"]["tau"] == 0.5
    assert stored["parameters"]["filters"]["graph"] == "self_critique"
    assert stored["code_version"]["introspect"] == introspect.__version__
    assert "git_commit" in stored["code_version"]
    assert stored["created_at"].endswith("+00:00")
    assert stored["stats"]["trajectories"] == 1 and stored["stats"]["turns"] == 3


def test_empty_export_is_valid(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    manifest = export_to_file(session_factory, "rise-fastchat", tmp_path / "rise.json")
    assert json.loads((tmp_path / "rise.json").read_text()) == []
    assert manifest.row_count == 0


def test_failed_export_leaves_no_file(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    record_trajectory(session_factory, "What is 6 * 7?", [Try("It is 42.", True)])
    with transaction(session_factory) as session:  # a reward far outside the range labels allow
        session.execute(update(Reward).values(value=1e6))
    out = tmp_path / "out"
    with pytest.raises(WeightOverflowError, match="larger tau"):
        export_to_file(session_factory, "rise", out / "rise.jsonl", options=ExportOptions(tau=MIN_TAU))
    assert list(out.iterdir()) == []  # exp(1e6 / tau) overflows: nothing half-written remains
