"""Trajectory use cases: one trajectory (the full resource), and filtered keyset pages of summaries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from introspect.api.cursor import decode_cursor, encode_cursor
from introspect.api.schemas import Page
from introspect.api.services.jobs import NotFoundError
from introspect.runner.resource import trajectory_resource
from introspect.runner.trajectory_model import TrajectorySummary
from introspect.store.engine import transaction
from introspect.store.repositories.trajectory_search import TrajectoryQuery, TrajectoryRow, search


def get_trajectory(factory: sessionmaker[Session], trajectory_id: uuid.UUID) -> dict[str, Any]:
    with transaction(factory) as session:
        resource = trajectory_resource(session, trajectory_id)
    if resource is None:
        raise NotFoundError(f"trajectory {trajectory_id} not found")
    return resource


def list_trajectories(
    factory: sessionmaker[Session], query: TrajectoryQuery, *, limit: int, cursor: str | None
) -> Page[TrajectorySummary]:
    after = decode_cursor(cursor) if cursor else None
    with transaction(factory) as session:
        rows = search(session, query, limit=limit + 1, after=after)
    page, more = rows[:limit], len(rows) > limit
    last = page[-1].trajectory if page else None
    next_cursor = encode_cursor(last.created_at, last.id) if more and last is not None else None
    return Page[TrajectorySummary](data=[_summary(r) for r in page], next_cursor=next_cursor)


def _summary(row: TrajectoryRow) -> TrajectorySummary:
    t = row.trajectory
    return TrajectorySummary(
        trajectory_id=str(t.id),
        job_id=None if t.job_id is None else str(t.job_id),
        graph=t.graph,
        prompt=t.task_prompt,
        answer=t.final_answer,
        stop_reason=t.stop_reason,
        success=t.success,
        outcome_reward=t.outcome_reward,
        models=list(t.models or []),
        total_tokens=t.total_tokens,
        turn_count=row.turn_count,
        batch_id=None if row.batch_id is None else str(row.batch_id),
        metadata=t.meta,
        created_at=t.created_at.isoformat(),
        finished_at=None if t.finished_at is None else t.finished_at.isoformat(),
    )
