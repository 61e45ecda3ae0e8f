"""/v1/models and /v1/chat/completions in OpenAI's shapes; ``stream: true`` answers as OpenAI SSE
chunks: turn progress in the ``introspect`` extension field, the final answer as content."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from introspect.api.deps import CallerDep, DispatcherDep, EngineDep, SessionFactoryDep
from introspect.api.event_follow import open_follow
from introspect.openai_face import service
from introspect.openai_face.schemas import ChatCompletionRequest
from introspect.openai_face.settle import SETTLED, error_response, settled
from introspect.runner.graphs import GRAPHS
from introspect.store.tables import Job

router = APIRouter(tags=["openai"])

COMPLETION_EXAMPLE = {
    "id": "chatcmpl-5d0c7f4a9b1e4c2d8e3f0a1b2c3d4e5f",
    "object": "chat.completion",
    "created": 1767225600,
    "model": "introspect/self_critique",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "The answer is 42."},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30},
    "introspect": {
        "job_id": "5d0c7f4a-9b1e-4c2d-8e3f-0a1b2c3d4e5f",
        "status": "succeeded",
        "trajectory_id": "9c1e0f7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
        "turns": 2,
        "stop_reason": "verified",
        "success": True,
    },
}
_MODELS = {"object": "list", "data": [service.model_resource(g) for g in ("self_critique", "best_of_n")]}


@router.get(
    "/models",
    summary="The graphs, as models",
    responses={200: {"content": {"application/json": {"example": _MODELS}}}},
)
def list_models(_caller: CallerDep) -> dict[str, Any]:
    return {"object": "list", "data": [service.model_resource(g) for g in GRAPHS]}


@router.get(
    "/models/{model:path}",
    summary="One graph, as a model",
    responses={200: {"content": {"application/json": {"example": _MODELS["data"][0]}}}},
)
def get_model(model: str, _caller: CallerDep) -> dict[str, Any]:
    return service.model_resource(service.graph_of(model))


@router.post(
    "/chat/completions",
    summary="Run a graph on the conversation and answer in OpenAI's format",
    responses={
        200: {
            "content": {
                "application/json": {"example": COMPLETION_EXAMPLE},
                "text/event-stream": {
                    "example": 'data: {"object": "chat.completion.chunk", ...}\n\ndata: [DONE]\n\n'
                },
            }
        }
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    caller: CallerDep,
    factory: SessionFactoryDep,
    engine: EngineDep,
    dispatcher: DispatcherDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> Response:
    created = await run_in_threadpool(service.create, factory, body, idempotency_key, caller)
    if created.created:
        await dispatcher.enqueue(created.job.id)
    job_id = created.job.id
    if body.stream:
        return EventSourceResponse(_chunks(request, engine, factory, body, job_id), ping=15, sep="\n")
    job = await settled(request, factory, job_id)
    if job is None:
        return Response(status_code=499)
    error = error_response(job)
    if error is not None:
        return error
    done = await run_in_threadpool(service.outcome, factory, job, body.top_logprobs, body.logprobs)
    message = {"role": "assistant", "content": done.content, "refusal": None}
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": "stop",
        "logprobs": None if done.logprobs is None else {"content": done.logprobs, "refusal": None},
    }
    return JSONResponse(
        {
            "id": service.completion_id(job_id),
            "object": "chat.completion",
            "created": int(job.created_at.timestamp()),
            "model": service.model_id(job.graph),
            "choices": [choice],
            "usage": done.usage,
            "system_fingerprint": None,
            "introspect": done.extension,
        },
        headers={"Location": f"/v1/jobs/{job_id}"},
    )


def _chunk(
    job_id: uuid.UUID,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish: str | None = None,
    **extra: Any,
) -> dict[str, str]:
    payload = {
        "id": service.completion_id(job_id),
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": extra.pop("logprobs", None)}
        ],
        **extra,
    }
    return {"data": json.dumps(payload, default=str)}


async def _chunks(
    request: Request, engine: Any, factory: Any, body: ChatCompletionRequest, job_id: uuid.UUID
) -> AsyncIterator[dict[str, str]]:
    model, created = service.model_id(service.graph_of(body.model)), service.now()
    yield _chunk(
        job_id, model, created, {"role": "assistant", "content": ""}, introspect={"job_id": str(job_id)}
    )
    follow = await open_follow(request, engine, job_id)
    job: Job | None = None
    if follow is not None:
        try:
            async for event in follow.events():
                kind, data = event["event"], event["data"]
                if kind == "turn_finished":
                    yield _chunk(job_id, model, created, {}, introspect={"event": kind, **data})
                elif kind == "status" and data.get("status") in SETTLED:
                    current = await run_in_threadpool(service.load_job, factory, job_id)
                    if current.status in SETTLED:
                        job = current
                        break
        finally:
            await follow.close()
    if job is None:
        return  # the client left, or the job vanished
    error = error_response(job)
    if error is not None:
        yield {"data": bytes(error.body).decode()}
        yield {"data": "[DONE]"}
        return
    done = await run_in_threadpool(service.outcome, factory, job, body.top_logprobs, body.logprobs)
    logprobs = None if done.logprobs is None else {"content": done.logprobs, "refusal": None}
    yield _chunk(job_id, model, created, {"content": done.content}, logprobs=logprobs)
    yield _chunk(job_id, model, created, {}, "stop", introspect=done.extension)
    if body.stream_options is not None and body.stream_options.include_usage:
        yield {
            "data": json.dumps(
                {
                    "id": service.completion_id(job_id),
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": done.usage,
                }
            )
        }
    yield {"data": "[DONE]"}
