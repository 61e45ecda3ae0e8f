"""A just-claimed job's start -- its trajectory and its 'running' event -- as one statement (Postgres).

A worker claims a job with one self-contained UPDATE (``leases.claim_job_to_run`` on an autocommit
connection), parses it, then starts it. As a transaction the start was BEGIN, the fence, the
trajectory's INSERT, the event's INSERT and COMMIT; as a data-modifying CTE on an autocommit
connection it is one round trip::

    WITH fence AS (UPDATE jobs ... WHERE lease_version = :v RETURNING id),   -- locks the job row
         trajectory AS (INSERT INTO trajectories SELECT ... FROM fence),
         event AS (INSERT INTO job_events SELECT ... FROM fence RETURNING id)
    SELECT (SELECT id FROM event)

Nothing is written unless the lease is current. SQLite keeps the transaction (``runner.execute``).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select

from introspect.store.repositories.leases import Lease, StaleLeaseError, fence_cte, insert_event_from
from introspect.store.tables import Job, JobEvent, Trajectory
from introspect.store.types import utcnow

_JOBS = cast(Table, Job.__table__)
_EVENTS = cast(Table, JobEvent.__table__)
_TRAJECTORIES = cast(Table, Trajectory.__table__)
# What ``trajectories.trajectory_row`` gives, plus what an INSERT would otherwise default (a
# Python-side default does not reach a bound INSERT .. SELECT); the outcome columns stay NULL.
_DEFAULTS: dict[str, Any] = {"models": [], "total_tokens": 0, "total_latency_ms": 0.0}
_TRAJECTORY_COLUMNS = (
    "id", "job_id", "graph", "task_prompt", "task_messages", "task_hash", "reference", "verifier",
    "metadata", "created_at", *_DEFAULTS,
)  # fmt: skip
RUNNING = {"status": "running"}


def _build() -> Any:
    fence = fence_cte()
    values = [bindparam(f"t_{name}", type_=_TRAJECTORIES.c[name].type) for name in _TRAJECTORY_COLUMNS]
    trajectory = (
        insert(_TRAJECTORIES)
        .from_select(list(_TRAJECTORY_COLUMNS), select(*values).select_from(fence), include_defaults=False)
        .cte("trajectory")
    )
    event = insert_event_from(fence, fence.c.id, event_type="status").cte("event")
    return select(select(event.c.id).scalar_subquery().label("event_id")).add_cte(trajectory)


_START = _build()


def start_job_fenced(conn: Connection, lease: Lease, trajectory: dict[str, Any]) -> JobEvent:
    """Insert ``trajectory`` (a ``trajectories.trajectory_row``) and the job's 'running' event iff
    ``lease`` is current, as one statement on ``conn`` (Postgres, autocommit). Returns the event
    (detached); raises StaleLeaseError, having written nothing, otherwise."""
    now = utcnow()
    row = {**_DEFAULTS, **trajectory}
    params = {f"t_{name}": row.get(name) for name in _TRAJECTORY_COLUMNS}
    params |= {"t_created_at": now, "b_job_id": lease.job_id, "b_version": lease.version, "b_now": now}
    params["b_data"] = RUNNING
    event_id = conn.execute(_START, params).scalar_one()
    if event_id is None:
        raise StaleLeaseError.of(lease)
    return JobEvent(id=event_id, job_id=lease.job_id, type="status", data=dict(RUNNING), created_at=now)
