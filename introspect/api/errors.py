"""Error handlers: every user mistake is a 4xx with a readable message, never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError

from introspect.api.cursor import InvalidCursorError
from introspect.api.services.jobs import ConflictError, NotFoundError
from introspect.batches import BatchConflictError, BatchNotFoundError
from introspect.runner.errors import JobValidationError
from introspect.store.repositories.jobs import IdempotencyConflictError

log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{location or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content=_json_safe({"detail": _validation_message(exc), "errors": _brief(exc.errors())}),
        )

    async def _unprocessable(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value the schemas let through (e.g. a NUL byte, an out-of-range
        # number in a filter): the request is at fault, and nothing was written.
        log.info("database rejected a request value: %s", exc)
        return JSONResponse(
            status_code=422, content={"detail": "a value in the request cannot be stored or searched"}
        )

    async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        # The database went away (restart, failover): nothing was committed; the client retries.
        log.warning("database unavailable: %s", exc)
        return JSONResponse(
            status_code=503,
            content={"detail": "the database is unavailable; retry shortly"},
            headers={"Retry-After": "1"},
        )

    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(JobValidationError, _unprocessable)
    app.add_exception_handler(IdempotencyConflictError, _unprocessable)
    app.add_exception_handler(InvalidCursorError, _unprocessable)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(BatchNotFoundError, _not_found)
    app.add_exception_handler(BatchConflictError, _conflict)


def _brief(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Each error's type, location and message, without pydantic's ``input`` echo: that is the
    client's own value, possibly huge or nested past what the encoder can recurse into."""
    return [{"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors[:20]]


def _json_safe(content: Any) -> Any:
    """``content`` as plain JSON values with text the UTF-8 renderer accepts: a lone surrogate the
    client sent (``"\\ud800"`` in a JSON key, echoed in ``loc``) becomes U+FFFD instead of a
    UnicodeEncodeError that turns the 422 into a 500."""
    text = json.dumps(content, default=str, ensure_ascii=False)
    return json.loads(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
