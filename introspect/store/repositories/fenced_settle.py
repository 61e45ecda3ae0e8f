"""A job settling with its trajectory, as one statement (Postgres): the finish node's write.

The transaction it replaces was BEGIN, the job's UPDATE (which is also the fence: it matches only the
current lease of a running job), the status event, the trajectory's UPDATE, a SELECT of the turn ids,
the rewards and COMMIT: seven round trips at the end of every job. As a data-modifying CTE on an
autocommit connection it is one::

    WITH settle AS (UPDATE jobs SET status = 'succeeded', ... WHERE lease_version = :v
                    AND status = 'running' RETURNING id),
         event AS (INSERT INTO job_events SELECT ... FROM settle RETURNING id),
         trajectory AS (UPDATE trajectories ... WHERE finished_at IS NULL
                        AND EXISTS (SELECT FROM settle) RETURNING id),
         rewards AS (INSERT INTO rewards SELECT ... FROM trajectory, jsonb_to_recordset(:rewards)
                     LEFT JOIN turns ON the reward's turn index)
    SELECT (SELECT count(*) FROM settle), (SELECT id FROM event), the job's version and status

Every part of the statement sees the rows as they were before it, so when nothing settled the job's
version and status tell a replay (settled under this very lease: nothing to write) from a lost lease.
SQLite has no data-modifying CTEs: it keeps the transaction (``DbRecorder``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    Integer,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    column,
    exists,
    func,
    insert,
    or_,
    select,
    true,
)

from introspect.store.json_rows import json_rows
from introspect.store.repositories.leases import Lease, StaleLeaseError, finish_statement, insert_event_from
from introspect.store.repositories.trajectories import FINISH_TRAJECTORY, RewardData, TrajectoryOutcome
from introspect.store.tables import Job, JobEvent, Reward, Turn
from introspect.store.types import utcnow

_JOBS = cast(Table, Job.__table__)
_EVENTS = cast(Table, JobEvent.__table__)
_TURNS = cast(Table, Turn.__table__)
_REWARDS = cast(Table, Reward.__table__)
_TRAJECTORIES = FINISH_TRAJECTORY.table


@dataclass(frozen=True)
class Settled:
    """What the statement did: the status event it wrote (None when nothing was written: the job
    had been settled under this lease by an earlier run of the finish node)."""

    event: JobEvent | None


def _build() -> Any:
    settle = (
        finish_statement(sets_result=True, sets_error=False, terminal=True)
        .returning(_JOBS.c.id)
        .cte("settle")
    )
    now = bindparam("b_now", type_=_EVENTS.c.created_at.type)
    event = insert_event_from(settle, settle.c.id, event_type="status", data="b_event_data").cte("event")
    trajectory = (
        FINISH_TRAJECTORY.where(exists(select(settle.c.id))).returning(_TRAJECTORIES.c.id).cte("trajectory")
    )
    rewards = json_rows(
        "rewards",
        column("id", Uuid()), column("turn_index", Integer()), column("kind", Text()),
        column("value", Float()), column("label", Boolean()), column("comment", Text()),
        column("source", Text()),
    )  # fmt: skip
    turn = _TURNS.alias("turn")
    copied = ("kind", "value", "label", "comment", "source")
    reward_rows = (
        select(rewards.c.id, trajectory.c.id, turn.c.id, *[rewards.c[n] for n in copied], now)
        .select_from(trajectory)
        .join(rewards, true())
        .outerjoin(turn, and_(turn.c.trajectory_id == trajectory.c.id, turn.c.index == rewards.c.turn_index))
        # A reward on a turn that was never written (none in practice) is dropped, as before.
        .where(or_(rewards.c.turn_index.is_(None), turn.c.id.is_not(None)))
    )
    inserted_rewards = (
        insert(_REWARDS)
        .from_select(["id", "trajectory_id", "turn_id", *copied, "created_at"], reward_rows)
        .cte("rewards")
    )
    job = select(_JOBS.c.lease_version, _JOBS.c.status).where(_JOBS.c.id == bindparam("b_id"))
    return select(
        select(func.count()).select_from(settle).scalar_subquery().label("settled"),
        select(event.c.id).scalar_subquery().label("event_id"),
        job.with_only_columns(_JOBS.c.lease_version).scalar_subquery().label("version"),
        job.with_only_columns(_JOBS.c.status).scalar_subquery().label("status"),
    ).add_cte(inserted_rewards)


_SETTLE = _build()


def settle_job_fenced(
    conn: Connection,
    lease: Lease,
    trajectory_id: uuid.UUID,
    result: dict[str, Any],
    outcome: TrajectoryOutcome,
    rewards: list[tuple[RewardData, int | None]],
) -> Settled:
    """Mark the leased, running job succeeded with ``result``, log its status event, finish its
    trajectory with ``outcome`` and add ``rewards`` (each on the turn of that index, or on the whole
    trajectory for None), all or nothing, as one statement on ``conn`` (Postgres, autocommit)."""
    now = utcnow()
    data = {"status": "succeeded"}
    params = {
        "b_id": lease.job_id,
        "b_version": lease.version,
        "b_status": "succeeded",
        "b_now": now,
        "b_result": result,
        "b_event_data": data,
        "b_rewards": [
            {"id": str(uuid.uuid4()), "turn_index": index, **r.columns()} for r, index in rewards
        ],
        **outcome.params(trajectory_id),
    }  # fmt: skip
    row = conn.execute(_SETTLE, params).one()
    if row.settled == 1:
        event = JobEvent(id=row.event_id, job_id=lease.job_id, type="status", data=data, created_at=now)
        return Settled(event)
    if row.version == lease.version and row.status != "running":
        return Settled(None)  # settled by an earlier run of the finish node under this lease
    raise StaleLeaseError.of(lease)
