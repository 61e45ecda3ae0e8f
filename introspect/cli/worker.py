"""``introspect worker``: run jobs from the queue (arq on Redis) with leases in the database."""

from __future__ import annotations

import logging

import typer

from introspect.config import get_settings


def worker_command(
    concurrency: int | None = typer.Option(None, min=1, max=256, help="Jobs run at once in this process."),
) -> None:
    """Claim and run jobs; SIGTERM hands running jobs back at the next node boundary."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from introspect.worker.arq_consumer import run_worker

    run_worker(settings, concurrency)
