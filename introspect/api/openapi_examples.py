"""OpenAPI ``responses=`` entries with an example body: one spelling for every face's routes."""

from __future__ import annotations

from typing import Any

Responses = dict[int | str, dict[str, Any]]


def example(
    value: Any, status: int = 200, media_type: str = "application/json", description: str | None = None
) -> Responses:
    entry: dict[str, Any] = {"content": {media_type: {"example": value}}}
    if description is not None:
        entry["description"] = description
    return {status: entry}


def sse_example(text: str, description: str = "Server-Sent Events") -> Responses:
    return example(text, media_type="text/event-stream", description=description)
