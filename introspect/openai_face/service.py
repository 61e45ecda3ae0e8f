"""Chat completions as jobs: the request becomes ``POST /v1/jobs``'s job (same validation,
idempotency, worker and trajectory); the answer comes back in OpenAI's shapes, with ``usage``
summed over every turn and ``logprobs`` read from the final answer's stored per-token statistics."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.auth import Caller
from introspect.api.schemas import CreateJobRequest
from introspect.api.services import jobs as job_service
from introspect.api.services.jobs import Created, NotFoundError
from introspect.openai_face.schemas import ChatCompletionRequest
from introspect.runner.errors import JobValidationError
from introspect.runner.graphs import GRAPHS
from introspect.store.engine import transaction
from introspect.store.tables import Job, Trajectory, Turn
from introspect.uncertainty.token_stats import TokenStats

MODEL_PREFIX = "introspect/"
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
CREATED = 1_767_225_600  # 2026-01-01: the graphs are part of the deployment


def model_id(graph: str) -> str:
    return MODEL_PREFIX + graph


def model_resource(graph: str) -> dict[str, Any]:
    return {"id": model_id(graph), "object": "model", "created": CREATED, "owned_by": "introspect"}


def graph_of(model: str) -> str:
    graph = model.removeprefix(MODEL_PREFIX)
    if graph not in GRAPHS:
        known = ", ".join(model_id(g) for g in GRAPHS)
        raise NotFoundError(f"model {model!r} not found; models: {known}")
    return graph


def job_request(body: ChatCompletionRequest) -> CreateJobRequest:
    graph = graph_of(body.model)
    try:
        extensions, meta = body.extensions()
        messages = []
        for m in body.messages:
            role = ROLES.get(m.role)
            if role is None:
                raise ValueError(f"messages with role {m.role!r} are not supported")
            messages.append({"role": role, "content": m.text()})
    except ValueError as exc:
        raise JobValidationError(str(exc)) from exc
    config: dict[str, Any] = dict(extensions.get("config") or {})
    for key in ("max_turns", "gate"):
        if key in extensions:
            config[key] = extensions[key]
    max_tokens = body.max_completion_tokens or body.max_tokens
    for key, value in (("max_tokens", max_tokens), ("temperature", body.temperature), ("seed", body.seed)):
        if value is not None:
            config.setdefault(key, value)
    job_input: dict[str, Any] = {
        "messages": messages,
        **{k: extensions[k] for k in ("reference", "verifier", "corpus") if k in extensions},
    }
    if body.user:
        meta.setdefault("user", body.user)
    try:
        return CreateJobRequest.model_validate(
            {"graph": graph, "input": job_input, "config": config, "metadata": {"face": "openai", **meta}}
        )
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise JobValidationError(where) from exc


def create(
    factory: sessionmaker[Session], body: ChatCompletionRequest, key: str | None, caller: Caller
) -> Created:
    return job_service.create_job(factory, job_request(body), idempotency_key=key, api_key_id=caller.key_id)


def load_job(factory: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with transaction(factory) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        return job


@dataclass(frozen=True)
class Outcome:
    job: Job
    content: str
    usage: dict[str, int]
    logprobs: list[dict[str, Any]] | None  # None: not requested, or no per-token stats stored
    extension: dict[str, Any]


def outcome(
    factory: sessionmaker[Session], job: Job, top_logprobs: int | None, want_logprobs: bool
) -> Outcome:
    result = job.result or {}
    trajectory_id = result.get("trajectory_id")
    prompt = completion = 0
    logprobs = None
    content = result.get("answer") or ""
    with transaction(factory) as session:
        traj_id = _trajectory(session, job.id) if trajectory_id is None else uuid.UUID(str(trajectory_id))
        if traj_id is not None:
            sums = session.execute(
                select(func.sum(Turn.prompt_tokens), func.sum(Turn.completion_tokens)).where(
                    Turn.trajectory_id == traj_id
                )
            ).one()
            prompt, completion = int(sums[0] or 0), int(sums[1] or 0)
            if want_logprobs and content:
                logprobs = _final_logprobs(session, traj_id, content, top_logprobs or 0)
    extension = {
        "job_id": str(job.id),
        "status": job.status,
        "trajectory_id": None if traj_id is None else str(traj_id),
        "turns": result.get("turns"),
        "stop_reason": result.get("stop_reason"),
        "success": result.get("success"),
    }
    if job.status == "waiting_human":
        extension["interrupt"] = result.get("interrupt")
        extension["resume"] = f"/v1/jobs/{job.id}/resume"
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return Outcome(job, content, usage, logprobs, extension)


def _trajectory(session: Session, job_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(select(Trajectory.id).where(Trajectory.job_id == job_id).limit(1))


def _final_logprobs(
    session: Session, trajectory_id: uuid.UUID, content: str, top: int
) -> list[dict[str, Any]] | None:
    """The per-token log-probs of the turn that wrote the final answer (the selected one among
    Best-of-N siblings), when its model stored tokens with them."""
    turns = session.scalars(
        select(Turn).where(Turn.trajectory_id == trajectory_id, Turn.output == content).order_by(Turn.index)
    ).all()
    if not turns:
        return None
    turn = next((t for t in reversed(turns) if t.selected), turns[-1])
    if not turn.token_stats or not turn.token_stats.get("tokens"):
        return None
    stats = TokenStats.from_compact(turn.token_stats)
    tokens = _answer_tokens(list(stats.tokens or []), content)
    entries = []
    for i, token in enumerate(tokens):
        alternatives = []
        if top and stats.top_logprobs is not None and stats.top_tokens is not None:
            for alt, lp in list(zip(stats.top_tokens[i], stats.top_logprobs[i], strict=False))[:top]:
                alternatives.append({"token": alt, "logprob": _finite(lp), "bytes": list(str(alt).encode())})
        entries.append(
            {
                "token": token,
                "logprob": _finite(stats.logprob[i]),
                "bytes": list(str(token).encode()),
                "top_logprobs": alternatives,
            }
        )
    return entries


def _answer_tokens(tokens: list[str], content: str) -> list[str]:
    """The tokens that spell the answer: a local model's stats also cover its end-of-turn token,
    which OpenAI's logprobs leave out (as the message content does)."""
    text = ""
    for i, token in enumerate(tokens):
        text += token
        if text == content:
            return tokens[: i + 1]
    return tokens


def _finite(value: Any) -> float:
    number = float(value)
    return number if number == number and abs(number) != float("inf") else -9999.0


def completion_id(job_id: uuid.UUID) -> str:
    return f"chatcmpl-{job_id.hex}"


def now() -> int:
    return int(time.time())
