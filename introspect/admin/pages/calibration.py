"""Calibration per model: how well each uncertainty metric -- and the learned correctness predictor
of the model's gate profile -- predicts a verified answer's correctness (AUROC, ECE, ROC curve and
reliability diagram), computed from the stored verified attempts; and the gate profile in force."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from introspect.admin import svg
from introspect.admin.identity import AdminDep
from introspect.admin.pages.window import parse_window
from introspect.admin.queries import dashboard as q
from introspect.admin.templating import render
from introspect.admin.views.calibration import METRICS, PREDICTOR, MetricCalibration, MetricSpec, calibrate
from introspect.api.deps import SessionFactoryDep
from introspect.gate.predictor import FEATURES
from introspect.gate.profile import GateProfile, ProfileError
from introspect.gate.service import resolve_profile
from introspect.store.engine import transaction

router = APIRouter()
MAX_MODELS = 8
Samples = list[tuple[dict[str, float], bool]]


def _with_predictions(profile: GateProfile | None, samples: Samples) -> Samples:
    """Each sample with the profile predictor's P(correct) added (when it has one and can score it)."""
    if profile is None or profile.predictor is None:
        return samples
    out: Samples = []
    for metrics, correct in samples:
        p = profile.predictor.predict(metrics)
        out.append(({**metrics, PREDICTOR.key: p} if p is not None else metrics, correct))
    return out


def _charts(c: MetricCalibration) -> dict[str, Any]:
    return {
        "c": c,
        "roc": svg.roc_chart(c.roc, title=f"ROC: {c.spec.label}"),
        "reliability": svg.reliability_chart(c.bins, title=f"Reliability: {c.spec.label}", x_label=c.x_label),
    }


@router.get("/calibration")
def calibration(request: Request, admin: AdminDep, factory: SessionFactoryDep) -> Response:
    errors: list[str] = []
    window = parse_window(request.query_params, errors)
    keys = sorted({spec.key for spec in METRICS} | set(FEATURES))
    with transaction(factory) as session:
        recent = q.recent_window(session, keys, window=window.size, since=window.since)
        trajectories = [t for t in recent.trajectories if window.tag is None or t.tag == window.tag]
        by_model: dict[str, Samples] = {}
        for t in trajectories:
            by_model.setdefault(t.model or "(unknown)", []).extend(q.calibration_samples([t]))
        ranked = sorted(((m, s) for m, s in by_model.items() if s), key=lambda kv: (-len(kv[1]), kv[0]))
        profiles: dict[str, GateProfile | None] = {}
        for model, _ in ranked[:MAX_MODELS]:
            try:
                profiles[model] = resolve_profile(session, model)
            except ProfileError as exc:
                errors.append(f"{model}: its stored gate profile does not load ({exc})")
                profiles[model] = None
    specs: tuple[MetricSpec, ...] = (*METRICS, PREDICTOR)
    summary = []
    for model, samples in ranked[:MAX_MODELS]:
        scored = _with_predictions(profiles.get(model), samples)
        summary.append(
            (model, len(samples), [calibrate(spec, scored) for spec in specs], profiles.get(model))
        )
    chosen = window.model if window.model in by_model else (summary[0][0] if summary else None)
    detail: list[dict[str, Any]] = []
    if chosen is not None:
        scored = _with_predictions(profiles.get(chosen), by_model[chosen])
        detail = [_charts(c) for c in (calibrate(spec, scored) for spec in specs) if c.n]
    form = window.form()
    form["model"] = chosen or ""
    return render(
        request,
        "calibration.html",
        {
            "summary": summary,
            "specs": specs,
            "chosen": chosen,
            "profile": profiles.get(chosen) if chosen else None,
            "detail": detail,
            "form": form,
            "models": [m for m, _ in ranked],
            "tags": sorted({t.tag for t in recent.trajectories if t.tag}),
            "errors": errors,
            "count": len(recent.trajectories),
        },
        identity=admin,
    )
