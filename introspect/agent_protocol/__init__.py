"""The LangGraph Agent Protocol face: the subset of the LangGraph Server API that ``langgraph-sdk``
uses (assistants, threads, runs, SSE streaming), mounted at the root as the SDK expects. Every run
is an Introspect job; this face sits on the job services and imports no other face."""

from __future__ import annotations

from fastapi import APIRouter

from introspect.agent_protocol import assistants, info, runs, threads

router = APIRouter()
router.include_router(info.router)
router.include_router(assistants.router)
router.include_router(threads.router)
router.include_router(runs.router)

__all__ = ["router"]
