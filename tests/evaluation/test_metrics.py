"""RISE metrics: majority vote, AUROC, per-turn accuracy, p1/m1 on hand-made attempts."""

from __future__ import annotations

from introspect.evaluation.metrics import (
    GradedAttempt,
    ProblemRun,
    auroc,
    majority,
    no_oracle_metrics,
    oracle_metrics,
)


def _a(answer: str, correct: bool, certainty: float = 0.0) -> GradedAttempt:
    return GradedAttempt(answer=answer, correct=correct, stats={"mean_self_certainty": certainty}, tokens=10)


def test_majority_breaks_ties_to_the_latest() -> None:
    assert majority(["1", "2", "2", "1"]) == "1"
    assert majority(["1", "2", "2"]) == "2"
    assert majority([None, ""]) is None


def test_auroc_rank_statistic() -> None:
    assert auroc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auroc([0.1, 0.9], [True, False]) == 0.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    assert auroc([0.5], [True]) is None


def test_no_oracle_and_oracle_metrics() -> None:
    runs = [
        ProblemRun("a", [_a("1", False, 1.0), _a("2", True, 5.0), _a("2", True, 6.0)], total_tokens=30),
        ProblemRun("b", [_a("7", True, 4.0)], total_tokens=10),  # stopped early: its answer carries on
        ProblemRun("c", [_a("3", False, 0.5), _a("4", False, 0.2), _a("3", False, 0.1)], total_tokens=30),
    ]
    right = {"a": "2", "b": "7", "c": "9"}
    result = no_oracle_metrics(runs, 3, lambda row, answer: answer == right[row])
    assert result["turn1"] == 1 / 3
    assert result["accuracy_per_turn"] == [1 / 3, 2 / 3, 2 / 3]
    assert result["m1_at_t"] == 2 / 3
    assert result["auroc"]["self_certainty"] == 1.0
    oracle = oracle_metrics(runs, 3)
    assert oracle["p1_at_t"] == 2 / 3 and oracle["mean_turns"] == 7 / 3
    assert oracle["tokens_per_solved"] == 70 / 2
