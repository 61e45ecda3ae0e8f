"""The trajectory resource: what ``GET /v1/trajectories/{id}`` and ``introspect run --json`` return.

JSON-safe throughout (ISO 8601 datetimes, string UUIDs); its JSON Schema is generated from the
typed models in ``trajectory_model`` (the API's response model), and tests validate real runs
against it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from introspect.runner.trajectory_model import trajectory_json_schema
from introspect.store.repositories import trajectories
from introspect.store.tables import Critique, Reward, Turn, Verification


@lru_cache(maxsize=1)
def trajectory_schema() -> dict[str, Any]:
    """The resource's JSON Schema (draft 2020-12), generated from ``TrajectoryResource``."""
    return trajectory_json_schema()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _verification(v: Verification) -> dict[str, Any]:
    return {
        "id": str(v.id),
        "verifier": v.verifier,
        "passed": v.passed,
        "score": v.score,
        "message": v.message,
        "details": v.details,
        "created_at": _iso(v.created_at),
    }


def _critique(c: Critique) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "critic": c.critic,
        "verdict": c.verdict,
        "issues": c.issues,
        "feedback": c.feedback,
        "model": c.model,
        "created_at": _iso(c.created_at),
    }


def _reward(r: Reward) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "kind": r.kind,
        "value": r.value,
        "label": r.label,
        "comment": r.comment,
        "source": r.source,
        "turn_id": _id(r.turn_id),
        "created_at": _iso(r.created_at),
    }


def _turn(t: Turn, rewards: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "index": t.index,
        "phase": t.phase,
        "attempt": t.attempt,
        "output": t.output,
        "answer": t.answer,
        "model": t.model,
        "messages": t.messages,
        "prompt_template": t.prompt_template,
        "prompt_hash": t.prompt_hash,
        "stats": t.stats,
        "token_stats": t.token_stats,
        "decision": t.decision,
        "retrieved": t.retrieved,
        "sibling_group": t.sibling_group,
        "selected": t.selected,
        "latency_ms": t.latency_ms,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "created_at": _iso(t.created_at),
        "verifications": [_verification(v) for v in sorted(t.verifications, key=lambda v: v.created_at)],
        "critiques": [_critique(c) for c in sorted(t.critiques, key=lambda c: c.created_at)],
        "rewards": rewards,
    }


def trajectory_resource(session: Session, trajectory_id: uuid.UUID) -> dict[str, Any] | None:
    """The full trajectory with its turns and their judgements; None if there is no such trajectory."""
    trajectory = trajectories.get_trajectory_detail(session, trajectory_id)
    if trajectory is None:
        return None
    rewards = [_reward(r) for r in trajectories.list_rewards(session, trajectory_id)]
    by_turn: dict[str, list[dict[str, Any]]] = {}
    for reward in rewards:
        if reward["turn_id"] is not None:
            by_turn.setdefault(reward["turn_id"], []).append(reward)
    return {
        "trajectory_id": str(trajectory.id),
        "job_id": _id(trajectory.job_id),
        "graph": trajectory.graph,
        "prompt": trajectory.task_prompt,
        "messages": trajectory.task_messages,
        "task_hash": trajectory.task_hash,
        "reference": trajectory.reference,
        "verifier": trajectory.verifier,
        "answer": trajectory.final_answer,
        "stop_reason": trajectory.stop_reason,
        "success": trajectory.success,
        "outcome_reward": trajectory.outcome_reward,
        "models": trajectory.models,
        "total_tokens": trajectory.total_tokens,
        "total_latency_ms": trajectory.total_latency_ms,
        "metadata": trajectory.meta,
        "created_at": _iso(trajectory.created_at),
        "finished_at": _iso(trajectory.finished_at),
        "rewards": [r for r in rewards if r["turn_id"] is None],
        "turns": [_turn(t, by_turn.get(str(t.id), [])) for t in trajectory.turns],
    }
