"""How well each uncertainty metric separates right from wrong answers: ROC-AUC and reliability.

ROC-AUC is the Mann-Whitney U statistic over (score, correct) pairs with average ranks for ties: the
probability that a random correct answer scores higher than a random wrong one (0.5 = no signal).

A reliability diagram needs a confidence in [0, 1]. Log-prob metrics have one: ``exp(mean log p)`` is
the geometric-mean token probability, ``exp(min log p)`` that of the least likely token,
``exp(-G-NLL)`` the probability of the greedy path. Entropy, varentropy, self-certainty and margin
have none, so their x axis is the score min-max normalised over the verified set: the diagram then
shows whether accuracy rises with the score (monotonicity and spread), not absolute calibration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from introspect.gate.metrics import auroc as roc_auc

Transform = Literal["exp", "minmax", "prob"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    sign: int  # +1 when a higher value means more confident
    transform: Transform


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("mean_self_certainty", "self-certainty (mean)", +1, "minmax"),
    MetricSpec("mean_entropy", "entropy (mean, negated)", -1, "minmax"),
    MetricSpec("mean_varentropy", "varentropy (mean, negated)", -1, "minmax"),
    MetricSpec("mean_logprob", "token probability (geometric mean)", +1, "exp"),
    MetricSpec("min_logprob", "least-likely token probability", +1, "exp"),
    MetricSpec("gnll", "greedy path probability (exp −G-NLL)", -1, "exp"),
    MetricSpec("mean_margin", "top-1/top-2 margin (mean)", +1, "minmax"),
)


# The learned correctness predictor of a model's gate profile (introspect.gate.predictor): already a
# probability, so its reliability diagram is a true calibration test.
PREDICTOR = MetricSpec("predicted_correct", "learned predictor P(correct)", +1, "prob")


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class MetricCalibration:
    spec: MetricSpec
    n: int
    auc: float | None
    roc: list[tuple[float, float]]
    bins: list[ReliabilityBin]
    ece: float | None
    x_label: str


def roc_curve(
    scores: Sequence[float], labels: Sequence[bool], max_points: int = 200
) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) points, thresholds from high to low score; tied
    scores move together, and long curves are thinned to ``max_points`` (enough for a 220 px chart)."""
    y = np.asarray(labels, dtype=bool)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return []
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tpr = np.cumsum(y)[last_of_tie] / positives
    fpr = np.cumsum(~y)[last_of_tie] / negatives
    if len(tpr) > max_points:
        keep = np.unique(np.linspace(0, len(tpr) - 1, max_points).round().astype(int))
        tpr, fpr = tpr[keep], fpr[keep]
    return [(0.0, 0.0), *zip(fpr.tolist(), tpr.tolist(), strict=True)]


def reliability(confidences: Sequence[float], labels: Sequence[bool], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1] (1.0 falls in the last); empty bins are left out."""
    c = np.asarray(confidences, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    index = np.clip((c * bins).astype(int), 0, bins - 1) if len(c) else np.zeros(0, dtype=int)
    counts = np.bincount(index, minlength=bins)
    conf_sums = np.bincount(index, weights=c, minlength=bins)
    correct = np.bincount(index, weights=y, minlength=bins)
    return [
        ReliabilityBin(
            low=b / bins,
            high=(b + 1) / bins,
            count=int(counts[b]),
            mean_confidence=float(conf_sums[b] / counts[b]),
            accuracy=float(correct[b] / counts[b]),
        )
        for b in range(bins)
        if counts[b]
    ]


def expected_calibration_error(bins: Sequence[ReliabilityBin]) -> float | None:
    total = sum(b.count for b in bins)
    if total == 0:
        return None
    return sum(b.count * abs(b.accuracy - b.mean_confidence) for b in bins) / total


def _confidences(spec: MetricSpec, scores: FloatArray) -> FloatArray:
    if spec.transform == "prob":
        return np.clip(scores, 0.0, 1.0)
    if spec.transform == "exp":
        return np.clip(np.exp(scores), 0.0, 1.0)
    low, high = float(scores.min()), float(scores.max())
    if high == low:
        return np.full(len(scores), 0.5)
    return (scores - low) / (high - low)


def calibrate(spec: MetricSpec, samples: Sequence[tuple[Mapping[str, object], bool]]) -> MetricCalibration:
    """``samples``: (stats summary, verified correct) of each verified attempt."""
    values: list[float] = []
    labels: list[bool] = []
    for stats, correct in samples:
        v = stats.get(spec.key)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            values.append(float(v))
            labels.append(correct)
    scores = spec.sign * np.asarray(values, dtype=np.float64)
    conf = _confidences(spec, scores) if values else np.zeros(0)
    bins = reliability(conf.tolist(), labels)
    score_list = scores.tolist()
    return MetricCalibration(
        spec=spec,
        n=len(values),
        auc=roc_auc(score_list, labels),
        roc=roc_curve(score_list, labels),
        bins=bins,
        ece=expected_calibration_error(bins),
        x_label={"exp": "confidence", "prob": "predicted P(correct)"}.get(spec.transform, "normalised score"),
    )
