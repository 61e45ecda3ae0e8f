"""Gate policy: every threshold the uncertainty gate reads, as data.

PCC routing (probabilistic certainty + consistency) and entropix both say the cut-offs are empirical,
so they live here as a validated model that a job may override key by key (``config["gate"]``) and
that :mod:`introspect.gate.calibrate` can re-derive from stored, verified trajectories.

How the defaults were chosen (``python -m introspect.gate.evaluate_demo -n 200``: greedy first
attempts of the bundled demo model on 200 held-out problems, graded by the numeric verifier; 74.0%
right at turn 1, 81.5% within five RISE turns):

* ``max_mean_nll = 0.037``: the 90th percentile of the right answers' mean NLL (0.0365, rounded up).
  Mean NLL is this model's best certainty signal (ROC-AUC 0.86 on 500 held-out answers,
  ``bench/eval_demo.py``; medians 0.014 right vs 0.039 wrong): the answers at or below the cut are
  right 84.8% of the time (134 of 158) instead of 74%.
* ``min_self_certainty = 10.8``: the calibration's rule (the smallest threshold whose answers at or
  above it are right >= 90% of the time) finds no such threshold on this model -- its mean
  self-certainty does not separate right from wrong (medians 11.76 vs 11.78 nats, ROC-AUC 0.47; even
  the 10 most self-certain answers are right only 60% of the time). So the default sits just below
  every observed value (min 10.86) and leaves the "sure" call to mean NLL instead of letting a
  meaningless cut reject right answers. A verifier outranks both whenever the task has one.
* Self-certainty's scale depends on the model (its vocabulary size and sharpness), so these two
  values are the demo model's: every other model gets a *gate profile* calibrated from its own
  stored, verified attempts (``introspect gate calibrate``, :mod:`introspect.gate.profile`), which a
  job uses as its base before its own ``config["gate"]`` overrides.
* Regime cut-offs: the uncertainty package's defaults (1.0 nat mean entropy, 1.5 nat^2 varentropy).
* Budgets: RISE evaluates at five turns (p1@t5, m1@t5), hence ``max_turns = 5``; two retrievals and
  one escalation keep the loop's cost bounded; 20k tokens covers five long attempts.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from introspect.job_limits import MaxTurns, TokenBudget

RegimeName = Literal["confident", "branch", "unsure", "scattered"]

# Calibrated on the demo model (module docstring); change them only together with that evidence.
DEFAULT_MIN_SELF_CERTAINTY = 10.8
DEFAULT_MAX_MEAN_NLL = 0.037


class GatePolicy(BaseModel):
    """Thresholds and budgets of :func:`introspect.gate.decide`; unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Escalation is a one-shot, expensive hand-off (a stronger model or a person): never twice a job.
    MAX_ESCALATIONS: ClassVar[int] = 1

    max_turns: MaxTurns = Field(default=5, description="Attempts per job, escalation included.")
    token_budget: TokenBudget | None = Field(
        default=20_000, description="Prompt + completion tokens of all model calls of a job."
    )
    max_retrievals: int = Field(default=2, ge=0, le=10, description="Retrieval steps per job (K).")
    retrieval_k: int = Field(default=4, ge=1, le=20, description="Passages per retrieval.")
    min_self_certainty: float = Field(
        default=DEFAULT_MIN_SELF_CERTAINTY,
        description="Mean self-certainty (nats) at or above which an unverified answer counts as sure.",
    )
    max_mean_nll: float | None = Field(
        default=DEFAULT_MAX_MEAN_NLL,
        ge=0,
        description="Mean NLL (nats/token) at or below which an answer counts as sure; None = unused.",
    )
    min_predicted_correct: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="The profile's learned predictor's P(correct) at or above which an answer counts as "
        "sure; None = unused.",
    )
    stop_on_confidence: bool = Field(
        default=True,
        description="Whether confident logits alone may end a job with no verifier; a calibration whose "
        "stop rule misses its precision target turns this off.",
    )
    entropy_threshold: float = Field(default=1.0, gt=0, description="entropix cut for high entropy.")
    varentropy_threshold: float = Field(default=1.5, gt=0, description="entropix cut for high varentropy.")
    retrieve_regimes: tuple[RegimeName, ...] = Field(
        default=("unsure",), description="Regimes that ask for information (high H, low V): retrieve."
    )
    escalate_regimes: tuple[RegimeName, ...] = Field(
        default=("scattered",), description="Regimes with no structure at all (high H, high V): escalate."
    )
    escalate_after_failures: int = Field(
        default=3, ge=1, description="Escalate (when available) after this many rejected attempts."
    )

    def thresholds(self) -> dict[str, Any]:
        """The policy as stored next to every decision (JSON-ready)."""
        return self.model_dump(mode="json")


class GatePolicyError(ValueError):
    """A policy override names an unknown key or an out-of-range value."""


def policy_with_overrides(overrides: dict[str, Any] | None, base: GatePolicy | None = None) -> GatePolicy:
    """``base`` (the defaults) with a job's overrides applied and re-validated."""
    base = base or GatePolicy()
    if not overrides:
        return base
    if not isinstance(overrides, dict):
        raise GatePolicyError("gate policy overrides must be an object")
    try:
        return GatePolicy.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'gate'}: {err['msg']}" for err in exc.errors()
        )
        raise GatePolicyError(f"invalid gate policy: {problems}") from exc
