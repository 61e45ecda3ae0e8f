"""A learned correctness predictor over an answer's token-stat summary (GCM-style).

"Generalized Correctness Models" (the seed paper of this idea) show that a small model trained on a
model's own history of right and wrong answers predicts correctness better than any single
uncertainty score. Ours is the smallest such model: logistic regression over every numeric
aggregate of :meth:`introspect.uncertainty.TokenStats.summary`, standardised, fitted with
scikit-learn. Its parameters are plain JSON (means, scales, coefficients, intercept), never a pickle:
a profile read from the database can never run code, and the gate evaluates it with no scikit-learn
at all (one dot product).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Every numeric aggregate of TokenStats.summary() a predictor may use. ``n_tokens`` enters as
# log1p(n): answer length matters (long answers of a small model are wrong more often), linearly
# in its logarithm rather than in the count.
_AGGREGATED = ("logprob", "entropy", "varentropy", "self_certainty", "margin")
FEATURES: tuple[str, ...] = (
    *(f"{agg}_{name}" for name in _AGGREGATED for agg in ("mean", "min", "max")),
    "gnll",
    "mean_nll",
    "n_tokens",
)
PREDICTOR_VERSION = 1


def feature_value(stats: Mapping[str, Any] | None, key: str) -> float | None:
    """One feature of a stats summary as the predictor sees it; None when absent or not finite."""
    value = (stats or {}).get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return math.log1p(max(0.0, float(value))) if key == "n_tokens" else float(value)


def feature_row(stats: Mapping[str, Any] | None, features: Sequence[str]) -> list[float] | None:
    row = [feature_value(stats, key) for key in features]
    return None if any(v is None for v in row) else [float(v) for v in row if v is not None]


@dataclass(frozen=True)
class CorrectnessPredictor:
    """``P(correct | stats) = sigmoid(intercept + sum_i coef_i * (x_i - mean_i) / scale_i)``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def predict(self, stats: Mapping[str, Any] | None) -> float | None:
        """Probability that the answer is right; None when a feature is missing (e.g. no logits)."""
        row = feature_row(stats, self.features)
        if row is None:
            return None
        z = self.intercept + sum(
            c * (x - m) / s for x, m, s, c in zip(row, self.mean, self.scale, self.coef, strict=True)
        )
        # Numerically stable sigmoid for large |z|.
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "logistic_regression",
            "version": PREDICTOR_VERSION,
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorrectnessPredictor:
        """Validate stored parameters: a malformed profile fails here, not inside a running job."""
        if data.get("kind") != "logistic_regression" or data.get("version") != PREDICTOR_VERSION:
            raise ValueError(f"unsupported predictor {data.get('kind')!r} v{data.get('version')!r}")
        features = tuple(str(f) for f in data["features"])
        unknown = set(features) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown predictor features: {sorted(unknown)}")
        arrays = [tuple(float(v) for v in data[key]) for key in ("mean", "scale", "coef")]
        if any(len(a) != len(features) for a in arrays):
            raise ValueError("predictor arrays do not match its feature list")
        values = [v for a in arrays for v in a] + [float(data["intercept"])]
        if not all(math.isfinite(v) for v in values) or any(s <= 0 for s in arrays[1]):
            raise ValueError("predictor parameters must be finite, with positive scales")
        return cls(features, arrays[0], arrays[1], arrays[2], float(data["intercept"]))


def usable_features(rows: Sequence[Mapping[str, Any] | None]) -> tuple[str, ...]:
    """The features every row has and that vary (a constant column carries no signal)."""
    out = []
    for key in FEATURES:
        values = [feature_value(r, key) for r in rows]
        finite = [v for v in values if v is not None]
        if len(finite) == len(values) and finite and max(finite) > min(finite):
            out.append(key)
    return tuple(out)


def fit_predictor(
    rows: Sequence[Mapping[str, Any] | None], labels: Sequence[bool], c: float = 1.0
) -> CorrectnessPredictor:
    """Standardise, then L2-regularised logistic regression (``C=c``); needs both classes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    features = usable_features(rows)
    if not features:
        raise ValueError("no token-stat feature is present and varying in every sample")
    x = [feature_row(r, features) for r in rows]
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=1000).fit(scaler.transform(x), [bool(v) for v in labels])
    return CorrectnessPredictor(
        features=features,
        mean=tuple(float(v) for v in scaler.mean_),
        scale=tuple(float(v) for v in scaler.scale_),
        coef=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
    )
