"""Request and response schemas (pydantic), separate from the ORM models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from introspect.job_limits import (
    MAX_JSON_DEPTH,
    MAX_MESSAGES,
    MAX_NAME_CHARS,
    MAX_PROMPT_CHARS,
    BordaP,
    MaxTokens,
    MaxTurns,
    Samples,
    Seed,
    Temperature,
    TokenBudget,
    json_problem,
)

T = TypeVar("T")


class RequestBody(BaseModel):
    """Base of request bodies: refused up front are text Postgres cannot store (NUL, lone UTF-16
    surrogates, which no UTF-8 encoder accepts either) and JSON nested deeper than
    :data:`~introspect.job_limits.MAX_JSON_DEPTH` (deep values overflow recursive code downstream:
    validators, serializers, the JSON encoder)."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = json_problem(data, MAX_JSON_DEPTH)
        if problem is not None:
            raise ValueError(problem)
        return data


JobStatus = Literal["queued", "running", "waiting_human", "succeeded", "failed", "cancelled"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_PROMPT_CHARS)


class VerifierSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=50)


class JobInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str | None = Field(default=None, min_length=1, max_length=MAX_PROMPT_CHARS)
    messages: list[ChatMessage] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)
    reference: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    verifier: str | VerifierSpec | None = None
    corpus: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)


class JobConfig(BaseModel):
    """The documented options; the runner's parser (``runner/spec.py``) checks the rest with the same
    limits (``introspect.job_limits``)."""

    model_config = ConfigDict(extra="allow")
    max_turns: MaxTurns | None = None
    max_tokens: MaxTokens | None = None
    token_budget: TokenBudget | None = None
    n: Samples | None = None
    temperature: Temperature | None = None
    borda_p: BordaP | None = None
    seed: Seed | None = None
    gate: dict[str, Any] | None = None
    generator_model: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    critic_model: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    escalation_model: str | None = Field(default=None, max_length=MAX_NAME_CHARS)


class CreateJobRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "graph": "self_critique",
                    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
                },
                {
                    "graph": "self_critique",
                    "input": {
                        "prompt": "Give the capital of France as JSON",
                        "verifier": {"name": "regex", "pattern": "Paris"},
                    },
                    "config": {"max_turns": 3, "gate": {"min_self_certainty": 1.0}},
                    "metadata": {"experiment": "demo"},
                },
            ]
        },
    )
    graph: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    input: JobInput
    config: JobConfig = Field(default_factory=JobConfig)
    metadata: dict[str, Any] = Field(default_factory=dict)


JOB_EXAMPLE: dict[str, Any] = {
    "id": "5d0c7f4a-9b1e-4c2d-8e3f-0a1b2c3d4e5f",
    "status": "succeeded",
    "graph": "self_critique",
    "trajectory_id": "9c1e0f7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
    "result": {
        "answer": "The answer is 42.",
        "stop_reason": "verified",
        "success": True,
        "trajectory_id": "9c1e0f7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
        "turns": 2,
    },
    "stop_reason": "verified",
    "turn_count": 2,
    "attempts": 1,
    "error": None,
    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
    "config": {"max_turns": 3},
    "metadata": {},
    "created_at": "2026-12-03T19:00:00Z",
    "updated_at": "2026-12-03T19:00:02Z",
    "finished_at": "2026-12-03T19:00:02Z",
}


class JobResource(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [JOB_EXAMPLE]})

    id: uuid.UUID
    status: JobStatus
    graph: str
    trajectory_id: uuid.UUID | None
    result: dict[str, Any] | None
    stop_reason: str | None
    turn_count: int
    attempts: int
    error: str | None
    input: dict[str, Any]
    config: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class Page(BaseModel, Generic[T]):
    """A keyset page: pass ``next_cursor`` back as ``cursor`` for the next one (null: the last)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": [], "next_cursor": "MjAyNi0xMi0wM1QxOTowMDowMHw1ZDBj"}]}
    )

    data: list[T]
    next_cursor: str | None


class ResumeRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"answer": "The answer is 42."}]}
    )
    answer: str = Field(min_length=1, max_length=100_000)
    comment: str | None = Field(default=None, max_length=10_000)


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=1000)
    content: str = Field(min_length=1, max_length=1_000_000)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentsRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"documents": [{"title": "Paris", "content": "Paris is the capital of France."}]}]
        },
    )
    documents: list[DocumentIn] = Field(min_length=1, max_length=1000)


class DocumentsCreated(BaseModel):
    corpus: str
    document_ids: list[int]


class CorpusResource(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "facts", "documents": 2, "created_at": "2026-12-03T19:00Z"}]}
    )

    name: str
    documents: int
    created_at: datetime


class HealthStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "checks": {"database": "ok", "redis": "ok"}}]}
    )

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    detail: str | list[Any]


class CreateBatchRequest(RequestBody):
    """A dataset to run: one job per row. The same ``name`` continues the same batch."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "arith-v1",
                    "graph": "self_critique",
                    "config": {"max_turns": 3},
                    "rows": [
                        {"id": "1", "prompt": "What is 17 + 25?", "reference": "42"},
                        {"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"},
                    ],
                }
            ]
        },
    )
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:@-]+$")
    graph: str = Field(default="self_critique", min_length=1, max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict, max_length=20)
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    metadata: dict[str, Any] = Field(default_factory=dict)
    retry_failed: bool = False


BatchStatus = Literal["queued", "running", "finished", "cancelled"]


class BatchResource(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
                    "name": "gsm8k-dev",
                    "status": "running",
                    "graph": "self_critique",
                    "config": {"max_turns": 3},
                    "metadata": {},
                    "source_sha256": None,
                    "row_count": 100,
                    "counts": {"queued": 60, "running": 2, "succeeded": 38},
                    "cancel_requested": False,
                    "created_at": "2026-12-03T19:00:00Z",
                    "updated_at": "2026-12-03T19:01:00Z",
                    "jobs_created": 100,
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    status: BatchStatus
    graph: str
    config: dict[str, Any]
    metadata: dict[str, Any]
    source_sha256: str | None
    row_count: int
    counts: dict[str, int]
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    jobs_created: int | None = Field(default=None, description="On create: jobs this request added.")
