"""Per-token uncertainty heatmap of one answer, from the compact ``token_stats`` a turn stores.

The compact form (``TokenStats.to_compact``) holds per-token lists ``entropy``, ``self_certainty``,
``logprob``, ``margin``, ``tokens`` and the ``top_tokens``/``top_logprobs`` alternatives, with a
non-finite value written as null: a null log-prob is -inf (a masked token), a null self-certainty is
+inf (a row with a -inf logit), a null entropy is unknown.

Colours are ten buckets on a *fixed* scale per metric, the same for every trajectory and model, so
a sure answer looks calm and an unsure one hot wherever it is shown (scaling to each trajectory's own
maximum made a 0.03-nat answer as red as a 1.6-nat one). The bucket edges (``SCALES``):

* entropy (nats): 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2 -- roughly logarithmic, since most tokens
  of a fluent answer sit far below 0.1 nats and the interesting ones between 0.5 and 2;
* self-certainty (nats, KL(U || p)): 14, 12, 10, 8, 6, 4, 3, 2, 1 from calm to hot. Its absolute level
  depends on the vocabulary size (a uniform row is 0, a one-hot row about log V + the logit gap), so
  compare it within one model;
* chosen-token probability: 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2 from calm to hot.

The CSS picks the colour from the bucket, so the page needs no inline style (the CSP forbids them).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BUCKETS = 10


@dataclass(frozen=True)
class HeatScale:
    """Nine bucket edges, calm to hot; ``rising`` when a larger value is hotter (entropy)."""

    key: str
    label: str
    unit: str
    edges: tuple[float, ...]
    rising: bool

    def bucket(self, value: float | None) -> int:
        if value is None or math.isnan(value):
            return -1
        for i, edge in enumerate(self.edges):
            if (value < edge) if self.rising else (value >= edge):
                return i
        return BUCKETS - 1

    def legend(self) -> list[tuple[int, str]]:
        """(bucket, range text) for each of the ten buckets."""
        e = [f"{x:g}" for x in self.edges]
        if self.rising:
            texts = [f"< {e[0]}", *(f"{a}–{b}" for a, b in itertools.pairwise(e)), f"≥ {e[-1]}"]
        else:
            texts = [f"≥ {e[0]}", *(f"{b}–{a}" for a, b in itertools.pairwise(e)), f"< {e[-1]}"]
        return list(enumerate(texts))


ENTROPY_SCALE = HeatScale(
    "entropy", "entropy", "nats", (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0), True
)
SC_SCALE = HeatScale("self_certainty", "self-certainty", "nats", (14, 12, 10, 8, 6, 4, 3, 2, 1), False)
PROB_SCALE = HeatScale(
    "probability", "chosen-token probability", "", (0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2), False
)
SCALES = (ENTROPY_SCALE, SC_SCALE, PROB_SCALE)


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
    prob_bucket: int
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


def entropy_bucket(value: float | None) -> int:
    return ENTROPY_SCALE.bucket(value)


def sc_bucket(value: float | None) -> int:
    if value is not None and math.isinf(value):
        return 0 if value > 0 else BUCKETS - 1
    return SC_SCALE.bucket(value)


def prob_bucket(logprob: float | None) -> int:
    if logprob is None or math.isnan(logprob):
        return -1
    return PROB_SCALE.bucket(math.exp(logprob) if logprob > -745 else 0.0)


def _display(text: str) -> str:
    # A bare newline token would be invisible and impossible to hover: show a return mark before it.
    if text and not text.strip() and "\n" in text:
        return "↵" + text
    return text


def build_heatmap(stats: dict[str, Any] | None) -> Heatmap | None:
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
        chosen = _value(stats.get("logprob"), i, -math.inf)
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
                logprob=chosen,
                margin=_value(stats.get("margin"), i, math.inf),
                entropy_bucket=entropy_bucket(h),
                sc_bucket=sc_bucket(sc),
                prob_bucket=prob_bucket(chosen),
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
