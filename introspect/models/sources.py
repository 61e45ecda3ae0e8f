"""What ``INTROSPECT_MODEL_PATH`` may name, resolved without importing torch.

A model source is a catalog name (``demo``, ``smollm2-135m-instruct``), a transformers directory
(``config.json`` inside), a ``.gguf`` file, or a directory holding exactly one ``.gguf`` file. Every
way it can be wrong ends in one :class:`ModelSourceError` sentence naming the problem and the fix,
which ``serve``/``worker`` print as their one line before exiting 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from introspect.models.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    CatalogEntry,
    bundled_path,
    cached_path,
    catalog_entry,
    is_cached,
)


class ModelSourceError(ValueError):
    """The configured model cannot be found or is not a model (one line, for operators)."""


@dataclass(frozen=True)
class ModelSource:
    name: str  # what turns record: the catalog name, the directory's or the GGUF file's stem
    path: Path  # a directory: from_pretrained's first argument
    gguf_file: str | None = None  # set: load this GGUF file inside ``path`` (dequantised on load)
    entry: CatalogEntry | None = None

    @property
    def prompts(self) -> Path | None:
        return None if self.entry is None else self.entry.prompts


def resolve_source(spec: str | Path | None, cache_dir: Path) -> ModelSource:
    """The model ``spec`` names (None: the default catalog model)."""
    text = str(spec).strip() if spec is not None else DEFAULT_MODEL
    if not text:
        text = DEFAULT_MODEL
    entry = catalog_entry(text)
    if entry is not None:
        return _catalog_source(entry, cache_dir)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelSourceError(f"model file {path} does not exist")
        return ModelSource(name=path.stem, path=path.parent, gguf_file=path.name)
    if not path.exists():
        if "/" not in text and "\\" not in text:
            known = ", ".join(sorted(CATALOG))
            raise ModelSourceError(
                f"unknown model {text!r}: not a catalog name ({known}) and no such file or directory"
            )
        raise ModelSourceError(f"model directory {path} does not exist")
    if not path.is_dir():
        raise ModelSourceError(f"model path {path} is neither a directory nor a .gguf file")
    return _directory_source(path, name=path.resolve().name)


def _catalog_source(entry: CatalogEntry, cache_dir: Path) -> ModelSource:
    if entry.kind == "bundled":
        return ModelSource(name=entry.name, path=bundled_path(entry), entry=entry)
    if not is_cached(cache_dir, entry.name):
        raise ModelSourceError(
            f"model {entry.name!r} is not downloaded yet: run `introspect models pull {entry.name}` "
            f"(cache: {cache_dir})"
        )
    return ModelSource(name=entry.name, path=cached_path(cache_dir, entry.name), entry=entry)


def _directory_source(path: Path, name: str) -> ModelSource:
    if not any(path.iterdir()):
        raise ModelSourceError(f"model directory {path} is empty")
    if (path / "config.json").is_file():
        return ModelSource(name=name, path=path)
    ggufs = sorted(p.name for p in path.glob("*.gguf"))
    if len(ggufs) == 1:
        return ModelSource(name=Path(ggufs[0]).stem, path=path, gguf_file=ggufs[0])
    if len(ggufs) > 1:
        raise ModelSourceError(
            f"model directory {path} holds {len(ggufs)} .gguf files ({', '.join(ggufs)}): name one"
        )
    raise ModelSourceError(f"{path} is not a model directory: no config.json and no .gguf file in it")
