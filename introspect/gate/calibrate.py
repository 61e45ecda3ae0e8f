"""Calibrate the gate's certainty thresholds from verified attempts (PCC: thresholds are empirical).

Input is any list of first-or-later attempts whose correctness is known: a verifier judged them. The
trajectory resources that ``GET /v1/trajectories/{id}`` returns carry exactly that (per-turn ``stats``
and ``verifications``), so :func:`samples_from_resources` turns stored trajectories into samples.

``min_self_certainty`` is the smallest threshold whose accepted set (mean self-certainty at or above
it) is right at least ``target_precision`` of the time with at least ``min_support`` answers: the
gate's "confident, no verifier -> stop" is then wrong at most ``1 - target_precision`` of the time on
this distribution. ``max_mean_nll`` is a high quantile of the correct answers' mean NLL, so it rejects
almost no right answer and only catches the unlikely ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from introspect.gate.policy import GatePolicy

ATTEMPT_PHASES = frozenset({"generate", "revise", "escalate"})


@dataclass(frozen=True)
class Sample:
    self_certainty: float
    mean_nll: float | None
    correct: bool


@dataclass(frozen=True)
class Calibration:
    policy: GatePolicy
    min_self_certainty: float | None
    precision_above: float | None
    support_above: int
    max_mean_nll: float | None
    n_samples: int
    accuracy: float | None


def samples_from_resources(resources: Iterable[dict[str, Any]]) -> list[Sample]:
    """Attempt turns that carry both a mean self-certainty and a definite verification."""
    samples: list[Sample] = []
    for resource in resources:
        for turn in resource.get("turns", []):
            if turn.get("phase") not in ATTEMPT_PHASES:
                continue
            stats = turn.get("stats") or {}
            certainty = stats.get("mean_self_certainty")
            verdicts = [v.get("passed") for v in turn.get("verifications", []) if v.get("passed") is not None]
            if not isinstance(certainty, int | float) or not verdicts:
                continue
            nll = stats.get("mean_nll")
            samples.append(
                Sample(
                    self_certainty=float(certainty),
                    mean_nll=float(nll) if isinstance(nll, int | float) else None,
                    correct=bool(verdicts[-1]),
                )
            )
    return samples


def min_certainty_for_precision(
    samples: Sequence[Sample], target_precision: float = 0.9, min_support: int = 5
) -> tuple[float, float, int] | None:
    """(threshold, precision above it, support) for the lowest threshold meeting the target."""
    ranked = sorted(samples, key=lambda s: s.self_certainty, reverse=True)
    best: tuple[float, float, int] | None = None
    right = 0
    for i, sample in enumerate(ranked, start=1):
        right += sample.correct
        # Only cut between distinct values: a threshold cannot split tied certainties.
        if i < len(ranked) and ranked[i].self_certainty == sample.self_certainty:
            continue
        precision = right / i
        if i >= min_support and precision >= target_precision:
            best = (sample.self_certainty, precision, i)
    return best


def quantile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile (no interpolation: the threshold is a value that occurred)."""
    ordered = sorted(v for v in values if math.isfinite(v))
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def calibrate(
    samples: Sequence[Sample],
    base: GatePolicy | None = None,
    target_precision: float = 0.9,
    nll_quantile: float = 0.9,
    min_support: int = 5,
) -> Calibration:
    """A policy whose certainty thresholds come from ``samples``; other fields stay as in ``base``."""
    base = base or GatePolicy()
    found = min_certainty_for_precision(samples, target_precision, min_support)
    nll = quantile([s.mean_nll for s in samples if s.correct and s.mean_nll is not None], nll_quantile)
    updates: dict[str, Any] = {}
    if found is not None:
        updates["min_self_certainty"] = found[0]
    if nll is not None:
        updates["max_mean_nll"] = nll
    policy = GatePolicy.model_validate({**base.model_dump(), **updates})
    return Calibration(
        policy=policy,
        min_self_certainty=None if found is None else found[0],
        precision_above=None if found is None else found[1],
        support_above=0 if found is None else found[2],
        max_mean_nll=nll,
        n_samples=len(samples),
        accuracy=sum(s.correct for s in samples) / len(samples) if samples else None,
    )
