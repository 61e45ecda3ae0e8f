"""The trajectory resource as typed pydantic models: the one source of its JSON Schema.

``GET /v1/trajectories/{id}`` declares :class:`TrajectoryResource` as its response model and
``introspect run --json`` prints the same dict (``resource.trajectory_resource``). Ids and
timestamps stay strings exactly as the resource writes them (``str(uuid)``, ``isoformat()``),
typed by pattern and format, so the JSON is byte-for-byte what it was. Unknown keys are kept
(``extra="allow"``): a field added to the resource is never silently dropped by the API.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
SCHEMA_ID = "https://introspect.dev/schemas/trajectory.json"


def _uuid(description: str | None = None) -> Any:
    return Field(pattern=UUID_PATTERN, description=description)


def _timestamp() -> Any:
    return Field(default=None, json_schema_extra={"format": "date-time"})


class _Resource(BaseModel):
    model_config = ConfigDict(extra="allow")


class RewardResource(_Resource):
    id: str | None = Field(default=None, pattern=UUID_PATTERN)
    kind: Literal["outcome", "attempt", "human"]
    value: float
    label: bool | None = None
    comment: str | None = None
    source: str | None = None
    turn_id: str | None = None
    created_at: str | None = _timestamp()


class VerificationResource(_Resource):
    id: str | None = Field(default=None, pattern=UUID_PATTERN)
    verifier: str
    passed: bool | None
    score: float | None
    message: str | None
    details: dict[str, Any]
    created_at: str | None = _timestamp()


class CritiqueResource(_Resource):
    id: str | None = Field(default=None, pattern=UUID_PATTERN)
    critic: str
    verdict: str
    issues: list[Any]
    feedback: str
    model: str | None = None
    created_at: str | None = _timestamp()


class TurnStats(_Resource):
    """``TokenStats.summary()``: mean/min/max aggregates in nats, gnll, mean_nll, regime."""

    n_tokens: int | None = Field(default=None, ge=0)
    mean_self_certainty: float | None = None
    mean_entropy: float | None = None
    mean_varentropy: float | None = None
    mean_nll: float | None = None
    gnll: float | None = None
    mean_margin: float | None = None
    regime: Literal["confident", "branch", "unsure", "scattered"] | None = None


class GateDecision(_Resource):
    action: Literal["stop", "revise", "retrieve", "escalate"]
    reason: str = Field(min_length=1)
    inputs: dict[str, Any]
    thresholds: dict[str, Any]


class TurnMessage(_Resource):
    role: str
    content: Any


class RetrievedPassage(_Resource):
    content: str


class TurnResource(_Resource):
    id: str | None = Field(default=None, pattern=UUID_PATTERN)
    index: int = Field(ge=0)
    phase: Literal["generate", "critique", "verify", "retrieve", "escalate", "revise", "human"]
    attempt: int | None = Field(default=None, ge=1)
    output: str | None
    answer: str | None = None
    model: str | None = None
    messages: list[TurnMessage] = Field(default_factory=list)
    prompt_template: str | None = None
    prompt_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    stats: TurnStats | None
    token_stats: dict[str, Any] | None = None
    decision: GateDecision | None
    retrieved: list[RetrievedPassage] | None = None
    sibling_group: int | None = None
    selected: bool | None = None
    latency_ms: float | None = Field(default=None, ge=0)
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    created_at: str | None = _timestamp()
    verifications: list[VerificationResource]
    critiques: list[CritiqueResource]
    rewards: list[RewardResource]


class TrajectoryResource(_Resource):
    """One run of a task, turn by turn: ``GET /v1/trajectories/{id}`` and ``introspect run --json``."""

    model_config = ConfigDict(extra="allow", title="Trajectory")

    trajectory_id: str = _uuid()
    job_id: str | None = Field(pattern=UUID_PATTERN)
    graph: str
    prompt: str | None = None
    messages: list[Any] = Field(default_factory=list)
    task_hash: str | None = None
    reference: str | None
    verifier: dict[str, Any] | None = None
    answer: str | None
    stop_reason: str | None
    success: bool | None
    outcome_reward: float | None = None
    models: list[str] = Field(default_factory=list)
    total_tokens: int = Field(default=0, ge=0)
    total_latency_ms: float = Field(default=0.0, ge=0)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = Field(json_schema_extra={"format": "date-time"})
    finished_at: str | None = _timestamp()
    rewards: list[RewardResource]
    turns: list[TurnResource]


class TrajectorySummary(BaseModel):
    """A trajectory in a list: everything but its turns."""

    model_config = ConfigDict(extra="allow")

    trajectory_id: str = _uuid()
    job_id: str | None = Field(default=None, pattern=UUID_PATTERN)
    graph: str
    prompt: str
    answer: str | None
    stop_reason: str | None
    success: bool | None
    outcome_reward: float | None
    models: list[str]
    total_tokens: int
    turn_count: int
    batch_id: str | None = None
    metadata: dict[str, Any]
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    finished_at: str | None = _timestamp()


def trajectory_json_schema() -> dict[str, Any]:
    schema = TrajectoryResource.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
