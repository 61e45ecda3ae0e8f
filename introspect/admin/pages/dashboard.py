"""The dashboard: jobs by status, stop reasons, gate decisions, and RISE's figures (accuracy@t,
first -> final, p1@t5, m1@t5) per model and per batch/run tag over a chosen window of trajectories."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from introspect.admin import svg
from introspect.admin.identity import AdminDep
from introspect.admin.pages.window import parse_window
from introspect.admin.queries import dashboard as q
from introspect.admin.svg_series import Curve, accuracy_chart
from introspect.admin.templating import render
from introspect.admin.views.rise import figures, grouped
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction

router = APIRouter()


@router.get("/dashboard")
def dashboard(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    errors: list[str] = []
    window = parse_window(request.query_params, errors)
    with transaction(factory) as session:
        statuses = q.jobs_by_status(session)
        recent = q.recent_window(session, window=window.size, since=window.since)
        labels_correct, labels_incorrect = q.human_label_counts(session)
    models = sorted({t.model for t in recent.trajectories if t.model})
    tags = sorted({t.tag for t in recent.trajectories if t.tag})
    chosen = [t for t in recent.trajectories if window.keep(t)]
    overall = figures("all", chosen)
    by_model = grouped(chosen, lambda t: t.model)
    by_tag = grouped(chosen, lambda t: t.tag)
    decisions = sorted(recent.decisions.items())
    stop_reasons = sorted(recent.stop_reasons.items())
    charts = {
        "status": svg.bar_chart([(s, float(n)) for s, n in statuses], title="Jobs by status"),
        "decision": svg.bar_chart([(a, float(n)) for a, n in decisions], title="Gate decisions (turns)"),
        "stop": svg.bar_chart([(r, float(n)) for r, n in stop_reasons], title="Trajectories by stop reason"),
        "rise_model": accuracy_chart(
            [Curve(f.name, f.accuracy_at) for f in [overall, *by_model]], title="accuracy@t per model"
        ),
        "rise_tag": accuracy_chart(
            [Curve(f.name, f.accuracy_at) for f in by_tag], title="accuracy@t per batch/run tag"
        )
        if by_tag
        else None,
    }
    failed = dict(statuses).get("failed", 0)
    return render(
        request,
        "dashboard.html",
        {
            "charts": charts,
            "overall": overall,
            "by_model": by_model,
            "by_tag": by_tag,
            "window": window,
            "form": window.form(),
            "models": models,
            "tags": tags,
            "errors": errors,
            "count": len(recent.trajectories),
            "chosen": len(chosen),
            "failed": failed,
            "labels": (labels_correct, labels_incorrect),
        },
        identity=admin,
    )
