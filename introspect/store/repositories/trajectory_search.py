"""Trajectory listing for the API: filters, full-text search and keyset pages (newest first).

Text search matches every word: Postgres ``websearch_to_tsquery`` on the generated ``search_tsv``
column (GIN index), SQLite FTS5 with each word quoted (user text is never FTS syntax).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, TextClause, column, exists, func, select, table, text, tuple_
from sqlalchemy.orm import Session

from introspect.store.fts import fts5_all_words_query
from introspect.store.repositories.batches import trajectory_in_batch
from introspect.store.tables import Job, Trajectory, Turn


@dataclass(frozen=True)
class TrajectoryQuery:
    graph: str | None = None
    model: str | None = None
    batch: str | None = None
    success: bool | None = None
    stop_reason: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None


@dataclass(frozen=True)
class TrajectoryRow:
    trajectory: Trajectory
    turn_count: int
    batch_id: uuid.UUID | None


def _text_match(session: Session, q: str) -> ColumnElement[bool] | TextClause | None:
    """None: the text has no searchable word (nothing can match)."""
    if session.get_bind().dialect.name == "postgresql":
        return text("trajectories.search_tsv @@ websearch_to_tsquery('english', :traj_q)").bindparams(
            traj_q=q
        )
    match = fts5_all_words_query(q)
    if match is None:
        return None
    fts = table("trajectories_fts", column("trajectory_id"))
    hits = select(fts.c.trajectory_id).where(text("trajectories_fts MATCH :traj_m").bindparams(traj_m=match))
    return Trajectory.id.in_(hits)


def search(
    session: Session, query: TrajectoryQuery, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[TrajectoryRow]:
    stmt: Select[Any] = select(Trajectory)
    if query.graph:
        stmt = stmt.where(Trajectory.graph == query.graph)
    if query.model:
        stmt = stmt.where(exists().where(Turn.trajectory_id == Trajectory.id, Turn.model == query.model))
    if query.batch:
        stmt = stmt.where(trajectory_in_batch(query.batch))
    if query.success is not None:
        stmt = stmt.where(Trajectory.success.is_(query.success))
    if query.stop_reason:
        stmt = stmt.where(Trajectory.stop_reason == query.stop_reason)
    if query.created_after is not None:
        stmt = stmt.where(Trajectory.created_at >= query.created_after)
    if query.created_before is not None:
        stmt = stmt.where(Trajectory.created_at < query.created_before)
    if query.q and query.q.strip():
        match = _text_match(session, query.q)
        if match is None:
            return []
        stmt = stmt.where(match)
    if after is not None:
        stmt = stmt.where(tuple_(Trajectory.created_at, Trajectory.id) < tuple_(*after))
    rows = session.scalars(
        stmt.order_by(Trajectory.created_at.desc(), Trajectory.id.desc()).limit(limit)
    ).all()
    return _with_counts(session, rows)


def _with_counts(session: Session, rows: Sequence[Trajectory]) -> list[TrajectoryRow]:
    ids = [t.id for t in rows]
    counts: dict[uuid.UUID, int] = {}
    batches: dict[uuid.UUID, uuid.UUID | None] = {}
    if ids:
        counted = select(Turn.trajectory_id, func.count()).where(Turn.trajectory_id.in_(ids))
        counts = {tid: int(n) for tid, n in session.execute(counted.group_by(Turn.trajectory_id))}
        job_ids = [t.job_id for t in rows if t.job_id is not None]
        if job_ids:
            owners = select(Job.id, Job.batch_id).where(Job.id.in_(job_ids))
            batches = {job_id: batch_id for job_id, batch_id in session.execute(owners)}
    return [
        TrajectoryRow(t, counts.get(t.id, 0), None if t.job_id is None else batches.get(t.job_id))
        for t in rows
    ]
