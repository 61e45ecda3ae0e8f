"""The export page: pick a format and filters, download the file.

Parsing, validation and streaming are the export package's own (``ExportQuery`` is the REST
endpoint's parameter model, ``stream_export`` its streamer), so the page and ``GET /v1/exports`` can
never disagree about what a parameter means.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from introspect.admin.identity import AdminDep
from introspect.admin.templating import render
from introspect.api.deps import SessionFactoryDep
from introspect.export import DEFAULT_TAU, FORMATS, ExportParameterError, get_format, stream_export
from introspect.export.api import ExportQuery
from introspect.export.options import KEEP_CHOICES

router = APIRouter()


def _form_context(params: dict[str, str], error: str | None) -> dict[str, Any]:
    return {
        "formats": list(FORMATS.values()),
        "keep_choices": KEEP_CHOICES,
        "params": params,
        "error": error,
        "default_tau": DEFAULT_TAU,
    }


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


@router.get("/export")
def export_page(request: Request, admin: AdminDep) -> Response:
    return render(request, "export.html", _form_context(dict(request.query_params), None), identity=admin)


@router.get("/export/download")
def export_download(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    params = dict(request.query_params)
    # An empty form field means "no constraint", which ExportQuery spells as an absent parameter.
    fields = {k: v for k, v in params.items() if v != "" and k != "format"}
    try:
        fmt = get_format(params.get("format") or "rise")
        query = ExportQuery.model_validate(fields)
        filters, options = query.filters(), query.options()
    except ExportParameterError as exc:
        return render(
            request, "export.html", _form_context(params, str(exc)), identity=admin, status_code=422
        )
    except ValidationError as exc:
        message = _validation_message(exc)
        return render(request, "export.html", _form_context(params, message), identity=admin, status_code=422)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        stream_export(factory, fmt, filters, options),
        media_type=fmt.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="introspect-{fmt.name}-{stamp}{fmt.suffix}"',
            "X-Export-Format": fmt.name,
        },
    )
