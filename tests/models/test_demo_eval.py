"""bench/eval_demo.py: its metrics, on a scripted model (no weights needed)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from introspect.models.demo import FEEDBACK, make_problems
from introspect.uncertainty import TokenStats

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_demo", ROOT / "bench" / "eval_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_demo"] = module
    spec.loader.exec_module(module)
    return module


class _Gen:
    def __init__(self, text: str, certainty: float) -> None:
        self.text = text
        n = 3
        self.stats = TokenStats(
            logprob=np.full(n, -0.1), entropy=np.full(n, 1 - certainty), varentropy=np.zeros(n),
            margin=np.full(n, certainty), top1_logprob=np.full(n, -0.1),
            self_certainty=np.full(n, certainty),
        )  # fmt: skip


class ScriptedModel:
    """Right at turn 1 on even problems (confidently); otherwise right at turn 3; samples mixed."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float, int]] = []

    def generate(
        self, messages: Sequence[dict[str, str]], max_new_tokens: int = 32, temperature: float = 0.0,
        n: int = 1, **kwargs: Any,
    ) -> list[_Gen]:  # fmt: skip
        question = messages[0]["content"]
        problem = next(p for p in make_problems(6) if p.question == question)
        index = make_problems(6).index(problem)
        turn = sum(m["role"] == "assistant" for m in messages)
        assert all(m["content"] == FEEDBACK for m in messages[2::2])
        self.calls.append((turn, temperature, n))
        if n > 1:
            answers = [problem.answer] * 5 + [problem.answer + 1] * 3
            return [_Gen(f"The answer is {a}.", 0.9 if a == problem.answer else 0.1) for a in answers]
        right = index % 2 == 0 if turn == 0 else turn == 2
        value = problem.answer if right else problem.answer + 10 + turn
        return [_Gen(f"x = {value}. The answer is {value}.", 0.9 if right else 0.2)]


def test_evaluate_and_aggregate(bench: ModuleType) -> None:
    model = ScriptedModel()
    cfg = bench.EvalConfig()
    results = [bench.evaluate_problem(model, p, cfg, i) for i, p in enumerate(make_problems(6))]
    assert model.calls[:6] == [(0, 0.0, 1), (1, 1.0, 1), (2, 1.0, 1), (3, 1.0, 1), (4, 1.0, 1), (0, 0.3, 8)]
    summary = bench.aggregate(results, cfg)
    assert summary["turn1_greedy"] == 0.5
    assert summary["p1_at_t"] == [0.5, 0.5, 1.0, 1.0, 1.0]
    # no oracle: 5 distinct answers, the tie goes to the earliest (turn 1)
    assert summary["m1_at_t"][-1] == 0.5
    assert summary["borda"] == summary["majority"] == summary["bon_self_certainty"] == 1.0
    assert summary["borda_nll"] == 1.0
    assert summary["sample_accuracy"] == 5 / 8
    assert summary["auc"]["self_certainty"] == 1.0
    assert summary["auc"]["neg_mean_nll"] == 0.5  # constant score: no information
    assert bench.targets(summary) == {
        "turn1_in_band": True, "p1_gain": True, "auc": True, "borda_ge_greedy": True,
    }  # fmt: skip
    assert summary["majority_is_greedy"] == 0.5  # greedy is right (= the majority) on even problems
    [main] = summary["bon_sweep"]  # no sweep configured: only the main temperature
    assert main["temperature"] == 0.3
    assert all(summary[k] == v for k, v in main.items() if k != "temperature")
    assert "p1@t5" in bench._table(summary, cfg)


def test_best_of_n_sweep_samples_each_temperature_once(bench: ModuleType) -> None:
    model = ScriptedModel()
    cfg = bench.EvalConfig(bon_sweep=(1.0, 0.3))  # 0.3 is the main temperature: sampled once
    results = [bench.evaluate_problem(model, p, cfg, i) for i, p in enumerate(make_problems(6))]
    assert [c for c in model.calls if c[2] > 1][:2] == [(0, 0.3, 8), (0, 1.0, 8)]
    assert len([c for c in model.calls if c[2] > 1]) == 12
    summary = bench.aggregate(results, cfg)
    assert [e["temperature"] for e in summary["bon_sweep"]] == [0.3, 1.0]
    assert summary["bon_sweep"][1]["borda"] == 1.0 and summary["bon_sweep"][1]["pass_at_n"] == 1.0
    assert "maj=greedy" in bench._table(summary, cfg)


def test_bon_sweep_option_is_checked(bench: ModuleType) -> None:
    assert bench._temperatures("0.2, 1") == (0.2, 1.0)
    assert bench._temperatures("") == ()
    for bad in ("0.2,x", "0", "-1", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench._temperatures(bad)


def test_roc_auc(bench: ModuleType) -> None:
    assert bench.roc_auc([0.1, 0.2, 0.3, 0.4], [False, False, True, True]) == 1.0
    assert bench.roc_auc([0.4, 0.3, 0.2, 0.1], [False, False, True, True]) == 0.0
    assert bench.roc_auc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert bench.roc_auc([0.1, 0.5, 0.5, 0.9], [False, False, True, True]) == 0.875
    assert bench.roc_auc([1.0, 2.0], [True, True]) is None


def test_platt_and_reliability(bench: ModuleType) -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=2000)
    labels = rng.random(2000) < 1 / (1 + np.exp(-2 * scores))
    probs = bench.crossfit_platt(scores, labels)
    assert probs.shape == (2000,) and ((probs > 0) & (probs < 1)).all()
    rows, ece = bench.reliability(probs, labels)
    assert sum(r["count"] for r in rows) == 2000
    assert ece < 0.05  # a well-specified logistic model is calibrated after Platt scaling
