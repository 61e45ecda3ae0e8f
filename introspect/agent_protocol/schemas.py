"""Request bodies of the Agent Protocol routes, as langgraph-sdk 0.4 sends them.

Options the SDK may send that have no meaning for a durable job (webhooks, checkpoints, interrupt
lists, durability) are accepted and ignored: the job is checkpointed after every node anyway.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import ConfigDict, Field

from introspect.api.schemas import RequestBody

StreamMode = Literal["values", "updates", "events"]
STREAM_MODES: tuple[str, ...] = ("values", "updates", "events")

RUN_EXAMPLE: dict[str, Any] = {
    "assistant_id": "self_critique",
    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
    "config": {"configurable": {"max_turns": 3}},
    "stream_mode": ["updates"],
}


class ThreadCreate(RequestBody):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"metadata": {"user": "ada"}}]})
    thread_id: uuid.UUID | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"


class ThreadSearch(RequestBody):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"metadata": {"user": "ada"}}]})
    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class HistoryRequest(RequestBody):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"limit": 10}]})
    limit: int = Field(default=10, ge=1, le=1000)


class RunCreate(RequestBody):
    """``input`` is the REST job input; ``config.configurable`` and ``context`` carry the job config;
    ``command.resume`` answers the thread's pending escalation (a string, or ``{"answer", "comment"}``)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [RUN_EXAMPLE]})
    assistant_id: str = Field(min_length=1, max_length=100)
    input: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    stream_mode: StreamMode | list[StreamMode] = "values"
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] = "reject"
    if_not_exists: Literal["reject", "create"] = "reject"
    on_disconnect: Literal["cancel", "continue"] = "continue"

    def modes(self) -> list[str]:
        return [self.stream_mode] if isinstance(self.stream_mode, str) else list(self.stream_mode)
