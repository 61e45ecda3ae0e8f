"""The escalation inbox: jobs waiting for a human answer; answering resumes the job."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from introspect.admin.forms import read_form
from introspect.admin.identity import AdminDep
from introspect.admin.pages.detail import not_found, parse_uuid
from introspect.admin.queries.inbox import waiting_jobs
from introspect.admin.templating import render
from introspect.api.deps import DispatcherDep, SessionFactoryDep
from introspect.api.schemas import ResumeRequest
from introspect.api.services.jobs import ConflictError, NotFoundError, resume_job
from introspect.store.engine import transaction

router = APIRouter()


@router.get("/inbox")
def inbox(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    with transaction(factory) as session:
        items = waiting_jobs(session)
        return render(
            request,
            "inbox.html",
            {"items": items, "answered": request.query_params.get("answered")},
            identity=admin,
        )


@router.post("/inbox/{job_id}/answer")
async def answer(
    job_id: str, request: Request, admin: AdminDep, factory: SessionFactoryDep, dispatcher: DispatcherDep
) -> Response:
    jid = parse_uuid(job_id)
    if jid is None:
        return not_found(request, admin, "No job has that id.")
    form = await read_form(request)
    try:
        body = ResumeRequest(
            answer=form.get("answer", "").strip(), comment=form.get("comment", "").strip() or None
        )
    except ValidationError:
        message = "The answer must be between 1 and 100,000 characters (comment up to 10,000)."
        return render(
            request,
            "error.html",
            {"title": "Answer not sent", "message": message},
            identity=admin,
            status_code=422,
        )
    try:
        await run_in_threadpool(resume_job, factory, jid, body)
    except NotFoundError:
        return not_found(request, admin, "No job has that id.")
    except ConflictError as exc:
        return render(
            request,
            "error.html",
            {"title": "Already answered", "message": str(exc)},
            identity=admin,
            status_code=409,
        )
    # After the commit, as the REST resume does: a lost wake-up only delays the job (workers poll).
    await dispatcher.enqueue(jid)
    return RedirectResponse(f"/admin/inbox?answered={uuid.UUID(str(jid))}", status_code=303)
