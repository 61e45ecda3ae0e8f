"""Jobs: the newest jobs by status, and one job's error, attempts, event log and runs."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from introspect.admin.identity import AdminDep
from introspect.admin.pages.detail import not_found, parse_uuid
from introspect.admin.queries.jobs import job_rows, load_job
from introspect.admin.templating import render
from introspect.api.cursor import InvalidCursorError, decode_cursor, encode_cursor
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction
from introspect.store.tables import JOB_STATUSES

router = APIRouter()
PAGE_SIZE = 50


@router.get("/jobs")
def jobs_list(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    status = request.query_params.get("status") or None
    errors: list[str] = []
    if status is not None and status not in JOB_STATUSES:
        errors.append(f"status: choose one of {', '.join(JOB_STATUSES)}")
        status = None
    after = None
    if cursor := request.query_params.get("cursor"):
        try:
            after = decode_cursor(cursor)
        except InvalidCursorError:
            errors.append("that page link is no longer valid; showing the newest jobs")
    with transaction(factory) as session:
        rows = job_rows(session, status=status, limit=PAGE_SIZE + 1, after=after)
        page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
        next_url = None
        if more and page:
            query = {"cursor": encode_cursor(page[-1].job.created_at, page[-1].job.id)}
            if status:
                query["status"] = status
            next_url = "/admin/jobs?" + urlencode(query)
        return render(
            request,
            "jobs.html",
            {
                "rows": page,
                "status": status or "",
                "statuses": JOB_STATUSES,
                "errors": errors,
                "next_url": next_url,
            },
            identity=admin,
        )


@router.get("/jobs/{job_id}")
def job_detail(job_id: str, request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    jid = parse_uuid(job_id)
    if jid is None:
        return not_found(request, admin, "No job has that id.")
    with transaction(factory) as session:
        bundle = load_job(session, jid)
        if bundle is None:
            return not_found(request, admin, "No job has that id.")
        return render(request, "job.html", {"b": bundle}, identity=admin)
