"""/v1/trajectories: filtered keyset pages of summaries, and one whole trajectory (shaped like
``introspect run --json``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from introspect.api.deps import CallerDep, SessionFactoryDep
from introspect.api.openapi_examples import example
from introspect.api.routes.jobs import ERRORS
from introspect.api.schemas import Page
from introspect.api.services import trajectories as service
from introspect.runner.trajectory_model import TrajectoryResource, TrajectorySummary
from introspect.store.repositories.trajectory_search import TrajectoryQuery

router = APIRouter(prefix="/trajectories", tags=["trajectories"])

SUMMARY_EXAMPLE = {
    "trajectory_id": "9c1e0f7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
    "job_id": "5d0c7f4a-9b1e-4c2d-8e3f-0a1b2c3d4e5f",
    "graph": "self_critique",
    "prompt": "What is 17 + 25?",
    "answer": "The answer is 42.",
    "stop_reason": "verified",
    "success": True,
    "outcome_reward": 1.0,
    "models": ["local"],
    "total_tokens": 90,
    "turn_count": 2,
    "batch_id": None,
    "metadata": {},
    "created_at": "2026-12-03T19:00:00+00:00",
    "finished_at": "2026-12-03T19:00:02+00:00",
}
TRAJECTORY_EXAMPLE = {
    **{k: v for k, v in SUMMARY_EXAMPLE.items() if k not in ("turn_count", "batch_id")},
    "messages": [],
    "task_hash": "0" * 64,
    "reference": "42",
    "verifier": {"name": "numeric"},
    "total_latency_ms": 812.5,
    "rewards": [{"kind": "outcome", "value": 1.0, "label": True, "source": "verifier"}],
    "turns": [
        {
            "index": 0,
            "phase": "generate",
            "attempt": 1,
            "output": "The answer is 42.",
            "model": "local",
            "stats": {"n_tokens": 6, "mean_self_certainty": 6.1, "regime": "confident"},
            "decision": {"action": "stop", "reason": "verified", "inputs": {}, "thresholds": {}},
            "verifications": [
                {"verifier": "numeric", "passed": True, "score": 1.0, "message": None, "details": {}}
            ],
            "critiques": [],
            "rewards": [],
        }
    ],
}
Slug = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_.:/@+-]+$")]


@router.get(
    "",
    response_model=Page[TrajectorySummary],
    responses={**ERRORS, **example({"data": [SUMMARY_EXAMPLE], "next_cursor": None})},
    summary="List trajectories, newest first: filters, text search, cursor pages",
)
def list_trajectories(
    _caller: CallerDep,
    factory: SessionFactoryDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    graph: Slug = None,
    model: Slug = None,
    batch: Annotated[str | None, Query(max_length=200, description="batch name or id")] = None,
    success: bool | None = None,
    stop_reason: Slug = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    q: Annotated[str | None, Query(max_length=500, description="words in the prompt or answer")] = None,
) -> Page[TrajectorySummary]:
    query = TrajectoryQuery(
        graph=graph,
        model=model,
        batch=batch,
        success=success,
        stop_reason=stop_reason,
        created_after=_aware(created_after),
        created_before=_aware(created_before),
        q=q,
    )
    return service.list_trajectories(factory, query, limit=limit, cursor=cursor)


@router.get(
    "/{trajectory_id}",
    response_model=TrajectoryResource,
    responses={**ERRORS, **example(TRAJECTORY_EXAMPLE)},
    summary="A whole trajectory: turns with stats, gate decisions, verifications, critiques, rewards",
)
def get_trajectory(
    trajectory_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep
) -> dict[str, Any]:
    return service.get_trajectory(factory, trajectory_id)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
