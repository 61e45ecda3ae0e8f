"""The uncertainty gate: a pure function from one attempt's features to stop/revise/retrieve/escalate.

The rules, first match wins (each one names its ``reason``):

1. A human's answer is final (``human_answer``): it is the highest-value training target there is.
2. An attempt that only echoes the feedback, or repeats an earlier attempt word for word, is never
   accepted (``echo_feedback``/``echo_repeat``): the loop goes on within its budgets
   (:mod:`introspect.gate.echo`).
3. A deterministic verifier accepted the answer (``verified``). Verification tools ground an agent
   where evidence tools make it overconfident, so a verifier outranks every other signal.
4. Without a verifier, PCC routing answers directly when *certain and consistent*: confident by the
   logits and not contradicted by the critic (``confident``); the critic's approval stops the loop
   whatever the logits say (``critic_approved``: a critic that read the answer outranks a
   threshold on token statistics); with neither signal there is nothing to improve against
   (``unverifiable``).
5. Budgets: the turn budget (``max_turns``; RISE evaluates at five) and the token budget.
6. Escalate (at most once per job) when the entropix regime is *scattered* (both PCC signals low), or
   after ``escalate_after_failures`` rejected attempts.
7. Retrieve (at most ``max_retrievals`` times) when the regime says the model lacks information
   (entropix: high entropy, low varentropy).
8. Otherwise revise, with the critique's feedback (RISE Qu et al. 2024: the next attempt is conditioned
   on the prior attempts and the feedback).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from introspect.gate.policy import GatePolicy
from introspect.uncertainty.regime import RegimeThresholds, classify_regime

Action = Literal["stop", "revise", "retrieve", "escalate"]
ACTIONS: tuple[Action, ...] = ("stop", "revise", "retrieve", "escalate")


@dataclass(frozen=True)
class GateFeatures:
    """What the gate sees after one attempt; every field is JSON-ready and stored with the decision."""

    attempt: int
    turn_index: int
    phase: str
    stats: dict[str, Any] | None = None
    verified: bool | None = None
    critique_verdict: str | None = None
    # P(correct) from the scorer model's learned predictor (its gate profile), when it has one.
    predicted_correct: float | None = None
    failed_attempts: int = 0
    tokens_used: int = 0
    retrievals: int = 0
    escalations: int = 0
    retrieval_available: bool = False
    escalation_available: bool = False
    echo: str | None = None  # "feedback" | "repeat": the attempt is not an answer (gate.echo)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    inputs: dict[str, Any]
    thresholds: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "inputs": self.inputs,
            "thresholds": self.thresholds,
        }


def _number(stats: dict[str, Any] | None, key: str) -> float | None:
    value = (stats or {}).get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def regime_of(stats: dict[str, Any] | None, policy: GatePolicy) -> str | None:
    """The entropix regime under the policy's own cut-offs (not the summary's defaults)."""
    entropy, varentropy = _number(stats, "mean_entropy"), _number(stats, "mean_varentropy")
    if entropy is None or varentropy is None:
        return None
    cuts = RegimeThresholds(entropy=policy.entropy_threshold, varentropy=policy.varentropy_threshold)
    regime = classify_regime(entropy, varentropy, cuts)
    return None if regime is None else regime.value


def is_confident(
    stats: dict[str, Any] | None, policy: GatePolicy, predicted_correct: float | None = None
) -> bool | None:
    """Certainty from the logits; None when the answer has no usable statistics.

    Every configured signal must agree: mean self-certainty, mean NLL and -- when the model's profile
    has a learned predictor and a cut for it -- the predicted probability of being right. A profile
    whose calibration found no rule meeting its precision target sets ``stop_on_confidence`` off:
    the logits then never call an answer sure (the measured precision says they cannot)."""
    certainty = _number(stats, "mean_self_certainty")
    if certainty is None:
        return None
    if not policy.stop_on_confidence or certainty < policy.min_self_certainty:
        return False
    if policy.min_predicted_correct is not None and (
        predicted_correct is None or predicted_correct < policy.min_predicted_correct
    ):
        return False
    nll = _number(stats, "mean_nll")
    return not (policy.max_mean_nll is not None and nll is not None and nll > policy.max_mean_nll)


def decide(features: GateFeatures, policy: GatePolicy) -> Decision:
    """Choose the next action for an attempt; pure and deterministic."""
    confident = is_confident(features.stats, policy, features.predicted_correct)
    regime = regime_of(features.stats, policy)
    inputs = {
        **asdict(features),
        "confident": confident,
        "regime": regime,
        "mean_self_certainty": _number(features.stats, "mean_self_certainty"),
        "mean_entropy": _number(features.stats, "mean_entropy"),
        "mean_varentropy": _number(features.stats, "mean_varentropy"),
        "mean_nll": _number(features.stats, "mean_nll"),
        "gnll": _number(features.stats, "gnll"),
    }
    inputs.pop("stats")

    def made(action: Action, reason: str) -> Decision:
        return Decision(action=action, reason=reason, inputs=inputs, thresholds=policy.thresholds())

    if features.phase == "human":
        return made("stop", "human_answer")
    echo = features.echo
    if echo is None and features.verified is True:
        return made("stop", "verified")
    if echo is None and features.verified is None:
        if confident and features.critique_verdict != "incorrect":
            return made("stop", "confident")
        if features.critique_verdict == "correct":
            return made("stop", "critic_approved")
        if confident is None and features.critique_verdict in (None, "unknown"):
            return made("stop", "unverifiable")
    if features.attempt >= policy.max_turns:
        return made("stop", "max_turns")
    if policy.token_budget is not None and features.tokens_used >= policy.token_budget:
        return made("stop", "token_budget")
    if features.escalation_available and features.escalations < GatePolicy.MAX_ESCALATIONS:
        if regime is not None and regime in policy.escalate_regimes:
            return made("escalate", f"regime_{regime}")
        if features.failed_attempts >= policy.escalate_after_failures:
            return made("escalate", "repeated_failure")
    if (
        features.retrieval_available
        and features.retrievals < policy.max_retrievals
        and regime is not None
        and regime in policy.retrieve_regimes
    ):
        return made("retrieve", f"regime_{regime}")
    if echo is not None:
        return made("revise", f"echo_{echo}")
    if features.verified is False:
        return made("revise", "verifier_rejected")
    if features.critique_verdict == "incorrect":
        return made("revise", "critic_rejected")
    return made("revise", "low_confidence")
