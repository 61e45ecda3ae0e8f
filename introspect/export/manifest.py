"""The manifest written beside every export file: enough to tell later exactly what a file holds."""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

import introspect
from introspect.store.types import utcnow


@lru_cache(maxsize=1)
def code_version() -> dict[str, str | None]:
    """The package version and, when run from a git checkout, the commit (None elsewhere)."""
    commit: str | None = None
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(introspect.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if proc.returncode == 0:
            commit = proc.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"introspect": introspect.__version__, "git_commit": commit}


@dataclass(slots=True)
class Manifest:
    format: str
    file: str
    parameters: dict[str, Any]
    row_count: int
    sha256: str
    bytes: int
    stats: dict[str, int]
    code_version: dict[str, str | None] = field(default_factory=code_version)
    created_at: datetime = field(default_factory=utcnow)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        return out


def manifest_path(export_path: Path) -> Path:
    return export_path.with_name(export_path.name + ".manifest.json")


def write_manifest(export_path: Path, manifest: Manifest) -> Path:
    path = manifest_path(export_path)
    path.write_bytes(orjson.dumps(manifest.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return path
