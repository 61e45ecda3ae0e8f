"""Uncertainty of LLM answers read from logits: token statistics, regimes, Best-of-N selection.

Importing this package does not import torch: the torch-only parts (``stats_from_logits`` computes
with torch inside the call; ``StatsCollector`` subclasses a transformers class) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from introspect.uncertainty.bracket import entropy_bracket_from_top_logprobs, stats_from_top_logprobs
from introspect.uncertainty.logits import batch_stats_from_logits, stats_from_logits
from introspect.uncertainty.regime import DEFAULT_THRESHOLDS, Regime, RegimeThresholds, classify_regime
from introspect.uncertainty.selection import (
    VoteResult,
    borda_vote,
    majority_vote,
    select_by_self_certainty,
)
from introspect.uncertainty.token_stats import TokenStats

if TYPE_CHECKING:
    from introspect.uncertainty.collector import StatsCollector

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Regime",
    "RegimeThresholds",
    "StatsCollector",
    "TokenStats",
    "VoteResult",
    "batch_stats_from_logits",
    "borda_vote",
    "classify_regime",
    "entropy_bracket_from_top_logprobs",
    "majority_vote",
    "select_by_self_certainty",
    "stats_from_logits",
    "stats_from_top_logprobs",
]


def __getattr__(name: str) -> Any:
    # PEP 562: the collector subclasses transformers.LogitsProcessor, so load it only when asked for.
    if name == "StatsCollector":
        from introspect.uncertainty.collector import StatsCollector

        return StatsCollector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
