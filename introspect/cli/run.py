"""``introspect run PROMPT``: one job, in this process, on the embedded defaults.

The same path as the service -- a job row, a lease, the runner, the checkpointer -- against the
settings' database (SQLite under ``./.introspect`` by default; migrated on first use) and the local
model (the bundled demo model by default). Prints the turns as a table, or with ``--json`` the
trajectory resource that ``GET /v1/trajectories/{id}`` returns, plus the job's ``status``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import inspect

from introspect.cli.dataset_run import run_dataset
from introspect.cli.model_check import require_local_model
from introspect.cli.preflight import require_database
from introspect.config import Settings, get_settings
from introspect.db.migrate import seed_gate_profiles, upgrade_all
from introspect.runner import JobValidationError, RunnerDeps, default_model_provider, make_checkpointer
from introspect.runner.execute import JobOutcome
from introspect.runner.inline import resume_inline, run_inline
from introspect.runner.resource import trajectory_resource
from introspect.store.engine import make_engine, make_session_factory


def ensure_database(url: str) -> None:
    """Migrate a fresh database (no Alembic version table yet); leave an existing one alone."""
    require_database(url, need_tables=False)
    engine = make_engine(url)
    try:
        fresh = not inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()
    if fresh:
        upgrade_all(url)
        seed_gate_profiles(url)


def _number(value: Any, digits: int = 2) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def _short(text: str | None, width: int = 48) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def turns_table(resource: dict[str, Any]) -> Table:
    table = Table(title=f"trajectory {resource['trajectory_id']}", show_lines=False)
    for column in (
        "#",
        "phase",
        "model",
        "answer",
        "self-cert.",
        "entropy",
        "regime",
        "verified",
        "decision",
        "reason",
    ):
        table.add_column(column, overflow="fold")
    for turn in resource["turns"]:
        stats = turn["stats"] or {}
        decision = turn["decision"] or {}
        regime = (decision.get("inputs") or {}).get("regime") or stats.get("regime") or "-"
        verdicts = [v["passed"] for v in turn["verifications"]]
        verified = "-" if not verdicts or verdicts[-1] is None else ("yes" if verdicts[-1] else "no")
        answer = turn["answer"] if turn["phase"] != "retrieve" else f"{len(turn['retrieved'] or [])} passages"
        table.add_row(
            str(turn["index"]),
            turn["phase"],
            turn["model"] or "-",
            _short(answer or turn["output"]),
            _number(stats.get("mean_self_certainty")),
            _number(stats.get("mean_entropy")),
            str(regime),
            verified,
            decision.get("action", "-"),
            decision.get("reason", "-"),
        )
    return table


def _input(prompt: str, reference: str | None, verifier: str | None, corpus: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"prompt": prompt}
    if reference is not None:
        data["reference"] = reference
    if verifier is not None:
        data["verifier"] = json.loads(verifier) if verifier.lstrip().startswith("{") else verifier
    if corpus is not None:
        data["corpus"] = corpus
    return data


def _ask_human(console: Console, outcome: JobOutcome) -> dict[str, Any]:
    request = (outcome.interrupt or {}).get("message", "Please write the correct answer.")
    console.print(f"\n[bold]Escalated to you[/bold]\n{request}")
    return {"answer": typer.prompt("answer")}


def run_command(
    prompt: str | None = typer.Argument(None, help="The task, as the user would write it."),
    reference: str | None = typer.Option(None, "--reference", "-r", help="The expected answer."),
    verifier: str | None = typer.Option(
        None, "--verifier", help="A verifier name (numeric, exact, regex, ...) or a JSON spec object."
    ),
    graph: str = typer.Option("self_critique", "--graph", help="self_critique or best_of_n."),
    max_turns: int | None = typer.Option(None, "--max-turns", help="Turn budget (default 5)."),
    corpus: str | None = typer.Option(None, "--corpus", help="A stored corpus to retrieve from."),
    config: str | None = typer.Option(None, "--config", help="More job config as a JSON object."),
    as_json: bool = typer.Option(False, "--json", help="Print the trajectory as JSON instead of a table."),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="A JSONL file: one job per row (prompt or messages, reference, ...)."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Dataset: the batch's name; the same name continues the same batch."
    ),
    columns: str | None = typer.Option(
        None, "--columns", help="Dataset: map columns, e.g. prompt=question,reference=answer."
    ),
    concurrency: int = typer.Option(1, "--concurrency", help="Dataset: jobs run at once."),
    retry_failed: bool = typer.Option(
        True, "--retry-failed/--no-retry-failed", help="Dataset: run failed or cancelled rows again."
    ),
) -> None:
    """Run one job in-process and show its turns: phase, answer, key statistics, gate decision.
    With --dataset, run one job per row of a JSONL file as a named, resumable batch."""
    console, errors = Console(), Console(stderr=True)  # built per call: they read COLUMNS then
    settings: Settings = get_settings()
    try:
        job_config: dict[str, Any] = json.loads(config) if config else {}
        if not isinstance(job_config, dict):
            raise json.JSONDecodeError("--config must be a JSON object", config or "", 0)
        job_input = _input(prompt or "", reference, verifier, corpus)
    except json.JSONDecodeError as exc:
        errors.print(f"[red]error:[/red] invalid JSON: {exc}")
        raise typer.Exit(code=2) from exc
    if max_turns is not None:
        job_config["max_turns"] = max_turns
    if (prompt is None) == (dataset is None):
        errors.print("[red]error:[/red] give a PROMPT or --dataset FILE (one of them)")
        raise typer.Exit(code=2)
    url = settings.resolved_database_url
    require_local_model(settings)  # one line and exit 2 when the model cannot load, not a failed job
    ensure_database(url)
    if dataset is not None:
        if reference is not None or verifier is not None or corpus is not None:
            errors.print(
                "[red]error:[/red] with --dataset, reference, verifier and corpus come from each row"
            )
            raise typer.Exit(code=2)
        run_dataset(
            settings, dataset, name=name, graph=graph, config=job_config, columns=columns,
            concurrency=concurrency, retry_failed=retry_failed, as_json=as_json,
        )  # fmt: skip
        return
    engine = make_engine(url)
    try:
        with make_checkpointer(url) as checkpointer:
            deps = RunnerDeps(
                session_factory=make_session_factory(engine),
                checkpointer=checkpointer,
                models=default_model_provider(settings),
                settings=settings,
            )
            try:
                outcome = run_inline(graph, job_input, job_config, deps)
            except JobValidationError as exc:
                errors.print(f"[red]invalid job:[/red] {exc.message}")
                raise typer.Exit(code=2) from exc
            interactive = not as_json and sys.stdin.isatty()
            while outcome.status == "waiting_human" and interactive:
                outcome = resume_inline(outcome.job_id, _ask_human(console, outcome), deps)
            with deps.session_factory() as session:
                resource = trajectory_resource(session, outcome.trajectory_id)
    finally:
        engine.dispose()
    assert resource is not None
    resource["status"] = outcome.status
    if as_json:
        typer.echo(json.dumps(resource, ensure_ascii=False))
        return
    console.print(turns_table(resource))
    success = {True: "[green]correct[/green]", False: "[red]incorrect[/red]", None: "unverified"}
    console.print(
        f"[bold]answer:[/bold] {_short(resource['answer'], 200)}\n"
        f"[bold]stop:[/bold] {resource['stop_reason']} ({success[resource['success']]}), "
        f"status {outcome.status}, job {outcome.job_id}"
    )


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
