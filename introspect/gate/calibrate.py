"""Calibrate a model's gate from its verified attempts (PCC: the thresholds are empirical).

The gate may end a job with no verifier when the logits call an answer *confident*. That call must
be right at least ``target_precision`` of the time, so calibration:

1. refuses with :class:`NotEnoughDataError` when there are too few verified attempts, or too few of
   either class (never silent defaults);
2. splits the attempts by task (all attempts of a task on one side, so a task's retries cannot leak
   across) into a fitting part and a held-out part (``heldout_fraction``);
3. on the fitting part finds the stop rule with the largest coverage whose precision meets the
   target: either thresholds on mean self-certainty and mean NLL (both cut over *all* answers, right
   and wrong -- a cut taken from right answers alone says nothing about how many wrong ones pass),
   or a cut on the learned predictor's probability (:mod:`introspect.gate.predictor`, chosen from
   5-fold out-of-fold predictions);
4. reports held-out figures: precision and coverage of that rule, AUROC of each single metric and of
   the predictor, ECE. ``meets_target`` is the *held-out* precision checked against the target; when
   it fails (or no rule met it even on the fitting part) the profile's policy turns
   ``stop_on_confidence`` off, so the gate never stops on logits it cannot trust.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from introspect.gate.metrics import SINGLE_METRICS, auroc, ece, rounded, rule_figures
from introspect.gate.predictor import CorrectnessPredictor, feature_value, fit_predictor

ATTEMPT_PHASES = frozenset({"generate", "revise", "escalate"})
GRID = 40  # candidate cuts per threshold (quantiles of the fitting part)


@dataclass(frozen=True)
class Sample:
    """One verified attempt: its stats summary, whether a verifier passed it, and its task."""

    stats: Mapping[str, Any]
    correct: bool
    group: str = ""  # the task (hash); the held-out split never separates one task's attempts


class NotEnoughDataError(ValueError):
    """Too few verified attempts to calibrate (the message says how many there are and are needed)."""


@dataclass(frozen=True)
class CalibrationSettings:
    target_precision: float = 0.9
    min_samples: int = 40
    min_per_class: int = 10
    min_support: int = 5  # a rule must accept at least this many fitting answers
    heldout_fraction: float = 0.3


@dataclass(frozen=True)
class Calibration:
    policy: dict[str, Any]  # GatePolicy keys this calibration sets (a job's base before its overrides)
    predictor: CorrectnessPredictor | None
    meets_target: bool
    figures: dict[str, Any] = field(default_factory=dict)


def samples_from_resources(resources: Iterable[Mapping[str, Any]]) -> list[Sample]:
    """Attempt turns of trajectory resources (``GET /v1/trajectories/{id}``) with stats and a
    definite verification."""
    samples: list[Sample] = []
    for resource in resources:
        group = str(resource.get("task_hash") or resource.get("id") or "")
        for turn in resource.get("turns", []):
            verdicts = [v.get("passed") for v in turn.get("verifications", []) if v.get("passed") is not None]
            sample = make_sample(turn.get("phase"), turn.get("stats"), verdicts, group)
            if sample is not None:
                samples.append(sample)
    return samples


def make_sample(phase: Any, stats: Any, verdicts: Sequence[bool], group: str) -> Sample | None:
    """A sample when the turn is an attempt with a mean self-certainty and a definite verdict."""
    if phase not in ATTEMPT_PHASES or not isinstance(stats, Mapping) or not verdicts:
        return None
    if feature_value(stats, "mean_self_certainty") is None:
        return None
    return Sample(stats=dict(stats), correct=bool(verdicts[-1]), group=group)


def is_heldout(group: str, fraction: float) -> bool:
    """Deterministic split by task: the same task always falls on the same side."""
    digest = hashlib.sha256(group.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def check_enough(samples: Sequence[Sample], settings: CalibrationSettings, what: str) -> None:
    right = sum(1 for s in samples if s.correct)
    wrong = len(samples) - right
    if len(samples) < settings.min_samples or min(right, wrong) < settings.min_per_class:
        raise NotEnoughDataError(
            f"not enough verified data for {what}: n={len(samples)} verified attempts "
            f"({right} right, {wrong} wrong); need n>={settings.min_samples} with at least "
            f"{settings.min_per_class} right and {settings.min_per_class} wrong"
        )


def _cuts(values: Sequence[float]) -> list[float]:
    ordered = sorted(values)
    picks = {ordered[min(len(ordered) - 1, (i * len(ordered)) // GRID)] for i in range(GRID)}
    return sorted(picks | {ordered[-1]})


def _threshold_accepts(stats: Mapping[str, Any], min_sc: float, max_nll: float | None) -> bool:
    sc, nll = feature_value(stats, "mean_self_certainty"), feature_value(stats, "mean_nll")
    if sc is None or sc < min_sc:
        return False
    return max_nll is None or nll is None or nll <= max_nll


def _best_thresholds(
    fit: Sequence[Sample], settings: CalibrationSettings
) -> tuple[float, float | None, float] | None:
    """(min_self_certainty, max_mean_nll, coverage) with the most coverage meeting the target."""
    scs = [v for v in (feature_value(s.stats, "mean_self_certainty") for s in fit) if v is not None]
    nlls = [v for v in (feature_value(s.stats, "mean_nll") for s in fit) if v is not None]
    labels = [s.correct for s in fit]
    best: tuple[float, float | None, float, float] | None = None
    # 0.0: self-certainty is a KL divergence, never negative, so that cut is "unused".
    for min_sc in [0.0, *_cuts(scs)]:
        for max_nll in [None, *(_cuts(nlls) if nlls else [])]:
            figures = rule_figures([_threshold_accepts(s.stats, min_sc, max_nll) for s in fit], labels)
            precision = figures.precision
            if figures.accepted < settings.min_support or precision is None:
                continue
            if precision < settings.target_precision:
                continue
            key = (figures.coverage, precision)
            if best is None or key > (best[2], best[3]):
                best = (min_sc, max_nll, figures.coverage, precision)
    return None if best is None else best[:3]


def _out_of_fold(fit: Sequence[Sample], folds: int = 5) -> list[float | None]:
    """Each fitting answer's P(correct) from a predictor that did not see its task."""
    out: list[float | None] = [None] * len(fit)
    fold_of = [int.from_bytes(hashlib.sha256(s.group.encode()).digest()[8:16], "big") % folds for s in fit]
    for k in range(folds):
        inside = [i for i, f in enumerate(fold_of) if f == k]
        train = [s for s, f in zip(fit, fold_of, strict=True) if f != k]
        if not inside or len({s.correct for s in train}) < 2:
            continue
        model = fit_predictor([s.stats for s in train], [s.correct for s in train])
        for i in inside:
            out[i] = model.predict(fit[i].stats)
    return out


def _best_probability_cut(
    probabilities: Sequence[float | None], fit: Sequence[Sample], settings: CalibrationSettings
) -> tuple[float, float] | None:
    """(cut, coverage): the lowest predictor cut whose accepted answers meet the target."""
    known = [(p, s.correct) for p, s in zip(probabilities, fit, strict=True) if p is not None]
    if not known:
        return None
    best: tuple[float, float] | None = None
    for cut in _cuts([p for p, _ in known]):
        figures = rule_figures([p >= cut for p, _ in known], [y for _, y in known])
        if figures.accepted < settings.min_support or figures.precision is None:
            continue
        if figures.precision >= settings.target_precision and (best is None or figures.coverage > best[1]):
            best = (cut, figures.coverage)
    return best


def _metric_aurocs(samples: Sequence[Sample]) -> dict[str, float | None]:
    labels = [s.correct for s in samples]
    out: dict[str, float | None] = {}
    for key, sign in SINGLE_METRICS:
        values = [feature_value(s.stats, key) for s in samples]
        pairs = [(sign * v, y) for v, y in zip(values, labels, strict=True) if v is not None]
        out[key] = rounded(auroc([p for p, _ in pairs], [y for _, y in pairs])) if pairs else None
    return out


def calibrate(
    samples: Sequence[Sample], settings: CalibrationSettings | None = None, what: str = "this model"
) -> Calibration:
    """See the module docstring; raises :class:`NotEnoughDataError`."""
    settings = settings or CalibrationSettings()
    check_enough(samples, settings, what)
    fit = [s for s in samples if not is_heldout(s.group, settings.heldout_fraction)]
    held = [s for s in samples if is_heldout(s.group, settings.heldout_fraction)]
    for part, name in ((fit, "fitting"), (held, "held-out")):
        right = sum(1 for s in part if s.correct)
        if min(right, len(part) - right) < 2:
            raise NotEnoughDataError(
                f"not enough verified data for {what}: the {name} split has {right} right and "
                f"{len(part) - right} wrong attempts (n={len(samples)} over too few tasks); need more tasks"
            )
    thresholds = _best_thresholds(fit, settings)
    predictor = fit_predictor([s.stats for s in fit], [s.correct for s in fit])
    cut = _best_probability_cut(_out_of_fold(fit), fit, settings)
    labels = [s.correct for s in held]
    held_p = [predictor.predict(s.stats) for s in held]
    rule: str | None = None
    policy: dict[str, Any] = {}
    if cut is not None and (thresholds is None or cut[1] > thresholds[2]):
        rule = "predictor"
        policy = {"min_self_certainty": 0.0, "max_mean_nll": None, "min_predicted_correct": round(cut[0], 6)}
        accepts = [p is not None and p >= cut[0] for p in held_p]
    elif thresholds is not None:
        rule = "thresholds"
        policy = {
            "min_self_certainty": thresholds[0],
            "max_mean_nll": thresholds[1],
            "min_predicted_correct": None,
        }
        accepts = [_threshold_accepts(s.stats, thresholds[0], thresholds[1]) for s in held]
    else:
        accepts = [False] * len(held)
    stop = rule_figures(accepts, labels)
    meets = stop.precision is not None and stop.precision >= settings.target_precision
    policy["stop_on_confidence"] = meets
    single = _metric_aurocs(held)
    best_metric = max(
        (k for k, v in single.items() if v is not None), key=lambda k: single[k] or 0.0, default=None
    )
    known = [(p, y) for p, y in zip(held_p, labels, strict=True) if p is not None]
    token_p = [
        (math.exp(-v), s.correct) for s in held if (v := feature_value(s.stats, "mean_nll")) is not None
    ]
    figures = {
        "n": len(samples),
        "n_fit": len(fit),
        "n_heldout": len(held),
        "accuracy": rounded(sum(1 for s in samples if s.correct) / len(samples)),
        "target_precision": settings.target_precision,
        "stop_rule": rule,
        "heldout_stop": stop.to_json(),
        "meets_target": meets,
        "auroc": single,
        "best_single_metric": best_metric,
        "predictor_auroc": rounded(auroc([p for p, _ in known], [y for _, y in known])),
        "ece": {
            "predictor": rounded(ece([p for p, _ in known], [y for _, y in known])),
            "token_probability": rounded(ece([p for p, _ in token_p], [y for _, y in token_p])),
        },
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
    }
    return Calibration(policy=policy, predictor=predictor, meets_target=meets, figures=figures)
