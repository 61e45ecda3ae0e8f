"""The stored rows an export reads, as plain dicts decoded from JSON built by the database.

:mod:`introspect.export.source` has Postgres or SQLite build each trajectory's turns, with their
verifications, critiques and rewards nested, as one JSON document, decoded here by orjson: no ORM
objects and no per-column Python conversion. Values are JSON-native: ids are UUID strings, times
ISO 8601 strings in UTC. In lean mode (every format but ``raw``) only the ``LEAN`` keys are present,
and the ``messages`` of every turn but a first attempt hold only their last message. In full mode
(``raw``) the ``VERBATIM`` columns hold their JSON *text*, which raw rows embed unparsed.
"""

from __future__ import annotations

from typing import Any, TypedDict


class VerificationRow(TypedDict):
    id: str
    turn_id: str
    verifier: str | None
    passed: bool | None
    score: float | None
    message: str | None
    details: dict[str, Any] | None
    created_at: str | None


class CritiqueRow(TypedDict):
    id: str
    turn_id: str
    critic: str | None
    verdict: str | None
    issues: list[Any] | None
    feedback: str
    model: str | None
    created_at: str | None


class RewardRow(TypedDict):
    id: str
    turn_id: str | None
    kind: str
    value: float
    label: bool | None
    comment: str | None
    source: str | None
    created_at: str


class TurnRow(TypedDict):
    id: str
    index: int
    phase: str
    attempt: int | None
    messages: list[Any] | None
    output: str | None
    answer: str | None
    model: str | None
    prompt_template: str | None
    prompt_hash: str | None
    stats: dict[str, Any] | None
    token_stats: dict[str, Any] | None
    decision: dict[str, Any] | None
    decision_action: str | None
    retrieved: list[Any] | None
    sibling_group: int | None
    selected: bool | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    lease_version: int | None
    created_at: str | None
    verifications: list[VerificationRow]
    critiques: list[CritiqueRow]
    rewards: list[RewardRow]


class TrajectoryRow(TypedDict):
    id: str
    job_id: str | None
    graph: str
    task_prompt: str
    task_messages: list[Any]
    task_hash: str
    reference: str | None
    verifier: dict[str, Any] | None
    final_answer: str | None
    stop_reason: str | None
    outcome_reward: float | None
    success: bool | None
    models: list[Any] | None
    total_tokens: int | None
    total_latency_ms: float | None
    metadata: dict[str, Any] | None
    created_at: str | None
    finished_at: str | None
    turns: list[TurnRow]
    # Trajectory-level rewards (turn_id is null): outcome signals and whole-trajectory human labels.
    rewards: list[RewardRow]


CHILDREN = frozenset({"verifications", "critiques", "rewards", "turns"})


def stored_fields(row_type: type) -> tuple[str, ...]:
    """The stored columns of a row type, in declaration order (nested children excluded)."""
    return tuple(name for name in row_type.__annotations__ if name not in CHILDREN)


# What the derived formats read (everything but ``raw``); other columns are left out of the documents,
# costing neither transfer nor decoding. ``raw`` reads every column (per-token arrays only if asked).
LEAN: dict[str, frozenset[str]] = {
    "trajectories": frozenset(
        {"id", "graph", "task_prompt", "task_messages", "task_hash", "reference", "outcome_reward", "success"}
    ),
    "turns": frozenset(
        {"id", "index", "phase", "attempt", "messages", "output", "answer", "sibling_group", "selected"}
    ),
    "verifications": frozenset({"id", "turn_id", "passed", "created_at"}),
    "critiques": frozenset({"id", "turn_id", "feedback", "created_at"}),
    "rewards": frozenset({"id", "turn_id", "kind", "value", "label", "created_at"}),
}

# JSON columns, kept as text in full documents: raw rows embed them as they are, so the bulk of a
# trajectory (messages, statistics, decisions) is never turned into Python objects and back.
VERBATIM: dict[str, tuple[str, ...]] = {
    "trajectories": ("task_messages", "verifier", "models", "metadata"),
    "turns": ("messages", "stats", "token_stats", "decision", "retrieved"),
    "verifications": ("details",),
    "critiques": ("issues",),
    "rewards": (),
}
