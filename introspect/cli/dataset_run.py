"""``introspect run --dataset FILE``: one job per row, as a named batch, with a progress bar.

Running the same command on the same file again continues the same batch (its name is ``--name``,
by default the file's stem and the first 12 hex digits of its sha256): rows already finished are not
run again, failed or cancelled ones are retried, and a job interrupted mid-run continues from its
last checkpoint once its lease expires.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from introspect.batches import (
    BatchConflictError,
    BatchSummary,
    DatasetError,
    open_batch,
    parse_columns,
    read_dataset,
)
from introspect.batches.inline import run_batch
from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory


def default_batch_name(path: Path, sha256: str) -> str:
    return f"{path.stem}-{sha256[:12]}"


def summary_dict(summary: BatchSummary) -> dict[str, Any]:
    return {
        "batch_id": str(summary.id),
        "name": summary.name,
        "status": summary.status,
        "rows": summary.row_count,
        "counts": summary.counts,
    }


def run_dataset(
    settings: Settings,
    path: Path,
    *,
    name: str | None,
    graph: str,
    config: dict[str, Any],
    columns: str | None,
    concurrency: int,
    retry_failed: bool,
    as_json: bool,
) -> None:
    errors = Console(stderr=True, soft_wrap=True)  # one line per error, never folded
    if concurrency < 1:
        errors.print("[red]error:[/red] --concurrency must be at least 1")
        raise typer.Exit(code=2)
    try:
        dataset = read_dataset(
            path, graph=graph, config=config, columns=parse_columns(columns), settings=settings
        )
    except DatasetError as exc:
        errors.print(f"[red]invalid dataset:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(code=2) from None
    batch_name = name or default_batch_name(path, dataset.sha256)
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    try:
        try:
            opened = open_batch(
                factory,
                name=batch_name,
                rows=dataset.rows,
                graph=graph,
                config=config,
                source_sha256=dataset.sha256,
                metadata={"source": str(path)},
                retry_failed=retry_failed,
            )
        except BatchConflictError as exc:
            errors.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=2) from None
        verb = "new batch" if opened.created else "continuing batch"
        errors.print(
            f"{verb} [bold]{batch_name}[/bold] ({opened.summary.id}): {opened.summary.row_count} rows, "
            f"{len(opened.new_job_ids)} added, {len(opened.requeued_job_ids)} retried, "
            f"{opened.summary.counts.get('succeeded', 0)} already done"
        )
        columns_ = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns_, console=errors, transient=False) as progress:
            task = progress.add_task(batch_name, total=opened.summary.row_count, detail="")

            def show(summary: BatchSummary) -> None:
                detail = " ".join(f"{status} {n}" for status, n in sorted(summary.counts.items()))
                progress.update(task, completed=summary.finished, total=summary.row_count, detail=detail)

            final = run_batch(settings, factory, opened.summary.id, concurrency=concurrency, on_progress=show)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(summary_dict(final)))
    else:
        errors.print(
            f"batch {final.name}: {final.status}, "
            + ", ".join(f"{k} {v}" for k, v in sorted(final.counts.items()))
        )
