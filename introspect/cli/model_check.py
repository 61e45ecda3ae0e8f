"""The start-up model check of ``serve`` (embedded) and ``worker``: load the model or say why not."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from introspect.config import Settings


def require_local_model(settings: Settings) -> None:
    """Load the configured local model now; one line and exit 2 if it cannot load."""
    from introspect.runner.model_provider import ModelLoadError, default_model_provider

    try:
        default_model_provider(settings).check()
    except ModelLoadError as exc:
        _fail(str(exc))


def require_model_source(settings: Settings) -> None:
    """Check only that the configured model exists (no torch): for a supervisor of worker processes."""
    from introspect.models.sources import ModelSourceError
    from introspect.runner.model_provider import local_source

    try:
        local_source(settings)
    except ModelSourceError as exc:
        _fail(str(exc))


def _fail(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)
