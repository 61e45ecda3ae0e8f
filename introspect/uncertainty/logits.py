"""Token statistics from full logits rows: a few reductions over each row, in float32 or better.

Both the offline path (:func:`stats_from_logits`, teacher-forced scoring) and the generate-time
:class:`~introspect.uncertainty.collector.StatsCollector` go through :func:`row_sums` and
:func:`finish_stats`, so the two agree by construction, not by parallel implementations.

Computation. With ``z = x - max(x)`` (so ``z <= 0``), ``e = exp(z)`` and ``Z = sum e``, log-probs are
``z - log Z``. Then ``H = log Z - E_p[z]`` and, because log-probs differ from ``z`` by a constant,
``VarH = Var_p[z] = E_p[z^2] - E_p[z]^2``; ``SC = log Z - mean(z) - log V``. Every quantity is a plain
sum over ``e``, ``e * z``, ``e * z^2`` or ``z``: about ten kernel launches per row and no
``log_softmax`` -- inside ``generate`` every launch on a 32k-128k row is measurable. Shifting by the max
keeps the moments small, so float32 sums stay within ~1e-5 of an fp64 reference on realistic 32k rows
(the tests check golden rows against one); the scalar arithmetic after the sums is done in float64.
Half-precision logits are upcast to float32; float64 stays float64.

Masked logits (``-inf``) are allowed and give documented values, never NaN:

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


class RowSums(NamedTuple):
    """Per-row sums of one ``[..., V]`` logits tensor; :func:`finish_stats` turns them into statistics.

    Splitting the cheap O(V) sums (done every decoding step) from the scalar arithmetic (done once per
    answer over ``[B, T]``) keeps the collector's per-step work to a few kernel launches.
    """

    shifted: torch.Tensor  # [..., V] z = x - max(x), kept only until the chosen token is known
    mass: torch.Tensor  # sum exp(z)            (log-probs are z - log mass)
    first: torch.Tensor  # sum exp(z) z
    second: torch.Tensor  # sum exp(z) z^2
    sum_z: torch.Tensor  # sum z over the self-certainty support (-inf if masked under "full")
    support: torch.Tensor | None  # size of that support: None = all V logits, else the finite count
    top_logits: torch.Tensor  # [..., max(2, k)] largest logits x (not z), descending: [..., 0] = max(x)
    top_ids: torch.Tensor

    def shifted_of(self, ids: torch.Tensor) -> torch.Tensor:
        """``z`` of ``ids[...]`` (one token per row); its log-prob is that minus ``log mass``."""
        return self.shifted.gather(-1, ids.unsqueeze(-1)).squeeze(-1)


class RowBuffers:
    """Two ``[B, V]`` rows that :func:`row_sums` reuses from one decoding step to the next.

    Why: inside ``generate`` a fresh 128 KB row per step is page-faulted in anew (we counted ~16
    extra minor faults per step on a CPU), and the collector's share of the step drops from about
    5.7% to 5.2% without them. One row holds ``z``, which must outlive the step (the chosen token
    is known only at the next one); the other is the scratch for ``exp(z)``. Each call with the
    buffers overwrites the previous call's ``z``.
    """

    def __init__(self) -> None:
        self.shifted: torch.Tensor | None = None
        self.scratch: torch.Tensor | None = None

    def rows_like(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        if self.shifted is None or self.scratch is None or not _same_layout(self.shifted, x):
            self.shifted, self.scratch = torch.empty_like(x), torch.empty_like(x)
        return self.shifted, self.scratch

    def scratch_bytes(self) -> int:
        return 0 if self.scratch is None else self.scratch.nelement() * self.scratch.element_size()


def _same_layout(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.device == b.device


def row_sums(
    logits: torch.Tensor, top_k: int = 0, support: Support = "full", buffers: RowBuffers | None = None
) -> RowSums:
    """The sums behind entropy, varentropy, self-certainty and the top-k of every row of ``logits``.

    ``buffers`` (a decoding loop's) are reused for ``z`` and ``exp(z)`` instead of new rows.

    Inside ``generate`` on a CPU each op costs several microseconds more than in a loop (the model's
    weights have just streamed through the caches, evicting the op's code), so we keep ops few: the
    row max comes with the top-k, no op allocates a temporary row, and masked rows need no branch.
    """
    import torch

    x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    vocab = x.shape[-1]
    if vocab < 2:
        raise ValueError("need a vocabulary of at least 2 tokens")
    top_logits, top_ids = torch.topk(x, k=min(max(2, top_k), vocab), dim=-1)  # NaN counts as largest
    scratch: torch.Tensor | None = None
    if buffers is None:
        z = x - top_logits[..., :1]  # NaN throughout a row with no finite logit
    else:
        z, scratch = buffers.rows_like(x)
        torch.sub(x, top_logits[..., :1], out=z)
    sum_z = z.sum(dim=-1)  # -inf as soon as one logit is masked
    e = z.exp() if scratch is None else torch.exp(z, out=scratch)
    mass = e.sum(dim=-1)
    # A masked entry gives exp(z) * z = 0 * (-inf) = NaN where the true term is 0; nansum drops
    # exactly those (any other NaN comes from invalid input, which has already made ``mass`` NaN),
    # so no clamped copy of the row and no check that would synchronise with the device.
    e.mul_(z)  # exp(z) is not needed any more: its row now holds exp(z) * z
    first = e.nansum(dim=-1)
    e.mul_(z)
    second = e.nansum(dim=-1)
    n_support = None
    if support == "finite":
        finite = torch.isfinite(z)
        n_support = finite.sum(dim=-1).to(z.dtype)
        sum_z = torch.where(finite, z, torch.zeros((), dtype=z.dtype, device=z.device)).sum(-1)
    return RowSums(
        shifted=z,
        mass=mass,
        first=first,
        second=second,
        sum_z=sum_z,
        support=n_support,
        top_logits=top_logits,
        top_ids=top_ids,
    )


def finish_stats(sums: RowSums, chosen_z: torch.Tensor) -> dict[str, np.ndarray[Any, Any]]:
    """Statistics from row sums (any leading shape, e.g. stacked ``[B, T]``) as float64 numpy arrays.

    ``chosen_z`` is ``sums.shifted_of(chosen ids)``; of ``sums.shifted`` only the width (V) is used. A
    row with no finite logit is NaN throughout; we detect it here, once (so the collector never
    synchronises per step), and apply the documented values.
    """
    import torch

    def f64(t: torch.Tensor) -> torch.Tensor:  # on CPU: some accelerators (MPS) have no float64
        return t.detach().to(device="cpu", dtype=torch.float64)

    sums = sums._replace(
        mass=f64(sums.mass), first=f64(sums.first), second=f64(sums.second), sum_z=f64(sums.sum_z),
        top_logits=f64(sums.top_logits), support=None if sums.support is None else f64(sums.support),
    )  # fmt: skip
    chosen_z = f64(chosen_z)
    log_mass = sums.mass.log()
    mean_z = sums.first / sums.mass
    entropy = log_mass - mean_z  # H = log Z - E_p[z]
    varentropy = sums.second / sums.mass - mean_z * mean_z  # Var_p[log p] = Var_p[z]
    # SC = KL(U || p) = -(1/V) sum_j log p_j - log V  (Kang et al. 2025), over the chosen support.
    if sums.support is None:
        vocab = sums.shifted.shape[-1]
        self_certainty = log_mass - sums.sum_z / vocab - math.log(vocab)
    else:
        self_certainty = log_mass - sums.sum_z / sums.support - sums.support.log()
    # log p = x - max(x) - log Z; top_logits[..., 0] is max(x).
    top_values = sums.top_logits - sums.top_logits[..., :1] - log_mass.unsqueeze(-1)
    chosen_logprob = chosen_z - log_mass

    bad = torch.isnan(entropy)
    inf = torch.tensor(math.inf, dtype=entropy.dtype)
    zero = torch.zeros((), dtype=entropy.dtype)
    # Rounding can leave -0.0 or a hair below 0 for (var)entropy ~ 0: both are >= 0.
    entropy = torch.where(bad, zero, entropy).clamp(min=0.0) + 0.0
    varentropy = torch.where(bad, zero, varentropy).clamp(min=0.0) + 0.0
    self_certainty = torch.where(bad | torch.isnan(self_certainty), inf, self_certainty)
    top_values = torch.where(bad.unsqueeze(-1) | torch.isnan(top_values), -inf, top_values)
    chosen_logprob = torch.where(bad | torch.isnan(chosen_logprob), -inf, chosen_logprob)
    top1, top2 = top_values[..., 0], top_values[..., 1]
    margin = torch.where(torch.isneginf(top1), zero, top1 - top2)

    return {
        "logprob": chosen_logprob.numpy(),
        "entropy": entropy.numpy(),
        "varentropy": varentropy.numpy(),
        "self_certainty": self_certainty.numpy(),
        "margin": margin.numpy(),
        "top1_logprob": top1.numpy(),
        "top_logprobs": top_values.numpy(),
        "top_ids": sums.top_ids.detach().cpu().numpy().astype(np.int64),
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
        sums = row_sums(logits, top_k=top_k, support=support)
        arrays = finish_stats(sums, sums.shifted_of(ids))
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
