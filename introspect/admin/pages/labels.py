"""Labels: a human marks an answer correct or incorrect, sets a reward, comments (a ``human`` reward)."""

from __future__ import annotations

import math
import uuid

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from introspect.admin.forms import read_form
from introspect.admin.identity import AdminDep
from introspect.admin.pages.detail import not_found, parse_uuid
from introspect.admin.queries.detail import UnknownTurnError, add_human_label
from introspect.admin.templating import render
from introspect.api.deps import SessionFactoryDep
from introspect.export.options import MAX_ABS_REWARD
from introspect.store.engine import transaction

router = APIRouter()

# Rewards feed exp(r / tau) weights (RISE): keep them in a range that cannot overflow an export.
REWARD_RANGE = (-MAX_ABS_REWARD, MAX_ABS_REWARD)  # the export's tau bound relies on it
MAX_COMMENT = 10_000


class LabelError(ValueError):
    pass


def parse_label(form: dict[str, str]) -> tuple[float, bool | None, str | None]:
    verdict = form.get("verdict", "")
    if verdict not in ("correct", "incorrect", ""):
        raise LabelError("verdict must be correct, incorrect or empty")
    label = {"correct": True, "incorrect": False}.get(verdict)
    raw = form.get("value", "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError as exc:
            raise LabelError("reward must be a number") from exc
        if not math.isfinite(value) or not REWARD_RANGE[0] <= value <= REWARD_RANGE[1]:
            raise LabelError(f"reward must lie between {REWARD_RANGE[0]:g} and {REWARD_RANGE[1]:g}")
    elif label is not None:
        value = 1.0 if label else 0.0  # the outcome-reward convention: 1 right, 0 wrong
    else:
        raise LabelError("choose correct/incorrect or give a reward")
    comment = form.get("comment", "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise LabelError(f"comment longer than {MAX_COMMENT} characters")
    return value, label, comment


@router.post("/trajectories/{trajectory_id}/labels")
async def add_label(
    trajectory_id: str, request: Request, admin: AdminDep, factory: SessionFactoryDep
) -> Response:
    tid = parse_uuid(trajectory_id)
    if tid is None:
        return not_found(request, admin, "No trajectory has that id.")
    form = await read_form(request)
    turn_id: uuid.UUID | None = None
    if form.get("turn_id"):
        turn_id = parse_uuid(form["turn_id"])
        if turn_id is None:
            return not_found(request, admin, "No turn has that id.")
    try:
        value, label, comment = parse_label(form)
    except LabelError as exc:
        return render(
            request,
            "error.html",
            {"title": "Label not saved", "message": str(exc)},
            identity=admin,
            status_code=422,
        )

    def save() -> None:
        with transaction(factory) as session:
            add_human_label(
                session, tid, turn_id=turn_id, value=value, label=label, comment=comment, source=admin.source
            )

    try:
        await run_in_threadpool(save)
    except UnknownTurnError as exc:
        return not_found(request, admin, str(exc))
    anchor = f"#turn-{turn_id}" if turn_id else "#labels"
    return RedirectResponse(f"/admin/trajectories/{tid}?labelled=1{anchor}", status_code=303)
