"""Read trajectories for export, page by page, in constant memory (the export's only SQL).

One statement runs on a server-side cursor (``yield_per``: a named cursor on Postgres, a lazily
stepped cursor on SQLite) and returns, per trajectory, one JSON document that the database builds
(:mod:`introspect.export.documents`): no query per trajectory, and no per-page ``IN (...)`` lookup,
which Postgres may answer with a sequential scan of a whole table.

Pages are ordered by ``(task_hash, id)``: every example's prompt starts with its task, so identical
examples can only come from trajectories of the same task, and these arrive next to each other. The
de-duplication set can then be emptied whenever the task changes, which keeps memory flat.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Text,
    exists,
    func,
    or_,
    select,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import type_coerce

from introspect.export.documents import DocumentBuilder, assemble
from introspect.export.options import ExportFilters
from introspect.export.prefetch import prefetched
from introspect.export.records import TrajectoryRow
from introspect.store.repositories.batches import trajectory_in_batch
from introspect.store.tables import Reward, Trajectory, Turn


def filter_conditions(filters: ExportFilters, dialect: str) -> list[ColumnElement[bool]]:
    """The filters that SQL can apply before any row is read.

    ``success`` and ``min_reward`` are not here: a human label recorded later may flip them, so they
    are applied in Python after labels are resolved (see :mod:`introspect.export.episode`).
    """
    conds: list[ColumnElement[bool]] = []
    if not filters.include_unfinished:
        conds.append(Trajectory.finished_at.is_not(None))
    if filters.graph is not None:
        conds.append(Trajectory.graph == filters.graph)
    if filters.batch is not None:
        conds.append(trajectory_in_batch(filters.batch))
    if filters.since is not None:
        conds.append(Trajectory.created_at >= filters.since)
    if filters.until is not None:
        conds.append(Trajectory.created_at < filters.until)
    if filters.split == "eval":
        conds.append(Trajectory.task_hash < filters.eval_threshold)
    elif filters.split == "train":
        conds.append(Trajectory.task_hash >= filters.eval_threshold)
    if filters.has_human_label is not None:
        labelled = exists().where(Reward.trajectory_id == Trajectory.id, Reward.kind == "human")
        conds.append(labelled if filters.has_human_label else ~labelled)
    if filters.model is not None:
        conds.append(or_(_turn_used_model(filters.model), _models_list_contains(filters.model, dialect)))
    return conds


def _turn_used_model(model: str) -> ColumnElement[bool]:
    return exists().where(Turn.trajectory_id == Trajectory.id, Turn.model == model)


def _models_list_contains(model: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return type_coerce(Trajectory.models, JSONB).contains([model])
    # SQLite keeps JSON as text; json_each walks the stored list.
    element = func.json_each(Trajectory.models).table_valued("value")
    return select(1).select_from(element).where(element.c.value == model).exists()


def count_trajectories(connection: Connection, filters: ExportFilters) -> int:
    conds = filter_conditions(filters, connection.dialect.name)
    return int(connection.scalar(select(func.count()).select_from(Trajectory).where(*conds)) or 0)


def iter_trajectory_pages(
    connection: Connection,
    filters: ExportFilters,
    *,
    page_size: int = 500,
    lean: bool = False,
    token_stats: bool = False,
) -> Iterator[list[TrajectoryRow]]:
    """Pages of fully loaded trajectories in ``(task_hash, id)`` order, from one streamed statement.

    The documents are select-list subqueries, which Postgres (9.6+) evaluates after the sort and
    SQLite as it steps, so rows are built as they are fetched, never all up front. ``lean`` reads
    only what the derived formats use; without it every column is read (``raw``).
    """
    builder = DocumentBuilder(connection.dialect.name, lean=lean, token_stats=token_stats)
    if builder.postgres:
        # JSON renders timestamptz in the session time zone: make that UTC. And no JIT: the plan's
        # estimated cost triggers it, but compiling took ~0.6 s per export and speeds up nothing
        # in small per-trajectory subplans.
        connection.execute(text("SET LOCAL TIME ZONE 'UTC'"))
        connection.execute(text("SET LOCAL jit = off"))
    conds = filter_conditions(filters, connection.dialect.name)
    document = sql_cast(builder.document(), Text)
    stmt = select(document).where(*conds).order_by(Trajectory.task_hash, Trajectory.id)
    result = connection.execute(stmt, execution_options={"yield_per": page_size})
    pages = prefetched(_documents(result))  # the database builds page k+1 while we work on page k
    try:
        for docs in pages:
            yield [assemble(orjson.loads(doc), sort=builder.sort_children) for doc in docs]
    finally:
        pages.close()


def _documents(result: CursorResult[Any]) -> Iterator[list[str]]:
    try:
        for rows in result.partitions():
            yield [doc for (doc,) in rows]
    finally:
        result.close()
