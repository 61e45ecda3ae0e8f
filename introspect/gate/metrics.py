"""Figures of a correctness signal on verified answers: AUROC, ECE, precision and coverage of a rule.

AUROC is the probability that a random right answer scores higher than a random wrong one (ties
count half; 0.5 = no signal). ECE (expected calibration error, Guo et al. 2017) is the
count-weighted mean gap between confidence and accuracy over ten equal-width bins; it only means
something for a probability, so it is reported for the learned predictor and for the geometric-mean
token probability ``exp(-mean_nll)``, not for raw entropies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Each single metric with its direction: +1 when a higher value means "more likely right".
SINGLE_METRICS: tuple[tuple[str, int], ...] = (
    ("mean_self_certainty", +1),
    ("mean_nll", -1),
    ("gnll", -1),
    ("min_logprob", +1),
    ("mean_entropy", -1),
    ("mean_varentropy", -1),
    ("mean_margin", +1),
)


def _ranks(values: FloatArray) -> FloatArray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    _, inverse, counts = np.unique(values[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average = (ends - counts + 1 + ends) / 2
    ranks = np.empty(len(values))
    ranks[order] = average[inverse]
    return ranks


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Mann-Whitney AUROC with average ranks for ties; None without both classes. The one AUROC of
    the project: calibration, evaluation and the admin view all call it."""
    y = np.asarray(labels, dtype=bool)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = float(_ranks(np.asarray(scores, dtype=np.float64))[y].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def ece(probabilities: Sequence[float], labels: Sequence[bool], bins: int = 10) -> float | None:
    if not probabilities:
        return None
    total, gap = len(probabilities), 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            (p, y)
            for p, y in zip(probabilities, labels, strict=True)
            if low <= p < high or (b == bins - 1 and p == 1.0)
        ]
        if members:
            confidence = sum(p for p, _ in members) / len(members)
            accuracy = sum(1 for _, y in members if y) / len(members)
            gap += len(members) / total * abs(confidence - accuracy)
    return gap


@dataclass(frozen=True)
class RuleFigures:
    """How a stop rule does on a set of answers: of those it accepts, how many are right."""

    accepted: int
    right_accepted: int
    total: int

    @property
    def precision(self) -> float | None:
        return self.right_accepted / self.accepted if self.accepted else None

    @property
    def coverage(self) -> float:
        return self.accepted / self.total if self.total else 0.0

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "precision": rounded(self.precision),
            "coverage": rounded(self.coverage),
            "accepted": self.accepted,
            "right_accepted": self.right_accepted,
            "n": self.total,
        }


def rule_figures(accepts: Sequence[bool], labels: Sequence[bool]) -> RuleFigures:
    right = sum(1 for a, y in zip(accepts, labels, strict=True) if a and y)
    return RuleFigures(accepted=sum(1 for a in accepts if a), right_accepted=right, total=len(labels))


def rounded(value: float | None, digits: int = 4) -> float | None:
    """A figure as stored in a profile: 4 decimals, None for undefined (never NaN in JSON)."""
    return None if value is None or not math.isfinite(value) else round(value, digits)
