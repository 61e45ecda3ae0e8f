"""PNG plots of an evaluation: accuracy per turn for each model, and a reliability diagram."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from introspect.evaluation.metrics import UNCERTAINTY_METRICS, ProblemRun


def accuracy_per_turn(results: dict[str, dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=120)
    for label, result in results.items():
        accuracy = result.get("accuracy_per_turn") or []
        ax.plot(range(1, len(accuracy) + 1), [100 * (a or 0) for a in accuracy], marker="o", label=label)
    ax.set_xlabel("turn (no oracle, RISE feedback)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy per turn")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _platt(scores: list[float], labels: list[bool]) -> list[float]:
    """Probabilities from one score by logistic regression (Platt scaling)."""
    from sklearn.linear_model import LogisticRegression

    x = [[s] for s in scores]
    if len(set(labels)) < 2:
        return [float(labels[0])] * len(scores)
    model = LogisticRegression().fit(x, labels)
    return [float(p) for p in model.predict_proba(x)[:, 1]]


def reliability(
    runs: dict[str, list[ProblemRun]], best: dict[str, str | None], path: Path, bins: int = 10
) -> Path:
    """Per model: its best metric's Platt-scaled probability of an attempt being right vs the observed
    rate, in equal-width bins."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.4), dpi=120)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    for label, problem_runs in runs.items():
        metric = best.get(label)
        if metric is None:
            continue
        read = UNCERTAINTY_METRICS[metric]
        pairs = [(read(a.stats), a.correct) for r in problem_runs for a in r.attempts]
        kept = [(float(v), y) for v, y in pairs if isinstance(v, int | float) and math.isfinite(v)]
        if len(kept) < 4:
            continue
        probs = _platt([v for v, _ in kept], [y for _, y in kept])
        xs, ys = [], []
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            members = [
                y for p, (_, y) in zip(probs, kept, strict=True) if lo <= p < hi or (b == bins - 1 and p == 1)
            ]
            if members:
                inside = [p for p in probs if lo <= p < hi or (b == bins - 1 and p == 1)]
                xs.append(sum(inside) / len(inside))
                ys.append(sum(members) / len(members))
        ax.plot(xs, ys, marker="o", label=f"{label} ({metric})")
    ax.set_xlabel("predicted P(correct)")
    ax.set_ylabel("observed accuracy")
    ax.set_title("Reliability (best metric, Platt-scaled)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
