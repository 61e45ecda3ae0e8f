"""``introspect export``: write a fine-tuning dataset and its manifest, with a progress bar."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from introspect.cli.preflight import fail, require_database
from introspect.config import get_settings
from introspect.db.preflight import redacted
from introspect.export import (
    DEFAULT_TAU,
    FORMATS,
    ExportFilters,
    ExportOptions,
    ExportParameterError,
    ExportStats,
    count_matching,
    export_to_file,
    get_format,
    manifest_path,
    stream_export,
)
from introspect.export.files import output_target
from introspect.export.options import DEFAULT_EVAL_FRACTION, KEEP_CHOICES, SPLIT_CHOICES
from introspect.store.engine import make_engine, make_session_factory
from introspect.store.types import as_utc

console = Console(stderr=True)


def _timestamp(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or time in range", param_hint=option
        ) from None


def _default_name(name: str, suffix: str) -> Path:
    return Path(f"introspect-{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}{suffix}")


def export_command(
    format: str = typer.Option(..., "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="File to write (default ./introspect-<format>-<time>.jsonl); '-' = stdout."
    ),
    tau: float = typer.Option(DEFAULT_TAU, help="RISE temperature: weight = exp(reward / tau)."),
    keep: str = typer.Option("all", help=f"RISE attempts to keep: {', '.join(KEEP_CHOICES)}."),
    revision_pairs: bool = typer.Option(False, help="Preference: also pair failed attempts with their fix."),
    dedup: bool = typer.Option(True, help="Drop identical examples."),
    token_stats: bool = typer.Option(False, help="Raw: include the per-token arrays."),
    graph: str | None = typer.Option(None, help="Only trajectories of this graph."),
    model: str | None = typer.Option(None, help="Only trajectories that used this model."),
    batch: str | None = typer.Option(None, help="Only trajectories of this batch (name or id)."),
    since: str | None = typer.Option(None, help="Created at or after (ISO 8601, naive = UTC)."),
    until: str | None = typer.Option(None, help="Created before (ISO 8601, naive = UTC)."),
    success: bool | None = typer.Option(None, "--success/--failed", help="Only (un)successful ones."),
    min_reward: float | None = typer.Option(None, help="Minimum outcome reward (after human labels)."),
    has_human_label: bool | None = typer.Option(
        None, "--has-human-label/--no-human-label", help="Only (un)labelled trajectories."
    ),
    split: str | None = typer.Option(None, help=f"Only one split: {', '.join(SPLIT_CHOICES)}."),
    eval_fraction: float = typer.Option(DEFAULT_EVAL_FRACTION, help="Share of tasks in the eval split."),
    include_unfinished: bool = typer.Option(False, help="Also export trajectories still running."),
) -> None:
    """Export stored trajectories as training data (JSONL) and write a manifest beside the file."""
    try:
        fmt = get_format(format)
        filters = ExportFilters(
            graph=graph,
            model=model,
            batch=batch,
            since=_timestamp("--since", since),
            until=_timestamp("--until", until),
            success=success,
            min_reward=min_reward,
            has_human_label=has_human_label,
            split=split,  # type: ignore[arg-type]  # validated by ExportFilters
            eval_fraction=eval_fraction,
            include_unfinished=include_unfinished,
        )
        options = ExportOptions(
            tau=tau,
            keep=keep,  # type: ignore[arg-type]  # validated by ExportOptions
            revision_pairs=revision_pairs,
            dedup=dedup,
            token_stats=token_stats,
        )
    except ExportParameterError as exc:
        raise typer.BadParameter(str(exc)) from None
    path: Path | None = None
    if out is None or str(out) != "-":
        try:  # before the export runs: a device or directory is refused, not replaced by a file
            path = output_target(out or _default_name(fmt.name, fmt.suffix))
        except ExportParameterError as exc:
            fail(str(exc))

    url = get_settings().resolved_database_url
    require_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        if path is None:
            stats = ExportStats()
            for chunk in stream_export(factory, fmt, filters, options, stats=stats):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            console.print(f"wrote {stats.rows} {fmt.name} rows to stdout (no manifest)")
            return
        total = count_matching(factory, filters)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("trajectories · {task.fields[rows]} rows"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"export {fmt.name}", total=total, rows=0)

            def on_page(stats: ExportStats) -> None:
                progress.update(task, completed=stats.trajectories, rows=stats.rows)

            manifest = export_to_file(
                factory, fmt.name, path, filters=filters, options=options, on_page=on_page
            )
            progress.update(task, completed=manifest.stats["trajectories"], rows=manifest.row_count)
    except SQLAlchemyError as exc:
        console.print(
            f"[red]error:[/red] cannot read trajectories from {redacted(url)}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]} (has `introspect db upgrade` been run?)"
        )
        raise typer.Exit(code=1) from None
    except (OSError, ArithmeticError) as exc:
        console.print(f"[red]error:[/red] export failed: {exc}")
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    console.print(
        f"[green]wrote {manifest.row_count} {fmt.name} rows[/green] to {path} "
        f"(sha256 {manifest.sha256[:12]}…); manifest: {manifest_path(path)}"
    )
