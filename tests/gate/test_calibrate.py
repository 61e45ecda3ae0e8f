"""Calibrating the certainty thresholds from verified attempts."""

from __future__ import annotations

from introspect.gate import GatePolicy
from introspect.gate.calibrate import (
    Sample,
    calibrate,
    min_certainty_for_precision,
    quantile,
    samples_from_resources,
)


def test_threshold_is_the_lowest_meeting_the_precision_target() -> None:
    # Above 5.0 everything is right; at 3.0 one wrong answer joins ten right ones (precision 10/11).
    samples = [Sample(6.0 + i / 10, 0.1, True) for i in range(10)]
    samples += [Sample(3.0, 0.5, False), Sample(1.0, 0.9, False), Sample(0.5, 1.0, True)]
    found = min_certainty_for_precision(samples, target_precision=0.9, min_support=5)
    assert found is not None
    threshold, precision, support = found
    assert threshold == 3.0 and support == 11 and abs(precision - 10 / 11) < 1e-12
    strict = min_certainty_for_precision(samples, target_precision=1.0, min_support=5)
    assert strict is not None and strict[0] == 6.0


def test_ties_are_never_split() -> None:
    samples = [Sample(2.0, None, True)] * 5 + [Sample(2.0, None, False)] * 5
    assert min_certainty_for_precision(samples, 0.9, 1) is None


def test_calibrate_builds_a_policy_and_keeps_other_fields() -> None:
    samples = [Sample(5.0 + i, 0.01 * i, True) for i in range(10)] + [Sample(1.0, 2.0, False)]
    result = calibrate(samples, base=GatePolicy(max_turns=3), target_precision=0.95)
    assert result.policy.max_turns == 3
    assert result.policy.min_self_certainty == 5.0 and result.min_self_certainty == 5.0
    assert result.max_mean_nll == quantile([0.01 * i for i in range(10)], 0.9)
    assert result.n_samples == 11 and result.accuracy == 10 / 11


def test_samples_from_trajectory_resources() -> None:
    resource = {
        "turns": [
            {"phase": "generate", "stats": {"mean_self_certainty": 4.0, "mean_nll": 0.2},
             "verifications": [{"passed": False}]},
            {"phase": "retrieve", "stats": None, "verifications": []},
            {"phase": "revise", "stats": {"mean_self_certainty": 6.0}, "verifications": [{"passed": True}]},
            {"phase": "revise", "stats": {"mean_self_certainty": 6.0}, "verifications": []},
        ]
    }  # fmt: skip
    assert samples_from_resources([resource]) == [Sample(4.0, 0.2, False), Sample(6.0, None, True)]
