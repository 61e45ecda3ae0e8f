"""fp64 numpy reference of every per-token formula, written independently of the torch code.

Deliberately naive: one row at a time, explicit masks, no shared helpers with introspect.uncertainty.
"""

from __future__ import annotations

import math

import numpy as np


def reference_row(logits: np.ndarray, token: int, support: str = "full") -> dict[str, float]:
    x = np.asarray(logits, dtype=np.float64)
    v = x.size
    finite = np.isfinite(x)
    if not finite.any():
        # Documented convention for a row with no distribution at all.
        return {"logprob": -math.inf, "entropy": 0.0, "varentropy": 0.0, "self_certainty": math.inf,
                "margin": 0.0, "top1_logprob": -math.inf}  # fmt: skip
    m = x[finite].max()
    log_z = m + math.log(np.exp(x[finite] - m).sum())
    logp = np.full(v, -math.inf)
    logp[finite] = x[finite] - log_z
    p = np.exp(logp)
    pos = p > 0
    entropy = float(-(p[pos] * logp[pos]).sum())
    varentropy = float((p[pos] * (logp[pos] + entropy) ** 2).sum())
    if support == "full":
        # KL(U || p) = sum_j (1/V) log((1/V) / p_j)
        sc = math.inf if not finite.all() else float(-logp.mean() - math.log(v))
    else:
        sc = float(-logp[finite].mean() - math.log(finite.sum()))
    ordered = np.sort(logp)[::-1]
    top1, top2 = float(ordered[0]), float(ordered[1])
    margin = math.inf if top2 == -math.inf else top1 - top2
    return {"logprob": float(logp[token]), "entropy": entropy, "varentropy": varentropy,
            "self_certainty": sc, "margin": margin, "top1_logprob": top1}  # fmt: skip


def reference(logits: np.ndarray, tokens: np.ndarray, support: str = "full") -> dict[str, np.ndarray]:
    rows = [reference_row(row, int(t), support) for row, t in zip(logits, tokens, strict=True)]
    return {key: np.array([r[key] for r in rows], dtype=np.float64) for key in rows[0]}


def true_entropy(logits: np.ndarray) -> float:
    return reference_row(logits, 0)["entropy"]
