"""Calibration per model: how well each uncertainty metric predicts a verified answer's correctness
(ROC-AUC, ECE, ROC curve and reliability diagram), computed from the stored verified attempts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from introspect.admin import svg
from introspect.admin.identity import AdminDep
from introspect.admin.pages.window import parse_window
from introspect.admin.queries import dashboard as q
from introspect.admin.templating import render
from introspect.admin.views.calibration import METRICS, calibrate
from introspect.api.deps import SessionFactoryDep
from introspect.store.engine import transaction

router = APIRouter()
MAX_MODELS = 8


@router.get("/calibration")
def calibration(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    errors: list[str] = []
    window = parse_window(request.query_params, errors)
    with transaction(factory) as session:
        recent = q.recent_window(
            session, [spec.key for spec in METRICS], window=window.size, since=window.since
        )
    trajectories = [t for t in recent.trajectories if window.tag is None or t.tag == window.tag]
    by_model: dict[str, list[tuple[dict[str, float], bool]]] = {}
    for t in trajectories:
        by_model.setdefault(t.model or "(unknown)", []).extend(q.calibration_samples([t]))
    ranked = sorted(((m, s) for m, s in by_model.items() if s), key=lambda kv: (-len(kv[1]), kv[0]))
    summary = [
        (model, len(samples), [calibrate(spec, samples) for spec in METRICS])
        for model, samples in ranked[:MAX_MODELS]
    ]
    chosen = window.model if window.model in by_model else (summary[0][0] if summary else None)
    detail = []
    if chosen is not None:
        for c in (calibrate(spec, by_model[chosen]) for spec in METRICS):
            if c.n:
                detail.append(
                    {
                        "c": c,
                        "roc": svg.roc_chart(c.roc, title=f"ROC: {c.spec.label}"),
                        "reliability": svg.reliability_chart(
                            c.bins, title=f"Reliability: {c.spec.label}", x_label=c.x_label
                        ),
                    }
                )
    form = window.form()
    form["model"] = chosen or ""
    return render(
        request,
        "calibration.html",
        {
            "summary": summary,
            "metrics": METRICS,
            "chosen": chosen,
            "detail": detail,
            "form": form,
            "models": [m for m, _ in ranked],
            "tags": sorted({t.tag for t in recent.trajectories if t.tag}),
            "errors": errors,
            "count": len(recent.trajectories),
        },
        identity=admin,
    )
