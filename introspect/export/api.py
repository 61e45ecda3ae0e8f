"""``GET /exports/{format}``: an export streamed as JSON Lines (design.md §4, §6).

The lead's app factory mounts this router under ``/v1`` (with auth) and sets
``app.state.session_factory``. Parameters are validated before the first byte is sent, so a bad value
is a 422 naming it, never a broken stream.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from introspect.export.formats import get_format
from introspect.export.manifest import code_version
from introspect.export.options import (
    DEFAULT_EVAL_FRACTION,
    DEFAULT_TAU,
    MIN_TAU,
    ExportFilters,
    ExportOptions,
    ExportParameterError,
)
from introspect.export.stream import stream_export
from introspect.store.types import UtcInput

router = APIRouter(prefix="/exports", tags=["exports"])


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


SessionFactory = Annotated[sessionmaker[Session], Depends(get_session_factory)]


class ExportQuery(BaseModel):
    """Query parameters: the filters, then the format options. Unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    graph: str | None = Field(default=None, max_length=100)
    batch: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    since: UtcInput | None = Field(default=None, description="created_at >= since (ISO 8601; naive = UTC)")
    until: UtcInput | None = Field(default=None, description="created_at < until")
    success: bool | None = Field(default=None, description="after human labels are applied")
    min_reward: float | None = Field(default=None, allow_inf_nan=False)
    has_human_label: bool | None = None
    split: Literal["train", "eval"] | None = None
    eval_fraction: float = Field(default=DEFAULT_EVAL_FRACTION, ge=0.0, le=1.0)
    include_unfinished: bool = False
    tau: float = Field(default=DEFAULT_TAU, ge=MIN_TAU, allow_inf_nan=False)
    keep: Literal["all", "improved", "success"] = "all"
    revision_pairs: bool = False
    dedup: bool = True
    token_stats: bool = False

    def filters(self) -> ExportFilters:
        return ExportFilters(
            graph=self.graph,
            batch=self.batch,
            model=self.model,
            since=self.since,
            until=self.until,
            success=self.success,
            min_reward=self.min_reward,
            has_human_label=self.has_human_label,
            split=self.split,
            eval_fraction=self.eval_fraction,
            include_unfinished=self.include_unfinished,
        )

    def options(self) -> ExportOptions:
        return ExportOptions(
            tau=self.tau,
            keep=self.keep,
            revision_pairs=self.revision_pairs,
            dedup=self.dedup,
            token_stats=self.token_stats,
        )


_JSONL_EXAMPLE = (
    '{"messages": [{"role": "user", "content": "What is 17 + 25?"}, '
    '{"role": "assistant", "content": "The answer is 42."}]}\n'
)


@router.get(
    "/{format}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {"example": _JSONL_EXAMPLE}}}},
)
def export_format(
    format: str, query: Annotated[ExportQuery, Query()], session_factory: SessionFactory
) -> StreamingResponse:
    """Stream one export; ``rise-fastchat`` is a single JSON array, every other format JSON Lines."""
    try:
        fmt = get_format(format)
        filters, options = query.filters(), query.options()
    except ExportParameterError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    version = code_version()
    headers = {
        "Content-Disposition": f'attachment; filename="{fmt.name}{fmt.suffix}"',
        "X-Export-Format": fmt.name,
        "X-Export-Code-Version": f"{version['introspect']}+{version['git_commit'] or 'unknown'}",
    }
    return StreamingResponse(
        stream_export(session_factory, fmt, filters, options), media_type=fmt.media_type, headers=headers
    )
