"""``introspect eval --model A [--model B] --dataset held-out.jsonl``: RISE's metrics side by side.

Every problem runs through the real graph, twice per model: with its verifier as the oracle
(p1@t5, mean turns, tokens per solved task) and with the reference hidden and five turns of RISE's
fixed feedback (turn-1 accuracy, accuracy per turn, m1@t5, AUROC of each uncertainty metric). The
jobs live in an evaluation database (default ``OUT/eval.db``), one batch per model and run, so an
interrupted evaluation continues where it stopped. Writes ``OUT/eval.json`` and two PNGs and prints
a table and one JSON line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from introspect.batches import BatchSummary, DatasetError, parse_columns, read_dataset
from introspect.cli.run import ensure_database
from introspect.config import get_settings
from introspect.evaluation.jobs import EvalSpec, batch_name, collect, correct_answer, dataset_sha, run_mode
from introspect.evaluation.metrics import no_oracle_metrics, oracle_metrics
from introspect.evaluation.plots import accuracy_per_turn, reliability
from introspect.store.engine import make_engine, make_session_factory

MODES = ("p1", "m1")


def resolve_model(value: str) -> str:
    if value == "demo":
        from introspect.models.demo import model_path

        return str(model_path())
    from introspect.models.sources import ModelSourceError, resolve_source

    try:  # a catalog name (pulled), a transformers directory or a .gguf file
        resolve_source(value, get_settings().model_cache_dir)
    except ModelSourceError as exc:
        raise DatasetError(f"--model {value}: {exc}") from None
    return value


def _labels(models: list[str]) -> list[str]:
    labels = []
    for value in models:
        label = Path(value).name or value
        while label in labels:
            label += "'"
        labels.append(label)
    return labels


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _table(results: dict[str, dict[str, Any]], turns: int) -> Table:
    table = Table(title="introspect eval")
    table.add_column("metric")
    for label in results:
        table.add_column(label, justify="right")
    rows: list[tuple[str, Any]] = [
        ("turn-1 accuracy %", lambda r: _pct(r.get("turn1"))),
        (f"p1@t{turns} % (oracle)", lambda r: _pct(r.get("p1_at_t"))),
        (f"m1@t{turns} % (majority, no oracle)", lambda r: _pct(r.get("m1_at_t"))),
        *[
            (
                f"accuracy at turn {k + 1} %",
                lambda r, k=k: _pct((r.get("accuracy_per_turn") or [None] * turns)[k]),
            )
            for k in range(turns)
        ],
        ("mean turns (oracle)", lambda r: "-" if r.get("mean_turns") is None else f"{r['mean_turns']:.2f}"),
        (
            "tokens per solved task",
            lambda r: "-" if r.get("tokens_per_solved") is None else f"{r['tokens_per_solved']:.0f}",
        ),
        (
            "seconds per job",
            lambda r: "-" if r.get("seconds_per_job") is None else f"{r['seconds_per_job']:.1f}",
        ),
    ]
    metrics = sorted({m for r in results.values() for m in (r.get("auroc") or {})})
    rows += [
        (
            f"AUROC {m}",
            lambda r, m=m: "-" if (r.get("auroc") or {}).get(m) is None else f"{r['auroc'][m]:.3f}",
        )
        for m in metrics
    ]
    for name, cell in rows:
        table.add_row(name, *[cell(r) for r in results.values()])
    return table


def eval_command(
    model: list[str] = typer.Option(..., "--model", help="A model directory or 'demo'; repeat to compare."),
    dataset: Path = typer.Option(..., "--dataset", help="Held-out JSONL rows with a reference."),
    out: Path = typer.Option(
        Path("introspect-eval"), "--out", help="Directory for eval.json, PNGs, eval.db."
    ),
    columns: str | None = typer.Option(None, "--columns", help="Map columns, e.g. prompt=question."),
    turns: int = typer.Option(5, "--turns", help="Turns per problem (RISE evaluates at 5)."),
    max_tokens: int = typer.Option(256, "--max-tokens", help="Tokens per attempt."),
    limit: int | None = typer.Option(None, "--limit", help="Only the first N rows."),
    concurrency: int = typer.Option(4, "--concurrency", help="Jobs run at once."),
    db: str | None = typer.Option(None, "--db", help="Evaluation database URL (default sqlite in OUT)."),
) -> None:
    """Evaluate models on held-out problems: turn-1, p1@t5, m1@t5, accuracy per turn, AUROC."""
    errors = Console(stderr=True, soft_wrap=True)
    if turns < 1 or max_tokens < 1 or concurrency < 1 or (limit is not None and limit < 1):
        errors.print("[red]error:[/red] --turns, --max-tokens, --concurrency and --limit must be at least 1")
        raise typer.Exit(code=2)
    settings = get_settings()
    try:
        model_dirs = [resolve_model(m) for m in model]
        data = read_dataset(
            dataset, graph="self_critique", config={}, columns=parse_columns(columns), settings=settings
        )
        rows = data.rows[:limit] if limit else data.rows
        missing = [r.row_id for r in rows if r.input.get("reference") is None]
        if missing:
            raise DatasetError(
                f"{dataset}: every row needs a reference to be graded (row {missing[0]} has none)"
            )
    except DatasetError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    out.mkdir(parents=True, exist_ok=True)
    url = db or f"sqlite:///{(out / 'eval.db').resolve()}"
    settings = settings.model_copy(update={"database_url": url, "redis_url": None})
    ensure_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    spec = EvalSpec(dataset_sha=dataset_sha(rows), turns=turns, max_tokens=max_tokens)
    labels = _labels(model)
    results: dict[str, dict[str, Any]] = {}
    attempts: dict[str, Any] = {}
    try:
        columns_ = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns_, console=errors) as progress:
            for label, model_dir in zip(labels, model_dirs, strict=True):
                for mode in MODES:
                    task = progress.add_task(f"{label} {mode}", total=len(rows))

                    def show(summary: BatchSummary, task: Any = task) -> None:
                        progress.update(task, completed=summary.finished)

                    run_mode(settings, factory, rows, model_dir=model_dir, mode=mode, spec=spec,
                             concurrency=concurrency, on_progress=show)  # fmt: skip
        grade = correct_answer(rows)
        for label, model_dir in zip(labels, model_dirs, strict=True):
            oracle = collect(factory, rows, batch_name(spec, model_dir, "p1"))
            plain = collect(factory, rows, batch_name(spec, model_dir, "m1"))
            results[label] = {
                "model": model_dir,
                **no_oracle_metrics(plain, turns, grade),
                **oracle_metrics(oracle, turns),
            }
            attempts[label] = plain
    finally:
        engine.dispose()
    best = {
        label: max(
            ((m, v) for m, v in (r.get("auroc") or {}).items() if v is not None),
            key=lambda kv: kv[1],
            default=(None, None),
        )[0]
        for label, r in results.items()
    }
    plots = {
        "accuracy_per_turn": str(accuracy_per_turn(results, out / "accuracy_per_turn.png")),
        "reliability": str(reliability(attempts, best, out / "reliability.png")),
    }
    report = {
        "dataset": str(dataset),
        "problems": len(rows),
        "turns": turns,
        "models": results,
        "plots": plots,
    }
    (out / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    Console(width=200).print(_table(results, turns))
    typer.echo(json.dumps(report))
