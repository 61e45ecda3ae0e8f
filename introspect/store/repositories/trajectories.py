"""Trajectories and their turns, verifications, critiques and rewards.

Turn writes are idempotent on (trajectory_id, index): a resumed job that replays a node writes
nothing new, and the children (verifications, critiques, rewards) are written only with a new turn.
Callers fence the transaction first (``leases.fence``) so a stale worker writes nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, selectinload

from introspect.store.dialect_insert import insert_for_dialect
from introspect.store.tables import Critique, Reward, Trajectory, Turn, Verification
from introspect.store.types import utcnow

# The statements a running job executes on every turn are built once: building a SQLAlchemy statement
# (and its cache key) cost more than executing it. Core tables, so the ORM session is not involved.
_TURNS = cast(Table, Turn.__table__)
_CHILD_INSERTS = {model: insert(cast(Table, model.__table__)) for model in (Verification, Critique, Reward)}
_TRAJECTORIES = cast(Table, Trajectory.__table__)
_INSERT_TRAJECTORY = insert(_TRAJECTORIES)
_TURN_IDS = select(_TURNS.c.index, _TURNS.c.id).where(_TURNS.c.trajectory_id == bindparam("b_id"))
# Public: the settling recorder's one-statement finish (fenced_settle) embeds it.
FINISH_TRAJECTORY = (
    update(_TRAJECTORIES)
    .where(_TRAJECTORIES.c.id == bindparam("b_trajectory_id"), _TRAJECTORIES.c.finished_at.is_(None))
    .values(
        {
            name: bindparam(f"b_{name}")
            for name in (
                "final_answer", "stop_reason", "success", "outcome_reward", "models", "total_tokens",
                "total_latency_ms", "finished_at",
            )
        }
    )
)  # fmt: skip
_TURN_INSERTS: dict[str, Any] = {}


def _turn_insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect not in _TURN_INSERTS:
        _TURN_INSERTS[dialect] = (
            insert_for_dialect(dialect, _TURNS)
            .on_conflict_do_nothing(index_elements=["trajectory_id", "index"])
            .returning(_TURNS.c.id)
        )
    return _TURN_INSERTS[dialect]


def task_hash(prompt: str, messages: Sequence[Any] | None = None) -> str:
    """Stable hash of the task: used for the train/eval split and de-duplication."""
    payload = json.dumps({"prompt": prompt, "messages": list(messages or [])}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class VerificationData:
    verifier: str
    passed: bool | None
    score: float | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CritiqueData:
    critic: str
    verdict: str
    feedback: str
    issues: list[Any] = field(default_factory=list)
    model: str | None = None


@dataclass
class RewardData:
    kind: str
    value: float
    label: bool | None = None
    comment: str | None = None
    source: str | None = None
    on_turn: bool = True

    def columns(self) -> dict[str, Any]:
        """The ``rewards`` columns this carries (not where it attaches: the caller decides that)."""
        return {
            "kind": self.kind, "value": self.value, "label": self.label, "comment": self.comment,
            "source": self.source,
        }  # fmt: skip


@dataclass
class TurnData:
    index: int
    phase: str
    messages: list[Any] = field(default_factory=list)
    output: str | None = None
    answer: str | None = None
    attempt: int | None = None
    model: str | None = None
    prompt_template: str | None = None
    prompt_hash: str | None = None
    stats: dict[str, Any] | None = None
    token_stats: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    retrieved: list[Any] | None = None
    sibling_group: int | None = None
    selected: bool | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    verifications: list[VerificationData] = field(default_factory=list)
    critiques: list[CritiqueData] = field(default_factory=list)
    rewards: list[RewardData] = field(default_factory=list)


def create_trajectory(
    session: Session,
    *,
    graph: str,
    task_prompt: str,
    job_id: uuid.UUID | None = None,
    task_messages: list[Any] | None = None,
    reference: str | None = None,
    verifier: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    trajectory_id: uuid.UUID | None = None,
) -> Trajectory:
    row = trajectory_row(
        graph=graph, task_prompt=task_prompt, job_id=job_id, task_messages=task_messages,
        reference=reference, verifier=verifier, meta=meta, trajectory_id=trajectory_id,
    )  # fmt: skip
    row["meta"] = row.pop("metadata")  # the ORM attribute's name
    traj = Trajectory(**row)
    session.add(traj)
    session.flush()
    return traj


def insert_trajectory_row(session: Session, row: dict[str, Any]) -> uuid.UUID:
    """Insert a ``trajectory_row`` with one Core INSERT (no ORM object and unit-of-work flush, which
    were most of a job's start-up cost); returns its id."""
    session.connection().execute(_INSERT_TRAJECTORY, row)
    return cast(uuid.UUID, row["id"])


def trajectory_row(
    *,
    graph: str,
    task_prompt: str,
    job_id: uuid.UUID | None = None,
    task_messages: list[Any] | None = None,
    reference: str | None = None,
    verifier: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    trajectory_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A new trajectory's row, keyed by column name, with a new id unless ``trajectory_id`` is
    given (the other columns' defaults apply on insert)."""
    return {
        "id": trajectory_id or uuid.uuid4(),
        "job_id": job_id,
        "graph": graph,
        "task_prompt": task_prompt,
        "task_messages": task_messages or [],
        "task_hash": task_hash(task_prompt, task_messages),
        "reference": reference,
        "verifier": verifier,
        "metadata": meta or {},
    }


def trajectory_for_job(session: Session, job_id: uuid.UUID) -> Trajectory | None:
    stmt = select(Trajectory).where(Trajectory.job_id == job_id).order_by(Trajectory.created_at.desc())
    return session.scalars(stmt).first()


def turn_row(
    trajectory_id: uuid.UUID, data: TurnData, lease_version: int | None, now: datetime
) -> dict[str, Any]:
    """The ``turns`` row of ``data``, with a new id."""
    return {
        "id": uuid.uuid4(),
        "trajectory_id": trajectory_id,
        "index": data.index,
        "phase": data.phase,
        "attempt": data.attempt,
        "messages": data.messages,
        "output": data.output,
        "answer": data.answer,
        "model": data.model,
        "prompt_template": data.prompt_template,
        "prompt_hash": data.prompt_hash,
        "stats": data.stats,
        "token_stats": data.token_stats,
        "decision": data.decision,
        "decision_action": (data.decision or {}).get("action"),
        "retrieved": data.retrieved,
        "sibling_group": data.sibling_group,
        "selected": data.selected,
        "latency_ms": data.latency_ms,
        "prompt_tokens": data.prompt_tokens,
        "completion_tokens": data.completion_tokens,
        "lease_version": lease_version,
        "created_at": now,
    }


def record_turn(
    session: Session, trajectory_id: uuid.UUID, data: TurnData, lease_version: int | None
) -> uuid.UUID | None:
    """Insert a turn (and its children) once; returns its id, or None when (trajectory, index) exists.

    (On Postgres a running job writes a turn with ``fenced_turn.record_turn_fenced`` instead: the same
    rows in one statement.)"""
    values = turn_row(trajectory_id, data, lease_version, utcnow())
    turn_id = session.connection().execute(_turn_insert(session), values).scalar_one_or_none()
    if turn_id is None:
        return None
    # Children as one executemany each: the ORM unit of work (add + flush per object) cost several
    # times the statements themselves.
    _insert_rows(
        session,
        Verification,
        [
            {
                "turn_id": turn_id,
                "trajectory_id": trajectory_id,
                "verifier": v.verifier,
                "passed": v.passed,
                "score": v.score,
                "message": v.message,
                "details": v.details,
            }
            for v in data.verifications
        ],
    )
    _insert_rows(
        session,
        Critique,
        [
            {
                "turn_id": turn_id,
                "trajectory_id": trajectory_id,
                "critic": c.critic,
                "verdict": c.verdict,
                "issues": c.issues,
                "feedback": c.feedback,
                "model": c.model,
            }
            for c in data.critiques
        ],
    )
    add_rewards(session, trajectory_id, [(r, turn_id if r.on_turn else None) for r in data.rewards])
    return turn_id


def _insert_rows(
    session: Session, model: type[Verification | Critique | Reward], rows: list[dict[str, Any]]
) -> None:
    if rows:
        session.connection().execute(_CHILD_INSERTS[model], rows)


def add_rewards(
    session: Session, trajectory_id: uuid.UUID, rewards: Sequence[tuple[RewardData, uuid.UUID | None]]
) -> None:
    """Insert reward rows, each ``(data, turn_id or None for the whole trajectory)``, in one statement."""
    _insert_rows(
        session,
        Reward,
        [{"trajectory_id": trajectory_id, "turn_id": turn_id, **data.columns()} for data, turn_id in rewards],
    )


def add_reward(
    session: Session, trajectory_id: uuid.UUID, data: RewardData, turn_id: uuid.UUID | None = None
) -> Reward:
    reward = Reward(trajectory_id=trajectory_id, turn_id=turn_id, **data.columns())
    session.add(reward)
    session.flush()
    return reward


@dataclass(frozen=True)
class TrajectoryOutcome:
    final_answer: str | None
    stop_reason: str
    success: bool | None
    outcome_reward: float | None
    models: list[str]
    total_tokens: int
    total_latency_ms: float

    def params(self, trajectory_id: uuid.UUID) -> dict[str, Any]:
        """The parameters of ``FINISH_TRAJECTORY``."""
        fields = {f"b_{name}": value for name, value in self.__dict__.items()}
        return {"b_trajectory_id": trajectory_id, "b_finished_at": utcnow(), **fields}


def finish_trajectory(
    session: Session,
    trajectory_id: uuid.UUID,
    *,
    final_answer: str | None,
    stop_reason: str,
    success: bool | None,
    outcome_reward: float | None,
    models: list[str],
    total_tokens: int,
    total_latency_ms: float,
) -> bool:
    """Write the trajectory's outcome once: False (and nothing written) if it was finished before."""
    outcome = TrajectoryOutcome(
        final_answer, stop_reason, success, outcome_reward, models, total_tokens, total_latency_ms
    )
    return finish_trajectory_with(session, trajectory_id, outcome)


def finish_trajectory_with(session: Session, trajectory_id: uuid.UUID, outcome: TrajectoryOutcome) -> bool:
    """``finish_trajectory`` with the outcome as one value."""
    result = session.connection().execute(FINISH_TRAJECTORY, outcome.params(trajectory_id))
    return int(getattr(result, "rowcount", 0) or 0) == 1


def get_trajectory_detail(session: Session, trajectory_id: uuid.UUID) -> Trajectory | None:
    """A trajectory with turns, verifications and critiques eagerly loaded (rewards via list_rewards)."""
    stmt = (
        select(Trajectory)
        .where(Trajectory.id == trajectory_id)
        .options(
            selectinload(Trajectory.turns).selectinload(Turn.verifications),
            selectinload(Trajectory.turns).selectinload(Turn.critiques),
        )
    )
    return session.scalars(stmt).first()


def turn_ids_by_index(session: Session, trajectory_id: uuid.UUID) -> dict[int, uuid.UUID]:
    rows = session.connection().execute(_TURN_IDS, {"b_id": trajectory_id})
    return {index: turn_id for index, turn_id in rows}


def list_rewards(session: Session, trajectory_id: uuid.UUID) -> Sequence[Reward]:
    stmt = select(Reward).where(Reward.trajectory_id == trajectory_id).order_by(Reward.created_at)
    return session.scalars(stmt).all()
