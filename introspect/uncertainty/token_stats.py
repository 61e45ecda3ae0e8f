"""Per-token uncertainty of one response, its answer-level summary, and a compact JSON form.

All values are in nats. Per token ``t`` with next-token distribution ``p_t`` over the vocabulary:

* ``logprob``: ``log p_t(y_t)`` of the token actually chosen (``-inf`` if it was masked);
* ``entropy``: ``H_t = -sum p log p``; ``varentropy``: ``sum p (log p + H_t)^2`` (entropix);
* ``self_certainty``: ``KL(U || p_t) = -(1/V) sum_j log p_t(j) - log V`` (Kang et al. 2025), ``+inf``
  when any logit of the row is ``-inf``; ``None`` when the backend cannot see the full row;
* ``margin``: top-1 minus top-2 log-prob; ``top1_logprob``: ``max_v log p_t(v)``, from which
  G-NLL (Aichberger et al. 2024) is summed.

This module is numpy-only so that the API process can load and summarise stored stats without torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from introspect.uncertainty.regime import DEFAULT_THRESHOLDS, RegimeThresholds, classify_regime

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

COMPACT_VERSION = 1
SIGNIFICANT_DIGITS = 5

# The compact form has no infinities (Postgres JSON rejects them): a non-finite value is written as
# null and read back with the only sign that field can take.
_NONFINITE_FILL: dict[str, float] = {
    "logprob": -math.inf,
    "top1_logprob": -math.inf,
    "top_logprobs": -math.inf,
    "self_certainty": math.inf,
    "margin": math.inf,
    "entropy": math.nan,
    "varentropy": math.nan,
    "entropy_lower": math.nan,
    "entropy_upper": math.nan,
}


def _floats(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _round(x: float) -> float | None:
    if not math.isfinite(x):
        return None
    return float(f"{x:.{SIGNIFICANT_DIGITS}g}")


def _encode(arr: FloatArray) -> list[Any]:
    if arr.ndim == 2:
        return [[_round(float(v)) for v in row] for row in arr]
    return [_round(float(v)) for v in arr]


def _decode(values: Sequence[Any], key: str) -> FloatArray:
    fill = _NONFINITE_FILL[key]
    if values and isinstance(values[0], list):
        return _floats([[fill if v is None else v for v in row] for row in values])
    return _floats([fill if v is None else v for v in values])


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass(slots=True)
class TokenStats:
    """Per-token statistics of one response; arrays have length ``T`` (``[T, k]`` for ``top_*``)."""

    logprob: FloatArray
    entropy: FloatArray
    varentropy: FloatArray
    margin: FloatArray
    top1_logprob: FloatArray
    self_certainty: FloatArray | None
    exact: bool = True
    # Only for approximate stats (top-k logprobs): a rigorous bracket around the true entropy.
    entropy_lower: FloatArray | None = None
    entropy_upper: FloatArray | None = None
    token_ids: IntArray | None = None
    tokens: list[str] | None = None
    top_ids: IntArray | None = None
    top_logprobs: FloatArray | None = None
    top_tokens: list[list[str]] | None = field(default=None)

    def __post_init__(self) -> None:
        n = len(self.logprob)
        for name in ("logprob", "entropy", "varentropy", "margin", "top1_logprob"):
            arr = _floats(getattr(self, name))
            if arr.shape != (n,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
            setattr(self, name, arr)
        for name in ("self_certainty", "entropy_lower", "entropy_upper"):
            value = getattr(self, name)
            if value is not None:
                arr = _floats(value)
                if arr.shape != (n,):
                    raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
                setattr(self, name, arr)
        if self.token_ids is not None:
            self.token_ids = np.asarray(self.token_ids, dtype=np.int64)
            if self.token_ids.shape != (n,):
                raise ValueError(f"token_ids has shape {self.token_ids.shape}, expected ({n},)")
        if self.top_logprobs is not None:
            self.top_logprobs = _rows(_floats(self.top_logprobs), n, "top_logprobs")
        if self.top_ids is not None:
            self.top_ids = _rows(np.asarray(self.top_ids, dtype=np.int64), n, "top_ids")
        if self.tokens is not None and len(self.tokens) != n:
            raise ValueError(f"tokens has {len(self.tokens)} entries, expected {n}")
        if self.top_tokens is not None and len(self.top_tokens) != n:
            raise ValueError(f"top_tokens has {len(self.top_tokens)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.logprob)

    def head(self, n: int) -> TokenStats:
        """The first ``n`` tokens (e.g. up to and including EOS)."""
        cut: dict[str, Any] = {}
        for name in (
            "logprob", "entropy", "varentropy", "margin", "top1_logprob", "self_certainty",
            "entropy_lower", "entropy_upper", "token_ids", "tokens", "top_ids", "top_logprobs",
            "top_tokens",
        ):  # fmt: skip
            value = getattr(self, name)
            cut[name] = None if value is None else value[:n]
        return replace(self, **cut)

    def summary(
        self, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS
    ) -> dict[str, float | str | bool | None]:
        """Answer-level aggregates; JSON-serialisable, ``None`` (never NaN/inf) when unavailable or not
        finite. ``gnll`` is ``-sum_t max_v log p_t(v)`` along this path: the G-NLL of Aichberger et al.
        (2024) when the path is the greedy one. ``mean_nll`` is the log-perplexity of the chosen tokens.
        """
        n = len(self)
        out: dict[str, float | str | bool | None] = {"n_tokens": n, "exact": self.exact}
        arrays: dict[str, FloatArray | None] = {
            "logprob": self.logprob,
            "entropy": self.entropy,
            "varentropy": self.varentropy,
            "self_certainty": self.self_certainty,
            "margin": self.margin,
        }
        for name, arr in arrays.items():
            for agg in ("mean", "min", "max"):
                if arr is None or n == 0:
                    out[f"{agg}_{name}"] = None
                else:
                    out[f"{agg}_{name}"] = _finite_or_none(float(getattr(np, agg)(arr)))
        lower = self.entropy if self.entropy_lower is None else self.entropy_lower
        upper = self.entropy if self.entropy_upper is None else self.entropy_upper
        out["mean_entropy_lower"] = _finite_or_none(float(lower.mean())) if n else None
        out["mean_entropy_upper"] = _finite_or_none(float(upper.mean())) if n else None
        out["gnll"] = _finite_or_none(float(-self.top1_logprob.sum())) if n else None
        out["mean_nll"] = _finite_or_none(float(-self.logprob.mean())) if n else None
        mean_h, mean_v = out["mean_entropy"], out["mean_varentropy"]
        regime = None
        if isinstance(mean_h, float) and isinstance(mean_v, float):
            regime = classify_regime(mean_h, mean_v, thresholds)
        out["regime"] = None if regime is None else regime.value
        return out

    def to_compact(self) -> dict[str, Any]:
        """JSON-ready per-token arrays (floats to 5 significant digits, non-finite as null)."""
        d: dict[str, Any] = {"v": COMPACT_VERSION, "exact": self.exact, "n": len(self)}
        for name in ("logprob", "entropy", "varentropy", "margin", "top1_logprob"):
            d[name] = _encode(getattr(self, name))
        for name in ("self_certainty", "entropy_lower", "entropy_upper", "top_logprobs"):
            value = getattr(self, name)
            d[name] = None if value is None else _encode(value)
        d["token_ids"] = None if self.token_ids is None else self.token_ids.tolist()
        d["top_ids"] = None if self.top_ids is None else self.top_ids.tolist()
        d["tokens"] = None if self.tokens is None else list(self.tokens)
        d["top_tokens"] = None if self.top_tokens is None else [list(r) for r in self.top_tokens]
        return d

    @classmethod
    def from_compact(cls, d: dict[str, Any]) -> TokenStats:
        if d.get("v", COMPACT_VERSION) != COMPACT_VERSION:
            raise ValueError(f"unsupported compact token stats version {d.get('v')!r}")

        def arr(name: str) -> FloatArray | None:
            values = d.get(name)
            if values is None:
                return None
            return _decode(values, name)

        required = {
            name: arr(name) for name in ("logprob", "entropy", "varentropy", "margin", "top1_logprob")
        }
        return cls(
            logprob=_need(required["logprob"]),
            entropy=_need(required["entropy"]),
            varentropy=_need(required["varentropy"]),
            margin=_need(required["margin"]),
            top1_logprob=_need(required["top1_logprob"]),
            self_certainty=arr("self_certainty"),
            exact=bool(d["exact"]),
            entropy_lower=arr("entropy_lower"),
            entropy_upper=arr("entropy_upper"),
            token_ids=None if d.get("token_ids") is None else np.asarray(d["token_ids"], dtype=np.int64),
            tokens=d.get("tokens"),
            top_ids=None if d.get("top_ids") is None else np.asarray(d["top_ids"], dtype=np.int64),
            top_logprobs=arr("top_logprobs"),
            top_tokens=d.get("top_tokens"),
        )


def _rows(arr: npt.NDArray[Any], n: int, name: str) -> npt.NDArray[Any]:
    """``[T, k]`` alternatives; an empty response may come back from JSON as a flat ``[]``."""
    if arr.size == 0 and arr.ndim == 1:
        arr = arr.reshape(n, 0)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{name} has shape {arr.shape}, expected ({n}, k)")
    return arr


def _need(value: FloatArray | None) -> FloatArray:
    if value is None:
        raise ValueError("compact token stats miss a required array")
    return value
