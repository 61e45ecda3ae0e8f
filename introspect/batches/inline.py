"""Run a batch's jobs in this process (``introspect run --dataset``, ``introspect eval``).

The jobs run on the worker engine ``introspect serve`` embeds -- claim with a lease, heartbeat,
checkpoint after every node, hand back on Ctrl-C -- so an interrupted run leaves each job either
finished or resumable: a job that was running when the process died is claimable once its lease
expires, and continues from its last checkpoint.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from introspect.batches.service import BatchSummary, get_batch, queued_job_ids
from introspect.config import Settings
from introspect.worker.identity import worker_identity
from introspect.worker.runtime import start_worker_runtime

# The engine's own poll would take any queued job of the database; this process runs only its
# batch's jobs, offered below, so the generic poll is pushed out of the way.
_NO_GENERIC_POLL_SECONDS = 3600.0


def _pending(summary: BatchSummary) -> int:
    return summary.counts.get("queued", 0) + summary.counts.get("running", 0)


def run_batch(
    settings: Settings,
    factory: sessionmaker[Session],
    batch_id: uuid.UUID,
    *,
    concurrency: int = 1,
    models: Any = None,
    on_progress: Callable[[BatchSummary], object] | None = None,
    tick_seconds: float = 0.25,
) -> BatchSummary:
    """Run until no job of the batch is queued or running (a job waiting for a person is left
    waiting); returns the batch's final summary."""
    with start_worker_runtime(
        settings,
        factory,
        owner=worker_identity("batch"),
        models=models,
        concurrency=concurrency,
        poll_seconds=_NO_GENERIC_POLL_SECONDS,
    ) as core:
        while True:
            for job_id in queued_job_ids(factory, batch_id):
                if core.submit(job_id) is None:
                    break  # enough in flight; offer the rest on a later tick
            summary = get_batch(factory, str(batch_id))
            if on_progress is not None:
                on_progress(summary)
            if _pending(summary) == 0:
                return summary
            time.sleep(tick_seconds)
