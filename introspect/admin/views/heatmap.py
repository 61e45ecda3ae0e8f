"""Per-token uncertainty heatmap of one answer, from the compact ``token_stats`` a turn stores.

The compact form (``TokenStats.to_compact``) holds per-token lists ``entropy``, ``self_certainty``,
``logprob``, ``margin``, ``tokens`` and the ``top_tokens``/``top_logprobs`` alternatives, with a
non-finite value written as null: a null log-prob is -inf (a masked token), a null self-certainty is
+inf (a row with a -inf logit), a null entropy is unknown.

Colours are ten buckets on one scale per trajectory, so turns of a trajectory compare at a glance:
entropy from 0 to the trajectory's largest token entropy (hot = high entropy), self-certainty from its
smallest to its largest finite value (hot = low self-certainty, i.e. uncertain). The CSS picks the
colour from the bucket, so the page needs no inline style (the CSP forbids them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

BUCKETS = 10


@dataclass(frozen=True)
class HeatScale:
    entropy_max: float
    sc_min: float
    sc_max: float


@dataclass(frozen=True)
class TokenCell:
    index: int
    text: str
    entropy: float | None
    self_certainty: float | None
    logprob: float | None
    margin: float | None
    entropy_bucket: int
    sc_bucket: int
    alternatives: list[tuple[str, float | None]]
    special: bool

    @property
    def alternatives_json(self) -> str:
        """For a ``data-`` attribute (the template escapes it); read by admin.js with JSON.parse."""
        return json.dumps([[tok, lp] for tok, lp in self.alternatives], ensure_ascii=False)


@dataclass(frozen=True)
class Heatmap:
    cells: list[TokenCell]
    exact: bool
    has_self_certainty: bool
    has_entropy: bool


def _value(values: Sequence[Any] | None, i: int, null_as: float | None) -> float | None:
    if values is None or i >= len(values):
        return None
    v = values[i]
    if v is None:
        return null_as
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _finite(values: Iterable[Any]) -> list[float]:
    return [
        float(v)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]


def scale_for(all_stats: Iterable[dict[str, Any] | None]) -> HeatScale:
    entropies: list[float] = []
    certainties: list[float] = []
    for stats in all_stats:
        if not stats:
            continue
        entropies += _finite(stats.get("entropy") or [])
        certainties += _finite(stats.get("self_certainty") or [])
    entropy_max = max(entropies, default=0.0)
    sc_min, sc_max = min(certainties, default=0.0), max(certainties, default=0.0)
    return HeatScale(entropy_max=max(entropy_max, 1e-6), sc_min=sc_min, sc_max=max(sc_max, sc_min + 1e-6))


def _bucket(fraction: float) -> int:
    return min(BUCKETS - 1, max(0, int(fraction * BUCKETS)))


def entropy_bucket(value: float | None, scale: HeatScale) -> int:
    if value is None or math.isnan(value):
        return -1
    return _bucket(value / scale.entropy_max)


def sc_bucket(value: float | None, scale: HeatScale) -> int:
    if value is None or math.isnan(value):
        return -1
    if math.isinf(value):
        return 0
    return _bucket(1.0 - (value - scale.sc_min) / (scale.sc_max - scale.sc_min))


def _display(text: str) -> str:
    # A bare newline token would be invisible and impossible to hover: show a return mark before it.
    if text and not text.strip() and "\n" in text:
        return "↵" + text
    return text


def build_heatmap(stats: dict[str, Any] | None, scale: HeatScale) -> Heatmap | None:
    """The heatmap of one turn, or None when it stored no per-token statistics."""
    if not stats or not isinstance(stats.get("logprob"), list):
        return None
    n = int(stats.get("n") or len(stats["logprob"]))
    tokens = stats.get("tokens")
    token_ids = stats.get("token_ids")
    top_tokens = stats.get("top_tokens") or []
    top_logprobs = stats.get("top_logprobs") or []
    entropy, certainty = stats.get("entropy"), stats.get("self_certainty")
    cells: list[TokenCell] = []
    for i in range(n):
        if tokens is not None and i < len(tokens):
            text = str(tokens[i])
        elif token_ids is not None and i < len(token_ids):
            text = f"⟨{token_ids[i]}⟩"
        else:
            text = "⟨?⟩"
        h = _value(entropy, i, math.nan)
        sc = _value(certainty, i, math.inf) if certainty is not None else None
        alts: list[tuple[str, float | None]] = []
        if i < len(top_tokens) and i < len(top_logprobs):
            for tok, lp in zip(top_tokens[i] or [], top_logprobs[i] or [], strict=False):
                alts.append((str(tok), float(lp) if isinstance(lp, int | float) else None))
        cells.append(
            TokenCell(
                index=i,
                text=_display(text),
                entropy=h,
                self_certainty=sc,
                logprob=_value(stats.get("logprob"), i, -math.inf),
                margin=_value(stats.get("margin"), i, math.inf),
                entropy_bucket=entropy_bucket(h, scale),
                sc_bucket=sc_bucket(sc, scale),
                alternatives=alts,
                special=text.startswith("<|") and text.endswith("|>"),
            )
        )
    return Heatmap(
        cells=cells,
        exact=bool(stats.get("exact", True)),
        has_self_certainty=certainty is not None,
        has_entropy=entropy is not None,
    )
