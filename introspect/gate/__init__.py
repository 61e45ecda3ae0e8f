"""The uncertainty gate: a pure decision over an attempt's statistics, verdicts and budgets."""

from __future__ import annotations

from introspect.gate.decision import ACTIONS, Action, Decision, GateFeatures, decide, is_confident, regime_of
from introspect.gate.policy import GatePolicy, GatePolicyError, policy_with_overrides

__all__ = [
    "ACTIONS",
    "Action",
    "Decision",
    "GateFeatures",
    "GatePolicy",
    "GatePolicyError",
    "decide",
    "is_confident",
    "policy_with_overrides",
    "regime_of",
]
