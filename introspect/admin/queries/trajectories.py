"""The trajectory list: filters, full-text search and keyset pagination that stay fast at 100k rows.

Newest first on ``(created_at, id)``, the key of ``ix_trajectories_created``; the next page starts
strictly after the last row's key (a row-value comparison both backends can drive from that index),
so a deep page costs what the first page costs. No total count: counting 100k filtered rows on every
page view is the slow part of offset pagination that this avoids.

Two phases: the filters pick the page's keys from narrow columns only, then one primary-key lookup
fetches the wide columns (prompt, answer) and job status of those (at most) 51 rows. The job status
filter is an EXISTS rather than a join, so pages without it never touch the jobs table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, Text, cast, column, exists, func, or_, select, table, text, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import CTE, TableClause

from introspect.admin.queries.attempts import TAG_KEYS, TrajectoryAttempts, load_attempts, tag_of
from introspect.admin.views.rise import collapse_siblings
from introspect.store.fts import fts5_all_words_query
from introspect.store.tables import Batch, Job, Reward, Trajectory, Turn

SuccessFilter = Literal["yes", "no", "unknown"]


@dataclass(frozen=True)
class TrajectoryFilters:
    status: str | None = None
    graph: str | None = None
    stop_reason: str | None = None
    decision: str | None = None
    success: SuccessFilter | None = None
    model: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None
    meta: str | None = None  # substring of the job's metadata (as JSON text), case-insensitive
    tag: str | None = None  # batch/run tag (job metadata, ``attempts.TAG_KEYS``)


@dataclass(frozen=True)
class TrajectoryRow:
    id: uuid.UUID
    created_at: datetime
    graph: str
    task_prompt: str
    final_answer: str | None
    stop_reason: str | None
    success: bool | None
    models: list[Any]
    total_tokens: int
    total_latency_ms: float
    job_id: uuid.UUID | None
    job_status: str | None
    turn_count: int
    outcome_reward: float | None = None
    job_meta: dict[str, Any] = field(default_factory=dict)
    tag: str | None = None
    first_correct: bool | None = None
    human_label: bool | None = None  # the newest human verdict, if any
    model: str | None = None


# The columns the filters read: the only ones the first phase touches.
_NARROW = ("id", "created_at", "graph", "stop_reason", "success", "job_id")


def _base(session: Session, query: str | None) -> TableClause | CTE | None:
    """Where the page's keys come from: the table, or on Postgres the full-text matches.

    Every word must match: Postgres ``websearch_to_tsquery`` on the generated ``search_tsv`` column
    (GIN index), SQLite FTS5 with each word quoted (user text is never FTS syntax). On Postgres the
    matches are collected first (a MATERIALIZED CTE, so through the GIN index) and the page is ordered
    by the CTE's own columns. Left to itself the planner walks ``created_at`` backwards testing every
    row, expecting to fill a page early: for a query with few or no hits that reads the whole table
    (150 ms at 100k rows against 7 ms through the index; bench/admin_list.py).
    """
    trajectories = Trajectory.__table__
    if not query or not query.strip():
        return trajectories  # type: ignore[return-value]
    narrow = [trajectories.c[name] for name in _NARROW]
    if session.get_bind().dialect.name == "postgresql":
        tsquery = text("trajectories.search_tsv @@ websearch_to_tsquery('english', :admin_q)")
        return (
            select(*narrow)
            .where(tsquery.bindparams(admin_q=query))
            .cte("search_hits")
            .prefix_with("MATERIALIZED")
        )
    match = fts5_all_words_query(query)
    if match is None:
        return None
    fts = table("trajectories_fts", column("trajectory_id"))
    matching = select(fts.c.trajectory_id).where(
        text("trajectories_fts MATCH :admin_m").bindparams(admin_m=match)
    )
    return select(*narrow).where(trajectories.c.id.in_(matching)).subquery("search_hits")  # type: ignore[return-value]


def page_keys(
    session: Session,
    filters: TrajectoryFilters,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[tuple[datetime, uuid.UUID]]:
    """The (created_at, id) keys of one page, newest first."""
    base = _base(session, filters.q)
    if base is None:
        return []
    c = base.c
    stmt: Select[Any] = select(c.created_at, c.id)
    if filters.status:
        stmt = stmt.where(exists().where(Job.id == c.job_id, Job.status == filters.status))
    if filters.graph:
        stmt = stmt.where(c.graph == filters.graph)
    if filters.stop_reason:
        stmt = stmt.where(c.stop_reason == filters.stop_reason)
    if filters.success == "yes":
        stmt = stmt.where(c.success.is_(True))
    elif filters.success == "no":
        stmt = stmt.where(c.success.is_(False))
    elif filters.success == "unknown":
        stmt = stmt.where(c.success.is_(None))
    if filters.decision:
        stmt = stmt.where(
            exists().where(Turn.trajectory_id == c.id, Turn.decision_action == filters.decision)
        )
    if filters.model:
        stmt = stmt.where(exists().where(Turn.trajectory_id == c.id, Turn.model == filters.model))
    if filters.meta:
        needle = (
            "%" + filters.meta.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        as_text = func.lower(cast(Job.meta, Text))
        stmt = stmt.where(exists().where(Job.id == c.job_id, as_text.like(needle, escape="\\")))
    if filters.tag:
        batch = select(Batch.id).where(Batch.name == filters.tag).scalar_subquery()
        tagged = or_(Job.batch_id == batch, *(Job.meta[key].as_string() == filters.tag for key in TAG_KEYS))
        stmt = stmt.where(exists().where(Job.id == c.job_id, tagged))
    if filters.created_from:
        stmt = stmt.where(c.created_at >= filters.created_from)
    if filters.created_to:
        stmt = stmt.where(c.created_at < filters.created_to)
    if after is not None:
        stmt = stmt.where(tuple_(c.created_at, c.id) < tuple_(*after))
    stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    return [(created, row_id) for created, row_id in session.execute(stmt)]


def list_trajectories(
    session: Session,
    filters: TrajectoryFilters,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[TrajectoryRow]:
    """One page, newest first; ``after`` is the (created_at, id) of the previous page's last row."""
    keys = page_keys(session, filters, limit=limit, after=after)
    ids = [row_id for _, row_id in keys]
    if not ids:
        return []
    stmt = (
        select(
            Trajectory.id,
            Trajectory.created_at,
            Trajectory.graph,
            Trajectory.task_prompt,
            Trajectory.final_answer,
            Trajectory.stop_reason,
            Trajectory.success,
            Trajectory.models,
            Trajectory.total_tokens,
            Trajectory.total_latency_ms,
            Trajectory.job_id,
            Trajectory.outcome_reward,
            Job.status.label("job_status"),
            Job.meta.label("job_meta"),
            Batch.name.label("batch_name"),
        )
        .outerjoin(Job, Job.id == Trajectory.job_id)
        .outerjoin(Batch, Batch.id == Job.batch_id)
        .where(Trajectory.id.in_(ids))
    )
    by_id = {r.id: r for r in session.execute(stmt)}
    counts = turn_counts(session, ids)
    # The page's rows already hold what the attempts need besides the turns: no second row query.
    firsts = {
        r.id: TrajectoryAttempts(
            id=r.id,
            created_at=r.created_at,
            success=r.success,
            stop_reason=r.stop_reason,
            job_status=r.job_status,
            tag=None,
            models=list(r.models or []),
        )
        for r in by_id.values()
    }
    load_attempts(session, list(firsts.values()))
    labels = human_labels(session, ids)
    return [
        TrajectoryRow(
            id=r.id,
            created_at=r.created_at,
            graph=r.graph,
            task_prompt=r.task_prompt,
            final_answer=r.final_answer,
            stop_reason=r.stop_reason,
            success=r.success,
            models=list(r.models or []),
            total_tokens=int(r.total_tokens or 0),
            total_latency_ms=float(r.total_latency_ms or 0.0),
            job_id=r.job_id,
            job_status=r.job_status,
            turn_count=counts.get(r.id, 0),
            outcome_reward=r.outcome_reward,
            job_meta=r.job_meta if isinstance(r.job_meta, dict) else {},
            tag=r.batch_name or tag_of(r.job_meta),
            first_correct=_first_correct(firsts.get(r.id)),
            human_label=labels.get(r.id),
            model=firsts[r.id].model if r.id in firsts else None,
        )
        for r in (by_id[i] for i in ids if i in by_id)
    ]


def _first_correct(t: Any) -> bool | None:
    attempts = collapse_siblings(t.attempts) if t is not None else []
    return attempts[0].correct if attempts else None


def human_labels(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """The newest human verdict (correct/incorrect) on each trajectory or any of its turns."""
    stmt = (
        select(Reward.trajectory_id, Reward.label)
        .where(Reward.trajectory_id.in_(ids), Reward.kind == "human", Reward.label.is_not(None))
        .order_by(Reward.created_at)
    )
    return {tid: bool(label) for tid, label in session.execute(stmt)}


def turn_counts(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    stmt = (
        select(Turn.trajectory_id, func.count())
        .where(Turn.trajectory_id.in_(ids))
        .group_by(Turn.trajectory_id)
    )
    return {tid: int(n) for tid, n in session.execute(stmt)}


# Columns whose distinct values fill the filter drop-downs; each leads an index (see store.tables).
_DISTINCT_SOURCES = {
    "graph": ("trajectories", "graph"),
    "stop_reason": ("trajectories", "stop_reason"),
    "model": ("turns", "model"),
    "decision": ("turns", "decision_action"),
}


def batch_names(session: Session, limit: int = 100) -> list[str]:
    """The newest batches' names (the tag filter's suggestions)."""
    stmt = select(Batch.name).order_by(Batch.created_at.desc(), Batch.id.desc()).limit(limit)
    return [str(n) for n in session.scalars(stmt)]


def distinct_values(session: Session, name: str, limit: int = 100) -> list[str]:
    """Distinct non-null values by a loose index scan (a recursive CTE hopping from one value to the
    next through the index), so 100k rows with 5 values cost about 5 index probes, not a full scan."""
    table_name, col = _DISTINCT_SOURCES[name]  # fixed whitelist: no user text reaches the SQL
    sql = text(
        f"""
        WITH RECURSIVE vals(v) AS (
            SELECT (SELECT MIN({col}) FROM {table_name})
            UNION ALL
            SELECT (SELECT MIN({col}) FROM {table_name} WHERE {col} > vals.v)
            FROM vals WHERE vals.v IS NOT NULL
        )
        SELECT v FROM vals WHERE v IS NOT NULL LIMIT :limit
        """
    )
    return [str(v) for (v,) in session.execute(sql, {"limit": limit})]
