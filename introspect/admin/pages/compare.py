"""Two trajectories side by side (two models, or two runs, on the same task): their attempts, gate
decisions and final answers, with a word diff of the final answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from introspect.admin.identity import AdminDep
from introspect.admin.pages.detail import parse_uuid
from introspect.admin.queries.detail import load_trajectory
from introspect.admin.templating import render
from introspect.admin.views.detail import build_detail
from introspect.admin.views.diff import word_diff
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction
from introspect.store.tables import Trajectory

router = APIRouter()


@router.get("/compare")
def compare(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    errors: list[str] = []
    ids = []
    for name in ("a", "b"):
        raw = (request.query_params.get(name) or "").strip()
        parsed = parse_uuid(raw) if raw else None
        if raw and parsed is None:
            errors.append(f"{name}: not a trajectory id")
        ids.append(parsed)
    with transaction(factory) as session:
        views: list[Any] = []
        for name, tid in zip(("a", "b"), ids, strict=True):
            bundle = load_trajectory(session, tid) if tid is not None else None
            if tid is not None and bundle is None:
                errors.append(f"{name}: no trajectory has that id")
            views.append(
                build_detail(bundle.trajectory, bundle.job, bundle.rewards, bundle.last_event)
                if bundle
                else None
            )
        same_task: list[Any] = []
        anchor = views[0] or views[1]
        if anchor is not None:
            # Other runs of the same task (same task hash): the natural thing to compare against.
            same_task = list(
                session.execute(
                    select(Trajectory.id, Trajectory.created_at, Trajectory.models, Trajectory.success)
                    .where(
                        Trajectory.task_hash == anchor.trajectory.task_hash,
                        Trajectory.id != anchor.trajectory.id,
                    )
                    .order_by(Trajectory.created_at.desc())
                    .limit(20)
                )
            )
        diff = None
        if views[0] is not None and views[1] is not None:
            diff = word_diff(views[0].trajectory.final_answer or "", views[1].trajectory.final_answer or "")
        return render(
            request,
            "compare.html",
            {
                "views": views,
                "ids": ["" if i is None else str(i) for i in ids],
                "errors": errors,
                "same_task": same_task,
                "anchor": anchor,
                "diff": diff,
            },
            identity=admin,
        )
