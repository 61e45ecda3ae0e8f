"""The dashboard: jobs by status, gate decisions, accuracy per attempt, and how well each uncertainty
metric predicts a verified answer's correctness (ROC-AUC, reliability), drawn as server-side SVG."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from introspect.admin import svg
from introspect.admin.identity import AdminDep
from introspect.admin.queries import dashboard as q
from introspect.admin.templating import render
from introspect.admin.views.calibration import METRICS, calibrate
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction

router = APIRouter()


@router.get("/dashboard")
def dashboard(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    with transaction(factory) as session:
        statuses = q.jobs_by_status(session)
        window = q.recent_window(session, [spec.key for spec in METRICS])
        labels_correct, labels_incorrect = q.human_label_counts(session)
    decisions = sorted(window.decisions.items())
    stop_reasons = sorted(window.stop_reasons.items())
    accuracy = q.accuracy_per_attempt(window.attempts)
    samples = q.calibration_samples(window.attempts)
    calibrations = [calibrate(spec, samples) for spec in METRICS]
    charts = {
        "status": svg.bar_chart([(s, float(n)) for s, n in statuses], title="Jobs by status"),
        "decision": svg.bar_chart([(a, float(n)) for a, n in decisions], title="Gate decisions (turns)"),
        "stop": svg.bar_chart([(r, float(n)) for r, n in stop_reasons], title="Trajectories by stop reason"),
        "accuracy": svg.bar_chart(
            [(f"attempt {a.attempt} (n={a.total})", a.accuracy) for a in accuracy],
            title="Verified accuracy per attempt",
            max_value=1.0,
            percent=True,
        ),
    }
    metric_charts = [
        {
            "c": c,
            "roc": svg.roc_chart(c.roc, title=f"ROC: {c.spec.label}"),
            "reliability": svg.reliability_chart(
                c.bins, title=f"Reliability: {c.spec.label}", x_label=c.x_label
            ),
        }
        for c in calibrations
        if c.n
    ]
    return render(
        request,
        "dashboard.html",
        {
            "charts": charts,
            "statuses": statuses,
            "decisions": decisions,
            "accuracy": accuracy,
            "metric_charts": metric_charts,
            "samples": len(samples),
            "window": window.trajectories,
            "labels": (labels_correct, labels_incorrect),
        },
        identity=admin,
    )
