"""Calibrating a model's gate from verified attempts: refusals, held-out figures, the predictor."""

from __future__ import annotations

import json
import math
import random

import pytest

from introspect.gate import GatePolicy, decide
from introspect.gate.calibrate import (
    CalibrationSettings,
    NotEnoughDataError,
    Sample,
    calibrate,
    is_heldout,
    samples_from_resources,
)
from introspect.gate.decision import GateFeatures, is_confident
from introspect.gate.metrics import auroc, ece, rule_figures
from introspect.gate.predictor import CorrectnessPredictor, fit_predictor
from introspect.gate.profile import GateProfile, ProfileError, catalog_profiles


def _stats(nll: float, sc: float, n: int = 8, margin: float = 2.0) -> dict[str, float]:
    return {
        "n_tokens": n, "mean_nll": nll, "mean_logprob": -nll, "min_logprob": -3 * nll, "max_logprob": 0.0,
        "gnll": n * nll / 2, "mean_self_certainty": sc, "min_self_certainty": sc - 1,
        "max_self_certainty": sc + 1, "mean_entropy": nll * 1.5, "min_entropy": 0.0,
        "max_entropy": nll * 3, "mean_varentropy": nll, "min_varentropy": 0.0, "max_varentropy": 2 * nll,
        "mean_margin": margin, "min_margin": margin / 2, "max_margin": margin * 2,
    }  # fmt: skip


def _separable(n_tasks: int = 120, seed: int = 0) -> list[Sample]:
    """Right answers have a low mean NLL, wrong ones a high one, with overlap; SC carries no signal."""
    rng = random.Random(seed)
    out = []
    for task in range(n_tasks):
        for _ in range(2):
            right = rng.random() < 0.5
            nll = rng.gauss(0.2 if right else 0.8, 0.2)
            out.append(Sample(_stats(abs(nll), rng.gauss(10, 1)), right, group=f"t{task}"))
    return out


def test_not_enough_data_is_an_error_that_says_how_much() -> None:
    few = [Sample(_stats(0.1, 10), True, f"t{i}") for i in range(12)]
    with pytest.raises(NotEnoughDataError, match=r"n=12 verified attempts \(12 right, 0 wrong\); need n>=40"):
        calibrate(few)
    all_right = [Sample(_stats(0.1, 10), True, f"t{i}") for i in range(100)]
    with pytest.raises(NotEnoughDataError, match="0 wrong"):
        calibrate(all_right)
    one_task = [Sample(_stats(0.1 * (i % 2), 10), i % 2 == 0, "same") for i in range(60)]
    with pytest.raises(NotEnoughDataError, match="split"):
        calibrate(one_task)


def test_split_keeps_a_task_on_one_side() -> None:
    samples = _separable()
    sides = {}
    for s in samples:
        sides.setdefault(s.group, set()).add(is_heldout(s.group, 0.3))
    assert all(len(v) == 1 for v in sides.values())
    held = sum(1 for v in sides.values() if True in v)
    assert 0.15 < held / len(sides) < 0.45


def test_calibration_meets_the_target_with_held_out_evidence() -> None:
    result = calibrate(_separable(), CalibrationSettings(target_precision=0.85))
    figures = result.figures
    assert figures["meets_target"] is result.meets_target is True
    stop = figures["heldout_stop"]
    assert stop["precision"] >= 0.85 and stop["accepted"] >= 1
    assert figures["n_fit"] + figures["n_heldout"] == figures["n"] == 240
    # Mean NLL carries the signal, self-certainty none: the AUROCs say so.
    assert figures["auroc"]["mean_nll"] > 0.85
    assert abs(figures["auroc"]["mean_self_certainty"] - 0.5) < 0.15
    assert figures["predictor_auroc"] > 0.8
    assert 0 <= figures["ece"]["predictor"] < 0.2
    policy = GatePolicy.model_validate({**GatePolicy().model_dump(), **result.policy})
    assert policy.stop_on_confidence is True
    assert json.loads(json.dumps(figures)) == figures  # JSON-ready, no NaN


def test_a_target_no_rule_meets_turns_logit_stops_off() -> None:
    rng = random.Random(1)
    noise = [Sample(_stats(rng.random(), rng.random() * 10), rng.random() < 0.3, f"t{i}") for i in range(200)]
    result = calibrate(noise, CalibrationSettings(target_precision=0.95))
    assert result.meets_target is False and result.policy["stop_on_confidence"] is False
    policy = GatePolicy.model_validate({**GatePolicy().model_dump(), **result.policy})
    # Even a perfectly "sure" answer is not confident under such a profile.
    assert is_confident(_stats(0.0, 100.0), policy) is False
    features = GateFeatures(attempt=1, turn_index=0, phase="generate", stats=_stats(0.0, 100.0))
    assert decide(features, policy).reason == "low_confidence"


def test_predictor_round_trips_as_json_and_refuses_bad_parameters() -> None:
    samples = _separable()
    model = fit_predictor([s.stats for s in samples], [s.correct for s in samples])
    again = CorrectnessPredictor.from_json(json.loads(json.dumps(model.to_json())))
    for s in samples[:20]:
        assert again.predict(s.stats) == pytest.approx(model.predict(s.stats))
    assert model.predict({"mean_nll": 0.1}) is None  # a missing feature: no guess
    bad = {**model.to_json(), "scale": [0.0] * len(model.features)}
    with pytest.raises(ValueError, match="positive scales"):
        CorrectnessPredictor.from_json(bad)
    with pytest.raises(ValueError, match="unsupported"):
        CorrectnessPredictor.from_json({**model.to_json(), "kind": "pickle"})


def test_predictor_cut_joins_the_confidence_rule() -> None:
    policy = GatePolicy(min_self_certainty=0.0, max_mean_nll=None, min_predicted_correct=0.8)
    assert is_confident(_stats(0.1, 5), policy, predicted_correct=0.9) is True
    assert is_confident(_stats(0.1, 5), policy, predicted_correct=0.5) is False
    assert is_confident(_stats(0.1, 5), policy, predicted_correct=None) is False


def test_metrics() -> None:
    assert auroc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auroc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert auroc([1, 2], [True, True]) is None
    assert ece([0.9, 0.9], [True, True]) == pytest.approx(0.1)
    assert ece([1.0, 0.0], [True, False]) == 0.0
    figures = rule_figures([True, True, False], [True, False, True])
    assert figures.precision == 0.5 and math.isclose(figures.coverage, 2 / 3)


def test_profile_validation_and_catalog() -> None:
    with pytest.raises(ProfileError, match="never sets"):
        GateProfile.from_json({"model_name": "m", "policy": {"max_turns": 9}})
    with pytest.raises(ProfileError, match="invalid"):
        GateProfile.from_json({"model_name": "m", "policy": {"max_mean_nll": -1}})
    for name, profile in catalog_profiles().items():
        assert profile.model_name == name and profile.figures["n"] > 0
        profile.base_policy()


def test_samples_from_trajectory_resources() -> None:
    resource = {
        "task_hash": "abc",
        "turns": [
            {"phase": "generate", "stats": {"mean_self_certainty": 4.0, "mean_nll": 0.2},
             "verifications": [{"passed": False}]},
            {"phase": "retrieve", "stats": None, "verifications": []},
            {"phase": "revise", "stats": {"mean_self_certainty": 6.0}, "verifications": [{"passed": True}]},
            {"phase": "revise", "stats": {"mean_self_certainty": 6.0}, "verifications": []},
            {"phase": "revise", "stats": {"mean_nll": 6.0}, "verifications": [{"passed": True}]},
        ]
    }  # fmt: skip
    samples = samples_from_resources([resource])
    assert [(s.correct, s.group) for s in samples] == [(False, "abc"), (True, "abc")]
