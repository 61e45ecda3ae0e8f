"""Wire a WorkerCore to the graph runner: checkpointer, model backends, event fan-out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from introspect.config import Settings
from introspect.runner import RunnerDeps, default_model_provider, execute_job, make_checkpointer
from introspect.runner.execute import Started, start_claimed
from introspect.store.repositories.leases import Claim, Lease
from introspect.worker.core import WorkerCore
from introspect.worker.fenced_checkpointer import FencedCheckpointer
from introspect.worker.notify import RedisNotifier


@contextmanager
def start_worker_runtime(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    owner: str,
    models: Any = None,
    concurrency: int | None = None,
    poll_seconds: float | None = None,
) -> Iterator[WorkerCore]:
    """Start a WorkerCore whose executor runs jobs through the LangGraph runner; stop it on exit."""
    notifier = RedisNotifier(settings.redis_url) if settings.redis_url else None
    with make_checkpointer(settings.resolved_database_url) as raw_checkpointer:
        deps: RunnerDeps | None = None

        def start(claim: Claim) -> Started:
            assert deps is not None, "jobs are only submitted after start()"
            return start_claimed(claim, deps)

        def execute(job_id: uuid.UUID, lease: Lease, started: object) -> bool:
            assert deps is not None, "jobs are only submitted after start()"
            assert isinstance(started, Started)
            return execute_job(job_id, lease, deps, started).settled

        core = WorkerCore(
            factory,
            execute,
            owner=owner,
            concurrency=concurrency or settings.worker_concurrency,
            lease_seconds=settings.lease_seconds,
            heartbeat_seconds=settings.heartbeat_seconds,
            # With Redis the poll is only a safety net; embedded mode relies on it more.
            poll_seconds=poll_seconds or (5.0 if settings.redis_url else 0.5),
            sweep_seconds=settings.sweep_seconds,
            max_attempts=settings.max_attempts,
            cancel_poll_seconds=settings.cancel_poll_seconds,
            start=start,
        )
        deps = RunnerDeps(
            session_factory=factory,
            checkpointer=FencedCheckpointer(raw_checkpointer, factory, core.leases.lease_for),
            models=models if models is not None else default_model_provider(settings),
            settings=settings,
            notify=notifier,
            should_stop=core.stopping.is_set,
            watch=core.watch,
        )
        core.start()
        try:
            yield core
        finally:
            core.shutdown()
            if notifier is not None:
                notifier.close()
