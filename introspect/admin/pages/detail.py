"""The trajectory page: timeline, heatmaps, revision diffs, gate decisions, retrievals, labels."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from introspect.admin.identity import AdminDep
from introspect.admin.queries.detail import load_trajectory
from introspect.admin.svg_series import signal_chart, waterfall_chart
from introspect.admin.templating import render
from introspect.admin.views.detail import build_detail
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction

router = APIRouter()


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def metric_param(value: str | None) -> str:
    """The heatmap metric to colour by (query string); anything unknown falls back to entropy."""
    return value if value in ("entropy", "self_certainty", "probability") else "entropy"


def not_found(request: Request, admin: AdminDep, what: str) -> Response:
    return render(
        request, "error.html", {"title": "Not found", "message": what}, identity=admin, status_code=404
    )


@router.get("/trajectories/{trajectory_id}")
def trajectory_detail(
    trajectory_id: str, request: Request, admin: AdminDep, factory: SessionFactoryDep
) -> Response:
    tid = parse_uuid(trajectory_id)
    if tid is None:
        return not_found(request, admin, "No trajectory has that id.")
    with transaction(factory) as session:
        bundle = load_trajectory(session, tid)
        if bundle is None:
            return not_found(request, admin, "No trajectory has that id.")
        view = build_detail(bundle.trajectory, bundle.job, bundle.rewards, bundle.last_event)
        charts = {
            "signals": [signal_chart(series) for series in view.gate.series],
            "waterfall": waterfall_chart(view.waterfall.steps, title="Timings")
            if view.waterfall.steps
            else None,
        }
        # Render inside the transaction: the template walks lazy relationships of the turns.
        return render(
            request,
            "detail.html",
            {
                "v": view,
                "charts": charts,
                "metric": metric_param(request.query_params.get("metric")),
                "flash": request.query_params.get("labelled"),
            },
            identity=admin,
        )
