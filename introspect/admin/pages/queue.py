"""The label queue: one trajectory at a time, labelled correct / incorrect or skipped, with keyboard
shortcuts (c / i / s, handled by the static admin.js; the page works without it)."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from introspect.admin.forms import read_form
from introspect.admin.identity import AdminDep
from introspect.admin.pages.detail import not_found, parse_uuid
from introspect.admin.queries.detail import UnknownTurnError, add_human_label, load_trajectory
from introspect.admin.queries.queue import final_turn_id, queue_items
from introspect.admin.templating import render
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction

router = APIRouter()
MAX_SKIPS = 200  # the skip list rides in the URL: keep it short


def parse_skips(raw: str | None) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for part in (raw or "").split(",")[:MAX_SKIPS]:
        parsed = parse_uuid(part.strip()) if part.strip() else None
        if parsed is not None:
            out.append(parsed)
    return out


def _queue_url(skips: list[uuid.UUID], **extra: str) -> str:
    query = {"skip": ",".join(str(s) for s in skips)} if skips else {}
    return "/admin/queue" + ("?" + urlencode({**query, **extra}) if query or extra else "")


@router.get("/queue")
def label_queue(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    skips = parse_skips(request.query_params.get("skip"))
    with transaction(factory) as session:
        items = queue_items(session, skip=skips)
        current = items[0] if items else None
        bundle = load_trajectory(session, current.trajectory_id) if current else None
        final_turn = None
        if bundle is not None:
            turns = sorted(bundle.trajectory.turns, key=lambda t: t.index)
            final_id = final_turn_id(session, bundle.trajectory.id)
            final_turn = next((t for t in turns if t.id == final_id), None)
        return render(
            request,
            "queue.html",
            {
                "item": current,
                "remaining": len(items),
                "bundle": bundle,
                "final_turn": final_turn,
                "skip_value": ",".join(str(s) for s in skips),
                "skip_url": _queue_url([*skips, current.trajectory_id]) if current else None,
                "done": request.query_params.get("done"),
                "skipped": len(skips),
            },
            identity=admin,
        )


@router.post("/queue/{trajectory_id}")
async def label_from_queue(
    trajectory_id: str, request: Request, admin: AdminDep, factory: SessionFactoryDep
) -> Response:
    tid = parse_uuid(trajectory_id)
    if tid is None:
        return not_found(request, admin, "No trajectory has that id.")
    form = await read_form(request)
    verdict = form.get("verdict", "")
    if verdict not in ("correct", "incorrect"):
        return render(
            request,
            "error.html",
            {"title": "Label not saved", "message": "verdict must be correct or incorrect"},
            identity=admin,
            status_code=422,
        )
    label = verdict == "correct"

    def save() -> None:
        with transaction(factory) as session:
            turn_id = final_turn_id(session, tid)
            add_human_label(
                session, tid, turn_id=turn_id, value=1.0 if label else 0.0, label=label,
                comment=form.get("comment", "").strip()[:10_000] or None, source=admin.source,
            )  # fmt: skip

    try:
        await run_in_threadpool(save)
    except UnknownTurnError as exc:
        return not_found(request, admin, str(exc))
    return RedirectResponse(_queue_url(parse_skips(form.get("skip")), done=verdict), status_code=303)
