"""Batch use cases shared by ``introspect run --dataset`` and ``/v1/batches``: open (or continue),
read, list, cancel. A batch's identity is its name: opening a name again continues that batch, and
rows are idempotent by (batch, row id), so a rerun adds a job only for a row the batch lacks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from introspect.batches.dataset import DatasetRow
from introspect.store.engine import transaction
from introspect.store.repositories import batches as repo
from introspect.store.tables import Batch

ACTIVE = ("queued", "running", "waiting_human")


class BatchNotFoundError(LookupError):
    pass


class BatchConflictError(ValueError):
    """The name belongs to a batch with another graph or config."""


@dataclass(frozen=True)
class BatchSummary:
    id: uuid.UUID
    name: str
    graph: str
    config: dict[str, Any]
    metadata: dict[str, Any]
    source_sha256: str | None
    row_count: int
    counts: dict[str, int]
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.counts.items() if status not in ACTIVE)

    @property
    def status(self) -> str:
        """queued (nothing started), running, cancelled, or finished (every row settled)."""
        active = sum(self.counts.get(s, 0) for s in ACTIVE)
        if active == 0:
            return "cancelled" if self.cancel_requested else "finished"
        if self.counts.get("queued", 0) == active and self.finished == 0 and not self.counts.get("running"):
            return "queued"
        return "running"


@dataclass(frozen=True)
class OpenedBatch:
    summary: BatchSummary
    created: bool
    new_job_ids: list[uuid.UUID] = field(default_factory=list)
    requeued_job_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def queued_job_ids(self) -> list[uuid.UUID]:
        return [*self.new_job_ids, *self.requeued_job_ids]


def _summary(batch: Batch, counts: dict[str, int]) -> BatchSummary:
    return BatchSummary(
        id=batch.id,
        name=batch.name,
        graph=batch.graph,
        config=dict(batch.config or {}),
        metadata=dict(batch.meta or {}),
        source_sha256=batch.source_sha256,
        row_count=batch.row_count,
        counts=counts,
        cancel_requested=batch.cancel_requested,
        created_at=batch.created_at,
        updated_at=batch.updated_at,
    )


def summarize(session: Session, batch: Batch) -> BatchSummary:
    return _summary(batch, repo.status_counts(session, [batch.id])[batch.id])


def open_batch(
    factory: sessionmaker[Session],
    *,
    name: str,
    rows: Sequence[DatasetRow],
    graph: str,
    config: dict[str, Any],
    source_sha256: str | None = None,
    metadata: dict[str, Any] | None = None,
    api_key_id: uuid.UUID | None = None,
    retry_failed: bool = False,
) -> OpenedBatch:
    """Create the batch ``name`` or continue it: queue a job for each row it does not have yet, and
    with ``retry_failed`` queue its failed and cancelled rows again."""
    with transaction(factory) as session:
        batch, created = repo.get_or_create_batch(
            session,
            name=name,
            graph=graph,
            config=config,
            meta=metadata or {},
            source_sha256=source_sha256,
            api_key_id=api_key_id,
        )
        if not created and (batch.graph != graph or (batch.config or {}) != config):
            raise BatchConflictError(
                f"batch {name!r} exists with graph {batch.graph!r} and config {batch.config}; "
                "give this run another name"
            )
        new_ids = repo.add_row_jobs(
            session,
            batch,
            [
                {
                    "row_id": r.row_id,
                    "graph": r.graph,
                    "input": r.input,
                    "config": r.config,
                    "meta": r.metadata,
                }
                for r in rows
            ],
        )
        requeued = repo.requeue(session, batch.id, ("failed", "cancelled")) if retry_failed else []
        session.refresh(batch)
        return OpenedBatch(summarize(session, batch), created, new_ids, requeued)


def get_batch(factory: sessionmaker[Session], ref: str) -> BatchSummary:
    with transaction(factory) as session:
        batch = repo.find_batch(session, ref)
        if batch is None:
            raise BatchNotFoundError(f"batch {ref} not found")
        return summarize(session, batch)


def list_batches(
    factory: sessionmaker[Session], *, limit: int, after: tuple[datetime, uuid.UUID] | None = None
) -> list[BatchSummary]:
    with transaction(factory) as session:
        rows = repo.list_batches(session, limit=limit, after=after)
        counts = repo.status_counts(session, [b.id for b in rows])
        return [_summary(b, counts[b.id]) for b in rows]


def cancel_batch(factory: sessionmaker[Session], ref: str) -> BatchSummary:
    with transaction(factory) as session:
        batch = repo.find_batch(session, ref)
        if batch is None:
            raise BatchNotFoundError(f"batch {ref} not found")
        repo.cancel(session, batch)
        session.refresh(batch)
        return summarize(session, batch)


def queued_job_ids(factory: sessionmaker[Session], batch_id: uuid.UUID) -> list[uuid.UUID]:
    with transaction(factory) as session:
        return repo.active_job_ids(session, batch_id, "queued")
