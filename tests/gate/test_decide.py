"""The gate is a pure function: every rule, its precedence, and the record it leaves."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from introspect.gate import GateFeatures, GatePolicy, GatePolicyError, decide, policy_with_overrides
from tests.graphs.fakes import CONFIDENT, DOUBTFUL, SCATTERED, UNSURE

POLICY = GatePolicy()
BASE = GateFeatures(attempt=1, turn_index=0, phase="generate", stats=CONFIDENT)


def verdict(features: GateFeatures, policy: GatePolicy = POLICY) -> tuple[str, str]:
    decision = decide(features, policy)
    return decision.action, decision.reason


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"phase": "human", "verified": False}, ("stop", "human_answer")),
        ({"verified": True, "stats": SCATTERED}, ("stop", "verified")),
        ({}, ("stop", "confident")),
        ({"critique_verdict": "incorrect"}, ("revise", "critic_rejected")),
        ({"stats": DOUBTFUL}, ("revise", "low_confidence")),
        ({"stats": None, "critique_verdict": "correct"}, ("stop", "critic_approved")),
        # A critic's approval stops the loop even when the logits are not confident (issue 17).
        ({"stats": DOUBTFUL, "critique_verdict": "correct"}, ("stop", "critic_approved")),
        ({"stats": SCATTERED, "critique_verdict": "correct"}, ("stop", "critic_approved")),
        # An echo is never accepted, whatever else says yes; budgets still end the loop.
        ({"phase": "revise", "echo": "feedback"}, ("revise", "echo_feedback")),
        ({"phase": "revise", "echo": "feedback", "verified": True}, ("revise", "echo_feedback")),
        ({"phase": "revise", "echo": "repeat", "critique_verdict": "correct"}, ("revise", "echo_repeat")),
        ({"phase": "revise", "echo": "feedback", "stats": None}, ("revise", "echo_feedback")),
        ({"phase": "revise", "echo": "feedback", "attempt": 5}, ("stop", "max_turns")),
        ({"stats": None}, ("stop", "unverifiable")),
        ({"stats": None, "critique_verdict": "unknown"}, ("stop", "unverifiable")),
        ({"verified": False}, ("revise", "verifier_rejected")),
        ({"verified": False, "attempt": 5}, ("stop", "max_turns")),
        ({"verified": False, "tokens_used": 20_000}, ("stop", "token_budget")),
        ({"verified": False, "stats": SCATTERED}, ("revise", "verifier_rejected")),
        (
            {"verified": False, "stats": SCATTERED, "escalation_available": True},
            ("escalate", "regime_scattered"),
        ),
        (
            {"verified": False, "stats": SCATTERED, "escalation_available": True, "escalations": 1},
            ("revise", "verifier_rejected"),
        ),
        (
            {"verified": False, "failed_attempts": 3, "escalation_available": True},
            ("escalate", "repeated_failure"),
        ),
        ({"verified": False, "stats": UNSURE, "retrieval_available": True}, ("retrieve", "regime_unsure")),
        (
            {"verified": False, "stats": UNSURE, "retrieval_available": True, "retrievals": 2},
            ("revise", "verifier_rejected"),
        ),
        ({"verified": False, "stats": UNSURE}, ("revise", "verifier_rejected")),
    ],
)
def test_rules(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    assert verdict(replace(BASE, **changes)) == expected


def test_confidence_needs_both_certainty_and_likelihood() -> None:
    high_nll = {**CONFIDENT, "mean_nll": POLICY.max_mean_nll + 0.1}  # type: ignore[operator]
    assert verdict(replace(BASE, stats=high_nll)) == ("revise", "low_confidence")
    lenient = GatePolicy(max_mean_nll=None)
    assert verdict(replace(BASE, stats=high_nll), lenient) == ("stop", "confident")
    at_threshold = {**CONFIDENT, "mean_self_certainty": POLICY.min_self_certainty}
    assert verdict(replace(BASE, stats=at_threshold)) == ("stop", "confident")


def test_regime_uses_the_policy_cut_offs() -> None:
    features = replace(BASE, verified=False, stats=UNSURE, retrieval_available=True)
    assert verdict(features) == ("retrieve", "regime_unsure")
    # With a higher entropy cut the same answer is "confident": nothing to retrieve.
    assert verdict(features, GatePolicy(entropy_threshold=5.0)) == ("revise", "verifier_rejected")


def test_decision_records_inputs_and_thresholds_as_json() -> None:
    decision = decide(replace(BASE, verified=False, stats=UNSURE, retrieval_available=True), POLICY).to_dict()
    assert set(decision) == {"action", "reason", "inputs", "thresholds"}
    inputs = decision["inputs"]
    assert inputs["regime"] == "unsure" and inputs["confident"] is False
    assert inputs["mean_self_certainty"] == UNSURE["mean_self_certainty"] and inputs["verified"] is False
    assert decision["thresholds"] == POLICY.model_dump(mode="json")
    json.dumps(decision)  # stored in a JSON column as is


def test_decide_is_deterministic() -> None:
    features = replace(BASE, verified=False, stats=SCATTERED, escalation_available=True)
    assert decide(features, POLICY) == decide(features, POLICY)


def test_policy_overrides_are_validated() -> None:
    assert policy_with_overrides({"max_turns": 3}).max_turns == 3
    assert policy_with_overrides(None) == POLICY
    with pytest.raises(GatePolicyError, match="not_a_threshold"):
        policy_with_overrides({"not_a_threshold": 1})
    with pytest.raises(GatePolicyError, match="max_turns"):
        policy_with_overrides({"max_turns": 0})
    with pytest.raises(GatePolicyError, match="retrieve_regimes"):
        policy_with_overrides({"retrieve_regimes": ["nowhere"]})
    with pytest.raises(GatePolicyError):
        policy_with_overrides([1, 2])  # type: ignore[arg-type]
