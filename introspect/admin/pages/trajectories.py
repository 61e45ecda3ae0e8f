"""The trajectory list page: filters in the query string, keyset pagination by an opaque cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from introspect.admin.identity import AdminDep
from introspect.admin.queries.trajectories import (
    SuccessFilter,
    TrajectoryFilters,
    batch_names,
    distinct_values,
    list_trajectories,
)
from introspect.admin.templating import render
from introspect.api.cursor import InvalidCursorError, decode_cursor, encode_cursor
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction
from introspect.store.tables import JOB_STATUSES
from introspect.store.types import as_utc

router = APIRouter()

PAGE_SIZE = 50
_LAST_DAY = datetime(9999, 12, 31, tzinfo=UTC)  # "up to the end of" it would overflow
FILTER_FIELDS = (
    "q",
    "status",
    "graph",
    "stop_reason",
    "decision",
    "success",
    "model",
    "date_from",
    "date_to",
    "meta",
    "tag",
)


def _date(value: str, errors: list[str], name: str) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        errors.append(f"{name}: not a date (YYYY-MM-DD) in range")
        return None


def parse_filters(params: dict[str, str], errors: list[str]) -> TrajectoryFilters:
    success = params.get("success") or None
    if success not in (None, "yes", "no", "unknown"):
        errors.append("success: choose yes, no or unknown")
        success = None
    date_to = _date(params.get("date_to", ""), errors, "to")
    if date_to is not None and len(params.get("date_to", "")) <= 10 and date_to < _LAST_DAY:
        date_to += timedelta(days=1)  # a bare date means "up to the end of that day"
    return TrajectoryFilters(
        status=params.get("status") or None,
        graph=params.get("graph") or None,
        stop_reason=params.get("stop_reason") or None,
        decision=params.get("decision") or None,
        success=cast(SuccessFilter | None, success),
        model=params.get("model") or None,
        created_from=_date(params.get("date_from", ""), errors, "from"),
        created_to=date_to,
        q=(params.get("q") or "").strip()[:500] or None,
        meta=(params.get("meta") or "").strip()[:200] or None,
        tag=(params.get("tag") or "").strip()[:200] or None,
    )


@router.get("/", include_in_schema=False)
def admin_home(_admin: AdminDep) -> Response:
    return RedirectResponse("/admin/trajectories", status_code=303)


@router.get("/trajectories")
def trajectory_list(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    params = {k: request.query_params.get(k, "") for k in FILTER_FIELDS}
    errors: list[str] = []
    filters = parse_filters(params, errors)
    after = None
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            after = decode_cursor(cursor)
        except InvalidCursorError:
            errors.append("that page link is no longer valid; showing the newest trajectories")
    with transaction(factory) as session:
        rows = list_trajectories(session, filters, limit=PAGE_SIZE + 1, after=after)
        options: dict[str, Any] = {
            name: distinct_values(session, name) for name in ("graph", "stop_reason", "model", "decision")
        }
        options["tag"] = batch_names(session)
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    active = {k: v for k, v in params.items() if v}
    next_url = None
    if more and page:
        query = {**active, "cursor": encode_cursor(page[-1].created_at, page[-1].id)}
        next_url = "/admin/trajectories?" + urlencode(query)
    options["status"] = list(JOB_STATUSES)
    return render(
        request,
        "list.html",
        {
            "rows": page,
            "params": params,
            "options": options,
            "errors": errors,
            "next_url": next_url,
            "first_url": "/admin/trajectories?" + urlencode(active) if cursor else None,
        },
        identity=admin,
    )
