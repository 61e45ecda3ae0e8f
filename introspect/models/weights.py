"""Weights identity: a sha256 over a model's weight files, so turns of different weights never mix.

A pulled model records the digest in its manifest at pull time; any other directory is hashed once
per process when it loads (about a second per 500 MB).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from introspect.models.catalog import MANIFEST

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
CHUNK = 1 << 20


def file_sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


def weight_files(directory: Path, gguf_file: str | None = None) -> list[Path]:
    if gguf_file is not None:
        return [directory / gguf_file]
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def weights_sha256(directory: Path, gguf_file: str | None = None) -> str:
    """The manifest's digest when the model was pulled, else a digest over its weight files (one
    file: that file's sha256; several: the sha256 of their ``name:sha256`` lines)."""
    manifest = directory / MANIFEST
    if gguf_file is None and manifest.is_file():
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("weights_sha256")
        if isinstance(recorded, str) and recorded:
            return recorded
    files = weight_files(directory, gguf_file)
    if len(files) == 1:
        return file_sha256(files[0])
    lines = "".join(f"{p.name}:{file_sha256(p)}\n" for p in files)
    return hashlib.sha256(lines.encode()).hexdigest()
