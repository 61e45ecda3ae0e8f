"""Model-level evaluation of the bundled demo model on held-out arithmetic word problems.

    python bench/eval_demo.py [--model DIR] [--n 500] [--out bench/results]

Everything goes through ``LocalModel`` -- the path the service uses -- so the numbers describe what
the loop sees. Per held-out problem:

- **turn 1**: one greedy answer; its token statistics feed the ROC-AUC of every uncertainty summary
  (self-certainty, -entropy, -G-NLL, -mean NLL, margin) for predicting correctness;
- **5 turns** (RISE, Qu et al. 2024): after each attempt the model is told "The answer is incorrect.
  Please try again." and answers again (sampled). p1@t5 = some attempt in 5 is correct (an oracle
  stops at the first correct one; since the feedback text is the same either way, the oracle run is
  exactly the prefix of this run up to its first correct turn); m1@t5 = majority over the 5 answers
  with the feedback always sent (no oracle);
- **Best-of-8**: 8 samples ranked by mean self-certainty (Kang et al. 2025): argmax, Borda vote
  (p = 0.5) and plain majority vote; as a diagnostic, also Borda with the samples ranked by mean NLL
  (lower = better) instead, for models whose self-certainty carries no signal. The samples are drawn
  at ``--bon-temperature`` and, as a sweep, at each of ``--bon-sweep``: per temperature the accuracy
  of one sample, each vote, pass@8 and how often the majority answer is the greedy answer (when it
  almost always is, the errors are systematic and no vote over samples can beat greedy decoding).

Prints a table, writes two PNGs (accuracy per turn; a reliability diagram for the best metric after
cross-fitted Platt scaling) and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from introspect.models.demo import EVAL_SEED, FEEDBACK, Problem, make_problems, model_path  # noqa: E402
from introspect.uncertainty import borda_vote, majority_vote, select_by_self_certainty  # noqa: E402
from introspect.verifiers.numeric import extract_number, numbers_match  # noqa: E402

# Each summary, signed so that higher means "more likely correct".
METRICS: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "self_certainty": lambda s: s.get("mean_self_certainty"),
    "neg_entropy": lambda s: None if s.get("mean_entropy") is None else -s["mean_entropy"],
    "neg_gnll": lambda s: None if s.get("gnll") is None else -s["gnll"],
    "neg_mean_nll": lambda s: None if s.get("mean_nll") is None else -s["mean_nll"],
    "margin": lambda s: s.get("mean_margin"),
    # the design's "minimum chosen-token log-prob": the single least likely token of the answer
    "min_logprob": lambda s: s.get("min_logprob"),
}
TARGETS = {"turn1_min": 0.40, "turn1_max": 0.85, "p1_gain": 0.15, "auc": 0.70}


class Generator(Protocol):
    def generate(
        self, messages: Sequence[dict[str, str]], max_new_tokens: int = ..., temperature: float = ...,
        n: int = ..., **kwargs: Any,
    ) -> list[Any]: ...  # fmt: skip


@dataclass(frozen=True)
class EvalConfig:
    turns: int = 5
    samples: int = 8
    temperature: float = 1.0  # retries (turns 2..); turn 1 is greedy
    # The N samples of Best-of-N. On the demo model a sample is right less often than the greedy
    # answer at every temperature (0.2 .. 1.0, see the sweep); 0.3 loses least.
    bon_temperature: float = 0.3
    bon_sweep: tuple[float, ...] = ()  # further sampling temperatures, reported side by side
    borda_p: float = 0.5
    max_new_tokens: int = 80
    seed: int = 0

    @property
    def bon_temperatures(self) -> tuple[float, ...]:
        """The main Best-of-N temperature first, then the sweep's others, each once."""
        return tuple(dict.fromkeys((self.bon_temperature, *self.bon_sweep)))


@dataclass
class Samples:
    """The N Best-of-N samples of one problem at one temperature."""

    answers: list[float | None] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    certainty: list[float] = field(default_factory=list)
    nll: list[float] = field(default_factory=list)


@dataclass
class ProblemResult:
    reference: int
    turn_answers: list[float | None] = field(default_factory=list)
    turn_correct: list[bool] = field(default_factory=list)
    greedy_summary: dict[str, Any] = field(default_factory=dict)
    samples: dict[float, Samples] = field(default_factory=dict)  # by sampling temperature


def _answer(text: str) -> float | None:
    value = extract_number(text)
    return None if value is None else (float(round(value)) if float(value).is_integer() else value)


def evaluate_problem(model: Generator, problem: Problem, cfg: EvalConfig, index: int) -> ProblemResult:
    """All generations for one problem; seeds derive from (cfg.seed, index, turn) for reproducibility."""
    result = ProblemResult(reference=problem.answer)
    messages: list[dict[str, str]] = [{"role": "user", "content": problem.question}]
    for turn in range(cfg.turns):
        temperature = 0.0 if turn == 0 else cfg.temperature
        seed = cfg.seed * 1_000_003 + index * 101 + turn
        gen = model.generate(messages, cfg.max_new_tokens, temperature, 1, seed=seed)[0]
        answer = _answer(gen.text)
        result.turn_answers.append(answer)
        result.turn_correct.append(numbers_match(answer, problem.answer))
        if turn == 0:
            result.greedy_summary = gen.stats.summary() if gen.stats is not None else {}
        messages = [
            *messages,
            {"role": "assistant", "content": gen.text},
            {"role": "user", "content": FEEDBACK},
        ]
    seed = cfg.seed * 1_000_003 + index * 101 + 50
    for temperature in cfg.bon_temperatures:
        result.samples[temperature] = sample_best_of_n(
            model, messages[:1], cfg, temperature, problem.answer, seed
        )
    return result


def sample_best_of_n(
    model: Generator, messages: list[dict[str, str]], cfg: EvalConfig, temperature: float,
    reference: int, seed: int,
) -> Samples:  # fmt: skip
    samples = Samples()
    for gen in model.generate(messages, cfg.max_new_tokens, temperature, cfg.samples, seed=seed):
        answer = _answer(gen.text)
        samples.answers.append(answer)
        samples.correct.append(numbers_match(answer, reference))
        summary = gen.stats.summary() if gen.stats is not None else {}
        certainty = summary.get("mean_self_certainty")
        samples.certainty.append(-math.inf if certainty is None else float(certainty))
        nll = summary.get("mean_nll")
        samples.nll.append(math.inf if nll is None else float(nll))
    return samples


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Mann-Whitney ROC-AUC (ties count 1/2); None if a class is empty."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _platt_fit(x: np.ndarray, y: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Logistic regression p = sigmoid(a x + b) by Newton's method (with a tiny ridge for stability)."""
    mu, sd = float(x.mean()), float(x.std() or 1.0)
    z = (x - mu) / sd
    w = np.zeros(2)
    design = np.stack([z, np.ones_like(z)], axis=1)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(design @ w)))
        grad = design.T @ (p - y) + 1e-3 * w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + 1e-3 * np.eye(2)
        w -= np.linalg.solve(hess, grad)
    return float(w[0] / sd), float(w[1] - w[0] * mu / sd)


def crossfit_platt(scores: Sequence[float], labels: Sequence[bool], folds: int = 2) -> np.ndarray:
    """Calibrated P(correct) per item, each fitted on the other folds (no item predicts itself)."""
    x = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    fold = np.arange(len(x)) % folds
    probs = np.empty(len(x))
    for k in range(folds):
        a, b = _platt_fit(x[fold != k], y[fold != k])
        probs[fold == k] = 1 / (1 + np.exp(-(a * x[fold == k] + b)))
    return probs


def reliability(
    probs: np.ndarray, labels: Sequence[bool], bins: int = 10
) -> tuple[list[dict[str, float]], float]:
    """Equal-width bins of predicted confidence: (mean confidence, accuracy, count) and the ECE."""
    y = np.asarray(labels, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            conf, acc, count = float(probs[mask].mean()), float(y[mask].mean()), int(mask.sum())
            rows.append({"confidence": conf, "accuracy": acc, "count": count})
            ece += count / len(y) * abs(conf - acc)
    return rows, ece


def _mean(values: Sequence[bool | float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def aggregate(results: Sequence[ProblemResult], cfg: EvalConfig) -> dict[str, Any]:
    """Accuracies, per-turn curves, Best-of-N selections and ROC-AUCs over all problems."""
    turns = cfg.turns
    p1 = [_mean([any(r.turn_correct[:k]) for r in results]) for k in range(1, turns + 1)]
    m1 = []
    for k in range(1, turns + 1):
        hits = []
        for r in results:
            vote = majority_vote(r.turn_answers[:k])  # ties go to the earliest answer
            hits.append(numbers_match(vote.answer, r.reference))  # type: ignore[arg-type]
        m1.append(_mean(hits))
    labels = [r.turn_correct[0] for r in results]
    auc: dict[str, float | None] = {}
    for name, read in METRICS.items():
        values = [read(r.greedy_summary) for r in results]
        if any(v is None for v in values):
            auc[name] = None
            continue
        auc[name] = roc_auc([float(v) for v in values if v is not None], labels)
    sweep = [{"temperature": t, **best_of_n_summary(results, t, cfg)} for t in cfg.bon_temperatures]
    return {
        "n": len(results),
        "turn1_greedy": p1[0],
        "p1_at_t": p1,
        "m1_at_t": m1,
        **{k: v for k, v in sweep[0].items() if k != "temperature"},
        "bon_sweep": sweep,
        "auc": auc,
    }


def best_of_n_summary(
    results: Sequence[ProblemResult], temperature: float, cfg: EvalConfig
) -> dict[str, float]:
    """Accuracy of one sample, of each selection over the N samples, pass@N, and the share of
    problems whose majority answer is the greedy turn-1 answer."""
    bon_sc, borda, borda_nll, major, oracle, agree = [], [], [], [], [], []
    for r in results:
        s = r.samples[temperature]
        bon_sc.append(s.correct[select_by_self_certainty(s.certainty)])
        vote = borda_vote(s.answers, s.certainty, p=cfg.borda_p)
        borda.append(numbers_match(vote.answer, r.reference))  # type: ignore[arg-type]
        vote = borda_vote(s.answers, [-v for v in s.nll], p=cfg.borda_p)
        borda_nll.append(numbers_match(vote.answer, r.reference))  # type: ignore[arg-type]
        vote = majority_vote(s.answers)
        major.append(numbers_match(vote.answer, r.reference))  # type: ignore[arg-type]
        agree.append(vote.answer == r.turn_answers[0])
        oracle.append(any(s.correct))
    return {
        "sample_accuracy": _mean([c for r in results for c in r.samples[temperature].correct]),
        "bon_self_certainty": _mean(bon_sc),
        "borda": _mean(borda),
        "borda_nll": _mean(borda_nll),
        "majority": _mean(major),
        "pass_at_n": _mean(oracle),
        "majority_is_greedy": _mean(agree),
    }


def _plot_turns(summary: dict[str, Any], cfg: EvalConfig, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = list(range(1, cfg.turns + 1))
    fig, ax = plt.subplots(figsize=(8.4, 4.2))
    ax.plot(x, [100 * v for v in summary["p1_at_t"]], "o-", label="p1@t (verifier feedback)")
    ax.plot(x, [100 * v for v in summary["m1_at_t"]], "s-", label="m1@t (majority, no oracle)")
    for key, label, style in (
        ("borda", f"Borda@{cfg.samples} (p={cfg.borda_p})", "--"),
        ("bon_self_certainty", f"Best-of-{cfg.samples} by self-certainty", ":"),
        ("majority", f"majority@{cfg.samples}", "-."),
    ):
        ax.axhline(100 * summary[key], linestyle=style, color="grey", linewidth=1, label=label)
    ax.set_xticks(x)
    ax.set_xlabel("turn")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Demo model, {summary['n']} held-out problems (turn 1 greedy)")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_reliability(
    rows: list[dict[str, float]], ece: float, metric: str, auc: float, scores: Sequence[float],
    labels: Sequence[bool], path: Path,
) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.2))
    left.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    left.bar(
        [r["confidence"] for r in rows], [r["accuracy"] for r in rows], width=0.06, alpha=0.7,
        label="accuracy per bin",
    )  # fmt: skip
    for r in rows:
        left.text(r["confidence"], r["accuracy"] + 0.02, str(r["count"]), fontsize=7, ha="center")
    left.set_xlim(0, 1)
    left.set_ylim(0, 1.08)
    left.set_xlabel(f"P(correct) from {metric} (cross-fitted Platt)")
    left.set_ylabel("empirical accuracy")
    left.set_title(f"Reliability: ECE {ece:.3f}")
    s = np.asarray(scores)
    y = np.asarray(labels, dtype=bool)
    bins = np.linspace(s.min(), s.max(), 30)
    right.hist(s[y], bins=bins, alpha=0.6, label="correct")
    right.hist(s[~y], bins=bins, alpha=0.6, label="wrong")
    right.set_xlabel(metric)
    right.set_title(f"Turn-1 greedy answers, ROC-AUC {auc:.3f}")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _table(summary: dict[str, Any], cfg: EvalConfig) -> str:
    lines = [f"{'metric':<38}{'value':>10}", "-" * 48]

    def row(name: str, value: float | None, pct: bool = True) -> None:
        text = "n/a" if value is None else (f"{100 * value:.1f}%" if pct else f"{value:.3f}")
        lines.append(f"{name:<38}{text:>10}")

    row("turn-1 greedy accuracy", summary["turn1_greedy"])
    for k, (p, m) in enumerate(zip(summary["p1_at_t"], summary["m1_at_t"], strict=True), start=1):
        row(f"p1@t{k} (verifier feedback)", p)
        row(f"m1@t{k} (majority, no oracle)", m)
    row(f"mean accuracy of a sample (T={cfg.bon_temperature})", summary["sample_accuracy"])
    row(f"Best-of-{cfg.samples} by self-certainty", summary["bon_self_certainty"])
    row(f"Borda@{cfg.samples} (p={cfg.borda_p})", summary["borda"])
    row(f"Borda@{cfg.samples} ranked by mean NLL", summary["borda_nll"])
    row(f"majority@{cfg.samples}", summary["majority"])
    row(f"pass@{cfg.samples} (oracle)", summary["pass_at_n"])
    for name, value in summary["auc"].items():
        row(f"ROC-AUC {name}", value, pct=False)
    if len(summary["bon_sweep"]) > 1:
        head = ("T", "sample", "Borda SC", "Borda NLL", "majority", f"pass@{cfg.samples}", "maj=greedy")
        lines += [
            "",
            f"Best-of-{cfg.samples} by sampling temperature (greedy {100 * summary['turn1_greedy']:.1f}%)",
        ]
        lines.append("".join(f"{h:>11}" for h in head))
        keys = ("sample_accuracy", "borda", "borda_nll", "majority", "pass_at_n", "majority_is_greedy")
        for entry in summary["bon_sweep"]:
            cells = [f"{entry['temperature']:>11.2f}", *(f"{100 * entry[k]:>10.1f}%" for k in keys)]
            lines.append("".join(cells))
    return "\n".join(lines)


def targets(summary: dict[str, Any]) -> dict[str, bool]:
    aucs = [v for v in summary["auc"].values() if v is not None]
    return {
        "turn1_in_band": TARGETS["turn1_min"] <= summary["turn1_greedy"] <= TARGETS["turn1_max"],
        "p1_gain": summary["p1_at_t"][-1] - summary["turn1_greedy"] >= TARGETS["p1_gain"],
        "auc": bool(aucs) and max(aucs) >= TARGETS["auc"],
        "borda_ge_greedy": summary["borda"] >= summary["turn1_greedy"],
    }


def _temperatures(text: str) -> tuple[float, ...]:
    """``--bon-sweep``: comma-separated positive temperatures ('' for none)."""
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if any(not (t > 0 and math.isfinite(t)) for t in values):
        raise argparse.ArgumentTypeError(f"sampling temperatures must be > 0: {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: bundled)")
    parser.add_argument("--n", type=int, default=500, help="held-out problems")
    parser.add_argument("--problem-seed", type=int, default=EVAL_SEED)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--temperature", type=float, default=EvalConfig.temperature, help="retries")
    parser.add_argument("--bon-temperature", type=float, default=EvalConfig.bon_temperature)
    parser.add_argument(
        "--bon-sweep", type=_temperatures, default=(0.2, 0.5, 0.7, 1.0),
        help="comma-separated further Best-of-N temperatures, reported side by side ('' for none)",
    )  # fmt: skip
    parser.add_argument("--samples", type=int, default=EvalConfig.samples)
    parser.add_argument("--turns", type=int, default=EvalConfig.turns)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from introspect.models.local import LocalModel

    torch.set_num_threads(args.threads)
    started = time.monotonic()
    cfg = EvalConfig(
        turns=args.turns,
        samples=args.samples,
        temperature=args.temperature,
        bon_temperature=args.bon_temperature,
        bon_sweep=args.bon_sweep,
        seed=args.seed,
    )
    path = args.model or model_path()
    model = LocalModel.from_pretrained(path, device="cpu", dtype="float32")
    problems = make_problems(args.n, seed=args.problem_seed, split="eval")
    results = []
    for i, problem in enumerate(problems):
        results.append(evaluate_problem(model, problem, cfg, i))
        if not args.quiet and (i + 1) % 50 == 0:
            acc = _mean([r.turn_correct[0] for r in results])
            print(f"[{i + 1}/{len(problems)}] turn-1 {100 * acc:.1f}%", file=sys.stderr, flush=True)
    summary = aggregate(results, cfg)

    args.out.mkdir(parents=True, exist_ok=True)
    _plot_turns(summary, cfg, args.out / "demo_accuracy_per_turn.png")
    ranked = sorted((v, k) for k, v in summary["auc"].items() if v is not None)
    best, ece = (ranked[-1][1], None) if ranked else (None, None)
    if best is not None:
        labels = [r.turn_correct[0] for r in results]
        scores = [float(METRICS[best](r.greedy_summary)) for r in results]  # type: ignore[arg-type]
        rows, ece = reliability(crossfit_platt(scores, labels), labels)
        reliability_png = args.out / "demo_reliability.png"
        _plot_reliability(rows, ece, best, summary["auc"][best], scores, labels, reliability_png)

    print(_table(summary, cfg))
    line = {
        "bench": "eval_demo",
        "model": str(path),
        "n": summary["n"],
        "turn1_greedy": round(summary["turn1_greedy"], 4),
        "p1@t5": round(summary["p1_at_t"][-1], 4),
        "m1@t5": round(summary["m1_at_t"][-1], 4),
        "p1_at_t": [round(v, 4) for v in summary["p1_at_t"]],
        "bon8_self_certainty": round(summary["bon_self_certainty"], 4),
        "borda8_p0.5": round(summary["borda"], 4),
        "borda8_p0.5_by_nll": round(summary["borda_nll"], 4),
        "majority8": round(summary["majority"], 4),
        "sample_accuracy": round(summary["sample_accuracy"], 4),
        "auc": {k: None if v is None else round(v, 4) for k, v in summary["auc"].items()},
        "best_metric": best,
        "best_auc": None if best is None else round(summary["auc"][best], 4),
        "ece_best_platt": None if ece is None else round(ece, 4),
        "retry_temperature": cfg.temperature,
        "bon_temperature": cfg.bon_temperature,
        "bon_sweep": [{k: round(v, 4) for k, v in entry.items()} for entry in summary["bon_sweep"]],
        "targets_met": targets(summary),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
