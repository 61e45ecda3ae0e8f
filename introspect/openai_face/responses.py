"""POST /v1/responses (OpenAI's Responses API), without streaming: the request becomes the same job
as a chat completion, and the answer comes back as one ``output_text`` message with the
``introspect`` extension field. Streaming stays with ``/v1/chat/completions``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from introspect.api.deps import CallerDep, DispatcherDep, SessionFactoryDep
from introspect.api.openapi_examples import example
from introspect.api.schemas import RequestBody
from introspect.openai_face import service
from introspect.openai_face.schemas import ChatCompletionRequest
from introspect.openai_face.settle import error_response, settled
from introspect.runner.errors import JobValidationError

router = APIRouter(tags=["openai"])

RESPONSE_EXAMPLE = {
    "id": "resp_5d0c7f4a9b1e4c2d8e3f0a1b2c3d4e5f",
    "object": "response",
    "created_at": 1767225600,
    "status": "completed",
    "model": "introspect/self_critique",
    "output": [
        {
            "type": "message",
            "id": "msg_5d0c7f4a9b1e4c2d8e3f0a1b2c3d4e5f",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "The answer is 42.", "annotations": []}],
        }
    ],
    "usage": {"input_tokens": 20, "output_tokens": 10, "total_tokens": 30},
    "introspect": {"job_id": "5d0c7f4a-9b1e-4c2d-8e3f-0a1b2c3d4e5f", "turns": 2, "stop_reason": "verified"},
}


class InputItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = "user"
    content: str | list[dict[str, Any]] = ""

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = []
        for part in self.content:
            if part.get("type") not in ("input_text", "output_text", "text"):
                raise ValueError(f"content parts of type {part.get('type')!r} are not supported")
            parts.append(str(part.get("text", "")))
        return "".join(parts)


class ResponsesRequest(RequestBody):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"model": "introspect/self_critique", "input": "What is 17 + 25?", "reference": "42"}
            ]
        },
    )
    model: str = Field(min_length=1, max_length=120)
    input: str | list[InputItem] = Field(min_length=1)
    instructions: str | None = Field(default=None, max_length=100_000)
    stream: bool = False
    max_output_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0, le=2)
    metadata: dict[str, Any] | None = None
    # Extension fields (extra_body), as for chat completions.
    reference: str | None = Field(default=None, max_length=100_000)
    verifier: str | dict[str, Any] | None = None
    corpus: str | None = Field(default=None, min_length=1, max_length=100)
    max_turns: int | None = Field(default=None, ge=1, le=20)
    gate: dict[str, Any] | None = None
    config: dict[str, Any] | None = None

    def as_chat(self) -> ChatCompletionRequest:
        if self.stream:
            raise JobValidationError("stream is not offered on /v1/responses: use /v1/chat/completions")
        try:
            items = [InputItem(content=self.input)] if isinstance(self.input, str) else self.input
            messages = [{"role": item.role, "content": item.text()} for item in items]
        except ValueError as exc:
            raise JobValidationError(str(exc)) from exc
        if self.instructions:
            messages.insert(0, {"role": "system", "content": self.instructions})
        fields = ("reference", "verifier", "corpus", "max_turns", "gate", "config", "metadata", "temperature")
        try:
            return ChatCompletionRequest.model_validate(
                {
                    "model": self.model,
                    "messages": messages,
                    "max_tokens": self.max_output_tokens,
                    **{k: getattr(self, k) for k in fields if getattr(self, k) is not None},
                }
            )
        except ValidationError as exc:
            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
            raise JobValidationError(where) from exc


@router.post(
    "/responses",
    summary="Run a graph on the input and answer as OpenAI's Responses API does (no streaming)",
    responses=example(RESPONSE_EXAMPLE),
)
async def create_response(
    body: ResponsesRequest,
    request: Request,
    caller: CallerDep,
    factory: SessionFactoryDep,
    dispatcher: DispatcherDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> Response:
    chat = body.as_chat()
    created = await run_in_threadpool(service.create, factory, chat, idempotency_key, caller)
    if created.created:
        await dispatcher.enqueue(created.job.id)
    job = await settled(request, factory, created.job.id)
    if job is None:
        return Response(status_code=499)
    error = error_response(job)
    if error is not None:
        return error
    done = await run_in_threadpool(service.outcome, factory, job, None, False)
    waiting = job.status == "waiting_human"
    usage = done.usage
    return JSONResponse(
        {
            "id": f"resp_{job.id.hex}",
            "object": "response",
            "created_at": int(job.created_at.timestamp()),
            "status": "incomplete" if waiting else "completed",
            "incomplete_details": {"reason": "waiting_human"} if waiting else None,
            "error": None,
            "model": service.model_id(job.graph),
            "output": [
                {
                    "type": "message",
                    "id": f"msg_{job.id.hex}",
                    "status": "incomplete" if waiting else "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": done.content, "annotations": []}],
                }
            ],
            "usage": {
                "input_tokens": usage["prompt_tokens"],
                "output_tokens": usage["completion_tokens"],
                "total_tokens": usage["total_tokens"],
            },
            "metadata": body.metadata or {},
            "introspect": done.extension,
        },
        headers={"Location": f"/v1/jobs/{job.id}"},
    )
