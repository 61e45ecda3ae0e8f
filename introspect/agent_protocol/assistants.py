"""Assistants: one per graph of ``langgraph.json``, id = the graph name or a stable UUID.

The UUID is ``uuid5`` of the graph name in a fixed namespace, so it is the same on every replica
and every restart. Schemas show what a run takes -- the REST job's ``input`` and ``config`` -- not
the graph's internal state channels.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from introspect.api.deps import CallerDep
from introspect.api.openapi_examples import example
from introspect.api.schemas import JobConfig, JobInput, RequestBody
from introspect.api.services.jobs import NotFoundError
from introspect.runner.graphs import GRAPHS

NAMESPACE = uuid.UUID("6f1c2b9e-4a0d-5e7f-9c3b-2d8a1e6f4b70")
# Assistants are the deployment's graphs: they exist as long as the code does.
CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
DESCRIPTIONS = {
    "self_critique": "generate → verify → gate → critique → revise, escalating when unsure",
    "best_of_n": "N samples ranked by self-certainty (Kang et al. 2025), optional Borda voting",
}

router = APIRouter(prefix="/assistants", tags=["agent-protocol: assistants"])


def assistant_uuid(graph: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, graph)


def resolve_graph(assistant_id: str) -> str:
    """The graph an assistant id (graph name or UUID) names; NotFoundError (404) otherwise."""
    if assistant_id in GRAPHS:
        return assistant_id
    for graph in GRAPHS:
        if str(assistant_uuid(graph)) == assistant_id.lower():
            return graph
    raise NotFoundError(f"assistant {assistant_id!r} not found; assistants: {', '.join(GRAPHS)}")


def assistant_resource(graph: str) -> dict[str, Any]:
    return {
        "assistant_id": str(assistant_uuid(graph)),
        "graph_id": graph,
        "name": graph,
        "description": DESCRIPTIONS.get(graph),
        "config": {},
        "context": {},
        "metadata": {"created_by": "system", "langgraph_json": True},
        "version": 1,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
    }


def _input_schema() -> dict[str, Any]:
    schema = JobInput.model_json_schema()
    schema["title"] = "Input"
    schema["description"] = "The job input: a 'prompt' or 'messages', plus reference, verifier, corpus."
    return schema


def _config_schema() -> dict[str, Any]:
    schema = JobConfig.model_json_schema()
    schema["title"] = "Configurable"
    schema["description"] = "config.configurable (or context): the job config, e.g. max_turns, gate."
    return schema


def _output_schema() -> dict[str, Any]:
    return {
        "title": "Output",
        "type": "object",
        "description": "The input echoed back with the outcome of the run.",
        "properties": {
            "answer": {"type": ["string", "null"]},
            "stop_reason": {"type": ["string", "null"]},
            "success": {"type": ["boolean", "null"]},
            "trajectory_id": {"type": "string", "format": "uuid"},
            "turns": {"type": "integer"},
        },
    }


def schemas_resource(graph: str) -> dict[str, Any]:
    input_schema = _input_schema()
    return {
        "graph_id": graph,
        "input_schema": input_schema,
        "output_schema": _output_schema(),
        "state_schema": {
            **input_schema,
            "title": "State",
            "properties": {**input_schema.get("properties", {}), **_output_schema()["properties"]},
        },
        "config_schema": _config_schema(),
        "context_schema": _config_schema(),
    }


@lru_cache(maxsize=8)
def _drawing(graph: str) -> dict[str, Any]:
    drawing: dict[str, Any] = GRAPHS[graph].load().compile().get_graph().to_json()
    return drawing


class AssistantSearch(RequestBody):
    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [{"graph_id": "self_critique", "limit": 10}]}
    )
    graph_id: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class AssistantCount(BaseModel):
    model_config = ConfigDict(extra="ignore")
    graph_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None


def _matching(graph_id: str | None, name: str | None, metadata: dict[str, Any] | None) -> list[str]:
    found = []
    for graph in GRAPHS:
        resource = assistant_resource(graph)
        if graph_id and graph != graph_id:
            continue
        if name and name.lower() not in graph.lower():
            continue
        if metadata and any(resource["metadata"].get(k) != v for k, v in metadata.items()):
            continue
        found.append(graph)
    return found


@router.post(
    "/search",
    summary="Search assistants (one per graph of langgraph.json)",
    responses=example([assistant_resource("self_critique")]),
)
def search_assistants(
    _caller: CallerDep, body: Annotated[AssistantSearch | None, Body()] = None
) -> list[dict[str, Any]]:
    body = body or AssistantSearch()
    graphs = _matching(body.graph_id, body.name, body.metadata)
    return [assistant_resource(g) for g in graphs[body.offset : body.offset + body.limit]]


@router.post("/count", summary="Count assistants", responses=example(2))
def count_assistants(_caller: CallerDep, body: Annotated[AssistantCount | None, Body()] = None) -> int:
    body = body or AssistantCount()
    return len(_matching(body.graph_id, body.name, body.metadata))


@router.get(
    "/{assistant_id}",
    summary="Get an assistant by graph name or UUID",
    responses=example(assistant_resource("self_critique")),
)
def get_assistant(assistant_id: str, _caller: CallerDep) -> dict[str, Any]:
    return assistant_resource(resolve_graph(assistant_id))


@router.get(
    "/{assistant_id}/schemas",
    summary="Input, output, state and config schemas: the job input and config",
    responses=example({"graph_id": "self_critique"}),
)
def get_assistant_schemas(assistant_id: str, _caller: CallerDep) -> dict[str, Any]:
    return schemas_resource(resolve_graph(assistant_id))


@router.get(
    "/{assistant_id}/graph",
    summary="The graph's nodes and edges",
    responses=example({"nodes": [{"id": "generate"}], "edges": []}),
)
async def get_assistant_graph(
    assistant_id: str, _caller: CallerDep, xray: Annotated[int | bool, Query()] = False
) -> dict[str, Any]:
    graph = resolve_graph(assistant_id)
    return await run_in_threadpool(_drawing, graph)
