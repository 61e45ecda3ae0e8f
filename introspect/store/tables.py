"""ORM models for design.md §5. Meaning, not DDL: each class says what a row stands for.

Dialect-specific full-text search artefacts (Postgres tsvector columns + GIN indexes, SQLite FTS5
tables and triggers) are created by the migration, not declared here; ``store.fts`` queries them and
migrations/env.py keeps them out of autogenerate's comparison.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from introspect.store.types import JsonType, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY (FTS5 external content needs that rowid).
AutoIncrementId = BigInteger().with_variant(Integer(), "sqlite")

JOB_STATUSES = ("queued", "running", "waiting_human", "succeeded", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
TURN_PHASES = ("generate", "critique", "verify", "retrieve", "escalate", "revise", "human")
REWARD_KINDS = ("outcome", "attempt", "human")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
        datetime: UTCDateTime,
    }


class Job(Base):
    """A request to run a graph on one input; the unit that workers lease."""

    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    graph: Mapped[str] = mapped_column(String(100))
    input: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Lease: the owner runs the job until lease_expires_at; lease_version is the fencing token that
    # every write of the job's turns must carry (a stale owner's writes then match nothing).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_version: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # A human's answer to an escalation, waiting to be fed to the graph as Command(resume=...).
    resume_value: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    # A dataset row's job: its batch and the row's id in it, unique together, so a rerun of the same
    # dataset finds the row's job instead of adding a second one.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"))
    batch_row_id: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    trajectories: Mapped[list[Trajectory]] = relationship(back_populates="job")

    __table_args__ = (
        # One job per (caller, Idempotency-Key); NULL keys never collide.
        UniqueConstraint("api_key_scope", "idempotency_key", name="uq_jobs_idempotency"),
        UniqueConstraint("batch_id", "batch_row_id", name="uq_jobs_batch_row"),
        Index("ix_jobs_created", "created_at", "id"),
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_graph_created", "graph", "created_at"),
        Index("ix_jobs_lease_expiry", "status", "lease_expires_at"),
    )

    # Scope of the idempotency key: the key's owner, or "" for unauthenticated embedded use
    # (NULL would make every unauthenticated key unique, defeating the constraint).
    api_key_scope: Mapped[str] = mapped_column(String(64), default="")


class Batch(Base):
    """A dataset run as one job per row; its name is its identity (``run --dataset`` reruns continue it)."""

    __tablename__ = "batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    graph: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    # sha256 of the dataset as read (the file's bytes for the CLI, the canonical rows for the API).
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_batches_created", "created_at", "id"),)


class Trajectory(Base):
    """One run of a task through a graph: the training example RISE learns from."""

    __tablename__ = "trajectories"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    graph: Mapped[str] = mapped_column(String(100))
    task_prompt: Mapped[str] = mapped_column(Text)
    task_messages: Mapped[list[Any]] = mapped_column(default=list)
    task_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(Text)
    verifier: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    final_answer: Mapped[str | None] = mapped_column(Text)
    stop_reason: Mapped[str | None] = mapped_column(String(50))
    outcome_reward: Mapped[float | None] = mapped_column(Float)
    success: Mapped[bool | None] = mapped_column(Boolean)
    models: Mapped[list[Any]] = mapped_column(default=list)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    job: Mapped[Job | None] = relationship(back_populates="trajectories")
    turns: Mapped[list[Turn]] = relationship(
        back_populates="trajectory", order_by="Turn.index", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_trajectories_created", "created_at", "id"),
        Index("ix_trajectories_job", "job_id"),
        Index("ix_trajectories_graph_created", "graph", "created_at"),
        Index("ix_trajectories_success_created", "success", "created_at"),
        Index("ix_trajectories_stop_reason", "stop_reason", "created_at"),
        Index("ix_trajectories_task_hash", "task_hash"),
    )


class Turn(Base):
    """One step of a trajectory: what the model saw, what it said, how sure it was, what the gate did."""

    __tablename__ = "turns"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    trajectory_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trajectories.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int | None] = mapped_column(Integer)
    messages: Mapped[list[Any]] = mapped_column(default=list)
    output: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_template: Mapped[str | None] = mapped_column(String(100))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    stats: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    token_stats: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    decision_action: Mapped[str | None] = mapped_column(String(20))
    retrieved: Mapped[list[Any] | None] = mapped_column(JsonType)
    # Best-of-N: siblings answer the same state; keep the losers for preference export.
    sibling_group: Mapped[int | None] = mapped_column(Integer)
    selected: Mapped[bool | None] = mapped_column(Boolean)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    lease_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    trajectory: Mapped[Trajectory] = relationship(back_populates="turns")
    verifications: Mapped[list[Verification]] = relationship(
        back_populates="turn", cascade="all, delete-orphan"
    )
    critiques: Mapped[list[Critique]] = relationship(back_populates="turn", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("trajectory_id", "index", name="uq_turns_trajectory_index"),
        Index("ix_turns_decision_action", "decision_action"),
        Index("ix_turns_model", "model"),
        # The admin list's "took decision X" / "used model Y" filters probe this per trajectory.
        Index("ix_turns_trajectory_decision_model", "trajectory_id", "decision_action", "model"),
    )


class Verification(Base):
    """A verifier's judgement of one turn's answer."""

    __tablename__ = "verifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    trajectory_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("trajectories.id", ondelete="CASCADE"), index=True
    )
    verifier: Mapped[str] = mapped_column(String(50))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    turn: Mapped[Turn] = relationship(back_populates="verifications")


class Critique(Base):
    """A critic's verdict on one turn, and the feedback the next attempt sees."""

    __tablename__ = "critiques"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    trajectory_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("trajectories.id", ondelete="CASCADE"), index=True
    )
    critic: Mapped[str] = mapped_column(String(50))
    verdict: Mapped[str] = mapped_column(String(20))
    issues: Mapped[list[Any]] = mapped_column(default=list)
    feedback: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    turn: Mapped[Turn] = relationship(back_populates="critiques")


class Reward(Base):
    """One reward signal (outcome, per attempt, or a human label), kept apart so export can re-weight."""

    __tablename__ = "rewards"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    trajectory_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trajectories.id", ondelete="CASCADE"))
    turn_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    label: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_rewards_trajectory_kind", "trajectory_id", "kind"),
        Index("ix_rewards_turn", "turn_id"),
    )


class JobEvent(Base):
    """Durable job event log: SSE replays it from ``Last-Event-ID`` (the id is the cursor)."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(AutoIncrementId, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_job_events_job_id", "job_id", "id"),)


class Corpus(Base):
    """A named collection of documents that the retrieve node searches."""

    __tablename__ = "corpora"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Document(Base):
    """A passage in a corpus; indexed for full-text search by the migration (tsvector / FTS5)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(AutoIncrementId, primary_key=True, autoincrement=True)
    corpus_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("corpora.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key, stored as a SHA-256 hash (keys are 256-bit random, so no slow KDF is needed)."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AgentThread(Base):
    """A LangGraph Agent Protocol thread: a conversation that holds runs, each of them a job."""

    __tablename__ = "agent_threads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_agent_threads_created", "created_at", "id"),)


class AgentThreadRun(Base):
    """A job run on a thread. Deleting the thread forgets the link, never the job or trajectory."""

    __tablename__ = "agent_thread_runs"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent_threads.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_agent_thread_runs_thread", "thread_id", "created_at"),)


class GateProfileRow(Base):
    """A calibrated gate for one scorer model (name + weights hash), versioned; one active per key.

    ``policy`` holds the GatePolicy keys the calibration set, ``predictor`` the learned correctness
    predictor's parameters as JSON (never a pickle), ``figures`` the held-out evidence."""

    __tablename__ = "gate_profiles"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    model_name: Mapped[str] = mapped_column(String(200))
    # "" when the weights are unknown: NULL would make the uniqueness below vacuous.
    weights_hash: Mapped[str] = mapped_column(String(128), default="")
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    predictor: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meets_target: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(50), default="calibrate")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("model_name", "weights_hash", "version", name="uq_gate_profiles_version"),
        # One active profile per (model, weights): a partial unique index, so two concurrent
        # activations cannot both win.
        Index(
            "uq_gate_profiles_active",
            "model_name",
            "weights_hash",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )


class AdminSessionRevocation(Base):
    """An admin session ended by logout before its expiry (the cookie itself cannot be recalled)."""

    __tablename__ = "admin_session_revocations"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_admin_session_revocations_expires", "expires_at"),)
