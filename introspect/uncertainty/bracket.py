"""Approximate token statistics from the top-k log-probs an OpenAI-compatible server returns.

The chosen token's log-prob and the top-1/top-2 margin are exact; the entropy is bracketed
rigorously; self-certainty needs every logit of the row (Kang et al. 2025) and is unavailable.

Bracket. Let the known tokens (the top-k, plus the sampled token when it fell outside them) carry
probabilities summing to ``1 - r`` and partial entropy ``H_k = -sum_known p log p``. The ``V - k'``
unseen tokens share the uncovered mass ``r``, and each has ``p_j <= min(p_k, r)`` where
``p_k = exp(l_k)`` is the smallest top-k probability. Hence

    H_k + r * max(-l_k, -log r)  <=  H  <=  H_k + r * log((V - k') / r)

The left side is ``H_k - r * l_k`` whenever ``r >= p_k`` and tighter otherwise; the right side is the
tail spread uniformly (maximum entropy). It stays valid for any true vocabulary up to ``vocab_size``,
so overestimating ``V`` is safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from introspect.uncertainty.token_stats import TokenStats


def entropy_bracket_from_top_logprobs(
    top_logprobs: Sequence[float], vocab_size: int, *, outside_logprobs: Sequence[float] = ()
) -> tuple[float, float]:
    """``(lower, upper)`` bounds in nats on the entropy of a distribution known by its top-k log-probs.

    ``outside_logprobs``: log-probs of other known tokens that are not among the top-k (e.g. a sampled
    token outside the list); they tighten the bracket.
    """
    top = sorted((min(x, 0.0) for x in top_logprobs if x > -math.inf), reverse=True)
    known = top + [min(x, 0.0) for x in outside_logprobs if x > -math.inf]
    probs = [math.exp(x) for x in known]
    h_known = -sum(p * x for p, x in zip(probs, known, strict=True))
    unseen = vocab_size - len(known)
    # Rounded API log-probs can sum to a hair over 1; a negative remainder means "nothing left".
    r = min(max(0.0, 1.0 - sum(probs)), 1.0) if unseen > 0 else 0.0
    if r == 0.0:
        return h_known, h_known
    floor_logp = -math.log(r)
    if top:
        floor_logp = max(floor_logp, -top[-1])
    return h_known + r * floor_logp, h_known + r * math.log(unseen / r)


def _known_varentropy(logprobs: Sequence[float]) -> float:
    """Varentropy of the known tokens renormalised -- an approximation (the tail is ignored)."""
    lp = np.asarray([x for x in logprobs if x > -math.inf], dtype=np.float64)
    if lp.size == 0:
        return 0.0
    lp = lp - np.logaddexp.reduce(lp)
    p = np.exp(lp)
    h = -float(np.dot(p, lp))
    return float(np.dot(p, (lp + h) ** 2))


def stats_from_top_logprobs(
    chosen_logprobs: Sequence[float],
    top_logprobs: Sequence[Sequence[float]],
    vocab_size: int,
    *,
    chosen_in_top: Sequence[bool] | None = None,
    tokens: list[str] | None = None,
    top_tokens: list[list[str]] | None = None,
) -> TokenStats:
    """``TokenStats(exact=False)`` from per-token chosen log-probs and top-k log-prob lists.

    ``entropy`` is the midpoint of the bracket (kept in ``entropy_lower``/``entropy_upper``);
    ``varentropy`` is that of the renormalised known tokens; ``self_certainty`` is ``None``. With a
    single alternative the margin is its lower bound ``top1 - log(uncovered mass)``.
    ``chosen_in_top[t]`` says whether token ``t`` is in its top list (default: assume it is). Rows come
    in the servers' order (descending); ``top_tokens`` rows align with them.
    """
    n = len(chosen_logprobs)
    if len(top_logprobs) != n:
        raise ValueError(f"{len(top_logprobs)} top-log-prob rows for {n} tokens")
    lower, upper, varentropy, margin, top1 = (np.zeros(n) for _ in range(5))
    for t, (chosen, row) in enumerate(zip(chosen_logprobs, top_logprobs, strict=True)):
        inside = True if chosen_in_top is None else chosen_in_top[t]
        outside = () if inside else (chosen,)
        lower[t], upper[t] = entropy_bracket_from_top_logprobs(row, vocab_size, outside_logprobs=outside)
        ranked = sorted(row, reverse=True) if row else [chosen]
        varentropy[t] = _known_varentropy([*ranked, *outside])
        top1[t] = max(ranked[0], chosen)
        if len(ranked) >= 2:
            margin[t] = ranked[0] - ranked[1]
        else:
            rest = 1.0 - math.exp(ranked[0])
            margin[t] = ranked[0] - math.log(rest) if rest > 0 else math.inf
    k = min((len(row) for row in top_logprobs), default=0)
    return TokenStats(
        logprob=np.asarray(chosen_logprobs, dtype=np.float64),
        entropy=(lower + upper) / 2,
        varentropy=varentropy,
        margin=margin,
        top1_logprob=top1,
        self_certainty=None,
        exact=False,
        entropy_lower=lower,
        entropy_upper=upper,
        tokens=tokens,
        top_logprobs=np.asarray([list(row)[:k] for row in top_logprobs], dtype=np.float64).reshape(n, k),
        top_tokens=None if top_tokens is None else [list(row)[:k] for row in top_tokens],
    )
