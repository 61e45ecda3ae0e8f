"""Token statistics from full logits rows: one ``log_softmax``, then reductions.

Both the offline path (:func:`stats_from_logits`, teacher-forced scoring) and the generate-time
:class:`~introspect.uncertainty.collector.StatsCollector` go through :func:`row_stats` and
:func:`finish_stats`, so the two agree by construction, not by parallel implementations.

Numerics: half-precision logits are upcast to float32 before the ``log_softmax`` (float64 stays
float64). Masked logits (``-inf``) are allowed and give documented values, never NaN:

* a row with some ``-inf`` logits: ``self_certainty = +inf`` over the full row (``KL(U || p)`` is
  infinite when ``p`` has zeros, Kang et al. 2025), or over the finite support with
  ``support="finite"``; entropy and varentropy treat ``0 * log 0`` as 0; ``margin = +inf`` when only one
  token is left; choosing a masked token gives ``logprob = -inf``.
* a row with no finite logit (no distribution at all): ``entropy = varentropy = margin = 0``,
  ``self_certainty = +inf``, ``logprob = top1_logprob = -inf``.

NaN or ``+inf`` logits are invalid input: :func:`stats_from_logits` raises ``ValueError``; the collector
(which must not synchronise with the device every step) reports such rows like a row with no finite logit.
torch is imported inside the functions so that importing this package does not load it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from introspect.uncertainty.token_stats import TokenStats

if TYPE_CHECKING:
    import torch

Support = Literal["full", "finite"]

# exp(-1e4) is exactly 0 in float32 and float64, so clamping log-probs there changes no probability
# but keeps 0 * log 0 (and 0 * (log 0)^2) at 0 instead of NaN.
_LOG_FLOOR = -1.0e4


class RowStats(NamedTuple):
    """Per-row reductions of one ``[..., V]`` logits tensor (all ``[...]`` except the top-k)."""

    logp: torch.Tensor  # [..., V] log-probs, kept only until the chosen token is known
    entropy: torch.Tensor
    varentropy: torch.Tensor
    self_certainty: torch.Tensor
    top_values: torch.Tensor  # [..., max(2, k)] log-probs, descending
    top_ids: torch.Tensor


def row_stats(logits: torch.Tensor, top_k: int = 0, support: Support = "full") -> RowStats:
    """Entropy, varentropy, self-certainty and the top log-probs of every row of ``logits[..., V]``."""
    import torch

    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    vocab = logits.shape[-1]
    if vocab < 2:
        raise ValueError("need a vocabulary of at least 2 tokens")
    logp = torch.log_softmax(logits, dim=-1)
    p = torch.softmax(logits, dim=-1)  # one fused kernel; cheaper than exp(logp) on CPU
    clamped = logp.clamp(min=_LOG_FLOOR)
    entropy = -torch.linalg.vecdot(p, clamped)
    # Two-pass varentropy (sum p (log p + H)^2) avoids the cancellation of E[(log p)^2] - H^2.
    dev = clamped + entropy.unsqueeze(-1)
    varentropy = torch.linalg.vecdot(p * dev, dev)
    if support == "full":
        # SC = KL(U || p) = -(1/V) sum_j log p_j - log V  (Kang et al. 2025, eq. 3).
        self_certainty = -logp.mean(dim=-1) - math.log(vocab)
    else:
        finite = torch.isfinite(logp)
        n_finite = finite.sum(dim=-1).to(logp.dtype)
        total = torch.where(finite, logp, torch.zeros((), dtype=logp.dtype, device=logp.device)).sum(-1)
        self_certainty = -total / n_finite - torch.log(n_finite)
    top = torch.topk(logp, k=min(max(2, top_k), vocab), dim=-1)
    return RowStats(logp, entropy, varentropy, self_certainty, top.values, top.indices)


def finish_stats(
    entropy: torch.Tensor,
    varentropy: torch.Tensor,
    self_certainty: torch.Tensor,
    top_values: torch.Tensor,
    top_ids: torch.Tensor,
    chosen_logprob: torch.Tensor,
) -> dict[str, np.ndarray[Any, Any]]:
    """Turn stacked ``[..., T]`` reductions into float64 numpy arrays, fixing rows with no distribution.

    A row with no finite logit makes ``log_softmax`` NaN throughout; we detect it once here (after the
    fact, so the collector never synchronises per step) and apply the documented values.
    """
    import torch

    bad = torch.isnan(entropy)
    inf = torch.tensor(math.inf, dtype=entropy.dtype, device=entropy.device)
    zero = torch.zeros((), dtype=entropy.dtype, device=entropy.device)
    # Rounding can leave -0.0 or a hair below 0 (log p slightly above 0 for p ~ 1): both are >= 0.
    entropy = torch.where(bad, zero, entropy).clamp(min=0.0)
    varentropy = torch.where(bad, zero, varentropy).clamp(min=0.0)
    self_certainty = torch.where(bad | torch.isnan(self_certainty), inf, self_certainty)
    top_values = torch.where(bad.unsqueeze(-1) | torch.isnan(top_values), -inf, top_values)
    chosen_logprob = torch.where(bad | torch.isnan(chosen_logprob), -inf, chosen_logprob)
    top1, top2 = top_values[..., 0], top_values[..., 1]
    margin = torch.where(torch.isneginf(top1), zero, top1 - top2)

    def np64(t: torch.Tensor) -> np.ndarray[Any, Any]:
        return t.detach().to(device="cpu", dtype=torch.float64).numpy()

    return {
        "logprob": np64(chosen_logprob),
        "entropy": np64(entropy),
        "varentropy": np64(varentropy),
        "self_certainty": np64(self_certainty),
        "margin": np64(margin),
        "top1_logprob": np64(top1),
        "top_logprobs": np64(top_values),
        "top_ids": top_ids.detach().cpu().numpy().astype(np.int64),
    }


def _check_logits(logits: torch.Tensor) -> None:
    import torch

    if not torch.is_floating_point(logits):
        raise TypeError(f"logits must be floating point, got {logits.dtype}")
    if bool(torch.isnan(logits).any()) or bool(torch.isposinf(logits).any()):
        raise ValueError("logits contain NaN or +inf")


def batch_stats_from_logits(
    logits: Any,
    token_ids: Any,
    *,
    lengths: list[int] | None = None,
    top_k: int = 0,
    support: Support = "full",
) -> list[TokenStats]:
    """:func:`stats_from_logits` for ``logits[B, T, V]`` and ``token_ids[B, T]``.

    ``lengths[b]`` keeps only the first tokens of row ``b`` (right padding); default: all ``T``.
    """
    import torch

    logits = torch.as_tensor(logits)
    ids = torch.as_tensor(token_ids, device=logits.device).long()
    if logits.ndim != 3 or ids.shape != logits.shape[:2]:
        raise ValueError(f"expected logits [B, T, V] and token_ids [B, T], got {logits.shape}, {ids.shape}")
    _check_logits(logits)
    if bool(((ids < 0) | (ids >= logits.shape[-1])).any()):
        raise ValueError("token id outside the vocabulary")
    with torch.no_grad():
        rs = row_stats(logits, top_k=top_k, support=support)
        chosen = rs.logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
        arrays = finish_stats(rs.entropy, rs.varentropy, rs.self_certainty, rs.top_values, rs.top_ids, chosen)
    ids_np = ids.cpu().numpy()
    n = logits.shape[1]
    return [
        stats_from_arrays(arrays, b, n if lengths is None else lengths[b], ids_np[b], top_k)
        for b in range(logits.shape[0])
    ]


def stats_from_logits(
    logits: Any, token_ids: Any, *, top_k: int = 0, support: Support = "full"
) -> TokenStats:
    """Exact token statistics of ``token_ids[T]`` under ``logits[T, V]`` (row ``t`` predicts token ``t``).

    ``logits`` may be a torch tensor of any float dtype or a numpy array. ``top_k`` > 0 also keeps the
    ``k`` most likely alternatives per token. ``support`` chooses where self-certainty is computed:
    ``"full"`` (the paper's definition, ``+inf`` on masked rows) or ``"finite"`` (over unmasked tokens).
    """
    import torch

    logits = torch.as_tensor(logits)
    ids = torch.as_tensor(token_ids)
    if logits.ndim != 2 or ids.ndim != 1:
        raise ValueError(
            f"expected logits [T, V] and token_ids [T] (use batch_stats_from_logits for [B, T, V]), "
            f"got {tuple(logits.shape)} and {tuple(ids.shape)}"
        )
    return batch_stats_from_logits(logits[None], ids[None], top_k=top_k, support=support)[0]


def stats_from_arrays(
    arrays: dict[str, np.ndarray[Any, Any]],
    row: int,
    length: int,
    token_ids: Any,
    top_k: int,
    *,
    start: int = 0,
) -> TokenStats:
    """One response's :class:`TokenStats` from the ``[B, T]`` arrays of :func:`finish_stats`: row
    ``row``, positions ``start .. start + length``; ``token_ids`` are that response's own ids."""
    cut = slice(start, start + length)
    return TokenStats(
        logprob=arrays["logprob"][row, cut],
        entropy=arrays["entropy"][row, cut],
        varentropy=arrays["varentropy"][row, cut],
        margin=arrays["margin"][row, cut],
        top1_logprob=arrays["top1_logprob"][row, cut],
        self_certainty=arrays["self_certainty"][row, cut],
        exact=True,
        token_ids=np.asarray(token_ids[:length], dtype=np.int64),
        top_ids=arrays["top_ids"][row, cut, :top_k] if top_k else None,
        top_logprobs=arrays["top_logprobs"][row, cut, :top_k] if top_k else None,
    )
