"""GET /info: what LangGraph Studio and clients read to learn the server's capabilities."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

import introspect
from introspect.api.openapi_examples import example

router = APIRouter(tags=["agent-protocol: info"])

FLAGS = {"assistants": True, "crons": False, "langsmith": False, "store": False, "strict_resume": False}


@router.get(
    "/info",
    summary="Server version and capability flags",
    responses=example({"version": "0.1.0", "flags": FLAGS}),
)
def info() -> dict[str, Any]:
    return {"version": introspect.__version__, "server": "introspect", "flags": FLAGS}
