"""A finished turn, its children and its ``turn_finished`` event as one fenced statement (Postgres).

A running job records every turn. As a transaction that is BEGIN, the fence, the turn, its
verifications, critiques and rewards, the event and COMMIT: up to eight round trips, each waiting
behind whatever else the database host runs. On Postgres the same writes are one data-modifying CTE,
sent on an autocommit connection (the statement is its own transaction)::

    WITH fence AS (UPDATE jobs ... WHERE lease_version = :v RETURNING id),       -- locks the job row
         turn AS (INSERT INTO turns SELECT ... FROM fence
                  ON CONFLICT (trajectory_id, index) DO NOTHING RETURNING id),   -- a replay: no row
         verifications AS (INSERT ... SELECT ... FROM turn, jsonb_to_recordset(:rows)),
         critiques AS (...), rewards AS (...),
         event AS (INSERT INTO job_events SELECT ... FROM turn RETURNING id)
    SELECT (SELECT count(*) FROM fence), (SELECT id FROM event)

So the writes keep the transaction's guarantees: nothing is written under a stale lease (no fence row,
no turn, no children), nothing twice (a replayed turn inserts no row, so no children and no event).
SQLite has no data-modifying CTEs; it keeps the transaction (``trajectories.record_turn``).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    Table,
    Text,
    Uuid,
    bindparam,
    case,
    column,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from introspect.store.json_rows import json_rows
from introspect.store.repositories.leases import Lease, StaleLeaseError, fence_cte, insert_event_from
from introspect.store.repositories.trajectories import TurnData, turn_row
from introspect.store.tables import Critique, Job, JobEvent, Reward, Turn, Verification
from introspect.store.types import utcnow

_JOBS = cast(Table, Job.__table__)
_TURNS = cast(Table, Turn.__table__)
_EVENTS = cast(Table, JobEvent.__table__)

_TURN_COLUMNS = [c.name for c in _TURNS.columns]


def _build() -> Any:
    fence = fence_cte()
    turn_values = select(*[bindparam(f"t_{name}", type_=_TURNS.c[name].type) for name in _TURN_COLUMNS])
    turn = (
        pg_insert(_TURNS)
        .from_select(_TURN_COLUMNS, turn_values.select_from(fence))
        .on_conflict_do_nothing(index_elements=["trajectory_id", "index"])
        .returning(_TURNS.c.id)
        .cte("turn")
    )
    now = bindparam("b_now", type_=_TURNS.c.created_at.type)
    trajectory_id = bindparam("b_trajectory_id", type_=Uuid())

    verifications = json_rows(
        "verifications",
        column("id", Uuid()), column("verifier", Text()), column("passed", Boolean()),
        column("score", Float()), column("message", Text()), column("details", JSONB()),
    )  # fmt: skip
    critiques = json_rows(
        "critiques",
        column("id", Uuid()), column("critic", Text()), column("verdict", Text()), column("issues", JSONB()),
        column("feedback", Text()), column("model", Text()),
    )  # fmt: skip
    rewards = json_rows(
        "rewards",
        column("id", Uuid()), column("kind", Text()), column("value", Float()), column("label", Boolean()),
        column("comment", Text()), column("source", Text()), column("on_turn", Boolean()),
    )  # fmt: skip

    def children(model: type[Any], rows: Any, copied: tuple[str, ...], turn_id: Any = turn.c.id) -> Any:
        table = cast(Table, model.__table__)
        chosen = {"id": rows.c.id, "trajectory_id": trajectory_id, "created_at": now, "turn_id": turn_id}
        chosen |= {name: rows.c[name] for name in copied}
        source = select(*chosen.values()).select_from(turn).join(rows, true())
        return insert(table).from_select(list(chosen), source).cte(table.name)

    inserted_children = [
        children(Verification, verifications, ("verifier", "passed", "score", "message", "details")),
        children(Critique, critiques, ("critic", "verdict", "issues", "feedback", "model")),
        children(
            Reward,
            rewards,
            ("kind", "value", "label", "comment", "source"),
            turn_id=case((rewards.c.on_turn, turn.c.id), else_=None),  # else the whole trajectory's
        ),
    ]
    event = insert_event_from(turn, bindparam("b_job_id", type_=_EVENTS.c.job_id.type)).cte("event")
    return select(
        select(func.count()).select_from(fence).scalar_subquery().label("fenced"),
        select(event.c.id).scalar_subquery().label("event_id"),
    ).add_cte(*inserted_children)


_RECORD_TURN = _build()


def record_turn_fenced(
    conn: Connection,
    lease: Lease,
    trajectory_id: uuid.UUID,
    turn: TurnData,
    event_type: str,
    event_data: dict[str, Any],
) -> JobEvent | None:
    """Write ``turn`` with its children and an event iff ``lease`` is current, as one statement on
    ``conn`` (Postgres, autocommit). Returns the (detached) event, or None for a turn written before
    (a replayed node); raises StaleLeaseError under a stale lease."""
    now = utcnow()
    row = turn_row(trajectory_id, turn, lease.version, now)
    params: dict[str, Any] = {f"t_{name}": row[name] for name in _TURN_COLUMNS}
    params |= {
        "b_job_id": lease.job_id,
        "b_version": lease.version,
        "b_now": now,
        "b_trajectory_id": trajectory_id,
        "b_type": event_type,
        "b_data": event_data,
        "b_verifications": [
            {"id": str(uuid.uuid4()), "verifier": v.verifier, "passed": v.passed, "score": v.score,
             "message": v.message, "details": v.details}
            for v in turn.verifications
        ],
        "b_critiques": [
            {"id": str(uuid.uuid4()), "critic": c.critic, "verdict": c.verdict, "issues": c.issues,
             "feedback": c.feedback, "model": c.model}
            for c in turn.critiques
        ],
        "b_rewards": [
            {"id": str(uuid.uuid4()), "on_turn": r.on_turn, **r.columns()} for r in turn.rewards
        ],
    }  # fmt: skip
    result = conn.execute(_RECORD_TURN, params).one()
    if result.fenced != 1:
        raise StaleLeaseError.of(lease)
    if result.event_id is None:
        return None
    return JobEvent(id=result.event_id, job_id=lease.job_id, type=event_type, data=event_data, created_at=now)
