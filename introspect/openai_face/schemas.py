"""OpenAI chat-completions request body, with Introspect's inputs as extension fields.

``reference``, ``verifier``, ``corpus``, ``max_turns``, ``gate`` and ``config`` come at the top level
(the OpenAI client's ``extra_body``) or inside ``metadata`` (where OpenAI's client wants string
values: JSON text is parsed). Other OpenAI options that have no meaning here are accepted and
ignored, except the ones whose silent loss would surprise (tools, n > 1): those are a 422.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from introspect.api.schemas import RequestBody

EXTENSION_KEYS = ("reference", "verifier", "corpus", "max_turns", "gate", "config")

CHAT_EXAMPLE: dict[str, Any] = {
    "model": "introspect/self_critique",
    "messages": [{"role": "user", "content": "What is 17 + 25?"}],
    "reference": "42",
    "verifier": "numeric",
    "max_turns": 3,
}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        if any(p.type != "text" for p in self.content):
            raise ValueError("only text content parts are supported")
        return "".join(p.text or "" for p in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(RequestBody):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [CHAT_EXAMPLE]})
    model: str = Field(min_length=1, max_length=120)
    messages: list[Message] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0, le=2)
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    metadata: dict[str, Any] | None = None
    user: str | None = Field(default=None, max_length=200)
    tools: list[Any] | None = Field(default=None, max_length=0)
    # Extension fields (extra_body).
    reference: str | None = Field(default=None, max_length=100_000)
    verifier: str | dict[str, Any] | None = None
    corpus: str | None = Field(default=None, min_length=1, max_length=100)
    max_turns: int | None = Field(default=None, ge=1, le=20)
    gate: dict[str, Any] | None = None
    config: dict[str, Any] | None = None

    def extensions(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(Introspect inputs, the rest of ``metadata``): top-level fields win over metadata."""
        meta = dict(self.metadata or {})
        found: dict[str, Any] = {}
        for key in EXTENSION_KEYS:
            if key in meta:
                found[key] = _parsed(key, meta.pop(key))
            value = getattr(self, key)
            if value is not None:
                found[key] = value
        return found, meta


def _parsed(key: str, value: Any) -> Any:
    """Metadata values are strings in OpenAI's API: numbers and objects arrive as JSON text."""
    if not isinstance(value, str) or key in ("reference", "corpus"):
        return value
    if key == "verifier" and not value.lstrip().startswith("{"):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"metadata.{key} must be JSON text") from exc
