"""``introspect worker``: run jobs from the queue (arq on Redis) with leases in the database."""

from __future__ import annotations

import functools
import logging

import typer

from introspect.cli.model_check import require_local_model, require_model_source
from introspect.cli.preflight import require_database
from introspect.config import get_settings


def worker_command(
    concurrency: int | None = typer.Option(None, min=1, max=256, help="Jobs run at once in each process."),
    processes: int | None = typer.Option(
        None,
        min=1,
        max=64,
        help="Worker processes (default INTROSPECT_WORKER_PROCESSES, 1): one per core when models are "
        "fast and the Python side is the bottleneck.",
    ),
) -> None:
    """Claim and run jobs; SIGTERM hands running jobs back at the next node boundary."""
    settings = get_settings()
    # Before any process starts: without tables every claim would fail, and log it, every poll.
    require_database(settings.resolved_database_url)
    _configure_logging(settings.log_level)
    count = processes or settings.worker_processes
    # One process runs in place and keeps the model it loads here; several each load their own,
    # so the supervisor only checks that the model exists.
    require_local_model(settings) if count == 1 else require_model_source(settings)
    from introspect.worker.processes import run_worker_processes

    run_worker_processes(functools.partial(run_worker_process, concurrency), count)


def run_worker_process(concurrency: int | None) -> None:
    """One worker process (also the target of each ``--processes`` child, which starts afresh)."""
    settings = get_settings()
    _configure_logging(settings.log_level)
    require_local_model(settings)
    from introspect.worker.arq_consumer import run_worker

    run_worker(settings, concurrency)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
