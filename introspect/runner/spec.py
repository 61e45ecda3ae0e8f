"""Job requests: parsing and validation shared by the API (422 on error) and the worker.

``input``: ``{"prompt": str}`` or ``{"messages": [{"role", "content"}, ...]}``, plus optional
``reference``, ``verifier`` (a name or ``{"name": ..., **options}``) and ``corpus``.
``config``: the keys of :data:`CONFIG_KEYS`; ``gate`` holds ``GatePolicy`` overrides.
Unknown keys are errors, so a typo is a 422 rather than a silently ignored option.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from introspect.config import Settings, get_settings
from introspect.gate.policy import GatePolicy, GatePolicyError, policy_with_overrides
from introspect.job_limits import (
    MAX_MESSAGES,
    MAX_NAME_CHARS,
    BordaP,
    MaxTokens,
    MaxTurns,
    PromptText,
    Samples,
    Seed,
    Temperature,
    TokenBudget,
    json_problem,
)
from introspect.runner.context import Escalation, RunOptions, Selection
from introspect.runner.errors import JobValidationError
from introspect.runner.graphs import GRAPHS
from introspect.verifiers.base import VerifierConfigError
from introspect.verifiers.numeric import parse_number
from introspect.verifiers.registry import VerifierSpec, parse_verifier_spec

GRAPH_NAMES = tuple(GRAPHS)  # langgraph.json order
CONFIG_KEYS = (
    "max_turns", "max_tokens", "token_budget", "gate", "generator_model", "critic", "critic_model",
    "escalation_model", "escalation", "n", "selection", "borda_p", "temperature", "seed", "gate_profile",
)  # fmt: skip


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern=r"^(system|user|assistant)$")
    content: PromptText


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: PromptText | None = None
    messages: list[_Message] | None = Field(default=None, max_length=MAX_MESSAGES)
    reference: PromptText | None = None
    verifier: str | dict[str, Any] | None = None
    corpus: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_turns: MaxTurns | None = None
    max_tokens: MaxTokens = 256
    token_budget: TokenBudget | None = None
    gate: dict[str, Any] = Field(default_factory=dict)
    # False: the policy defaults (plus ``gate``) instead of the scorer model's calibrated profile.
    gate_profile: bool = True
    generator_model: str | None = None
    critic: str = Field(default="auto", pattern=r"^(auto|feedback|llm)$")
    critic_model: str | None = None
    escalation_model: str | None = None
    escalation: Escalation | None = None
    n: Samples = 4
    selection: Selection = "self_certainty"
    borda_p: BordaP | None = None
    temperature: Temperature = 0.8
    seed: Seed | None = None

    @field_validator("escalation", mode="before")
    @classmethod
    def _escalation(cls, value: Any) -> Any:
        if value is not None and value not in get_args(Escalation):
            raise ValueError(f"escalation must be one of {get_args(Escalation)}")
        return value


@dataclass(frozen=True)
class JobSpec:
    graph: str
    prompt: str
    messages: list[dict[str, str]] | None
    reference: str | None
    verifier: VerifierSpec | None
    corpus: str | None
    policy: GatePolicy  # the defaults + this job's overrides; the runner rebases it on a gate profile
    options: RunOptions
    critic: str
    critic_model: str | None
    gate_overrides: dict[str, Any] = field(default_factory=dict)
    use_gate_profile: bool = True

    def policy_on(self, base: GatePolicy) -> GatePolicy:
        """This job's gate overrides applied on ``base`` (its scorer model's profile policy)."""
        return policy_with_overrides(self.gate_overrides, base=base)


def _errors(exc: ValidationError, where: str) -> str:
    return "; ".join(
        f"{where}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
        if err["loc"]
        else f"{where}: {err['msg']}"
        for err in exc.errors()
    )


def _known_model(name: str, settings: Settings, what: str) -> str:
    if name != "local" and name not in settings.remote_models:
        known = ", ".join(["local", *sorted(settings.remote_models)])
        raise JobValidationError(f"unknown {what} {name!r}; configured models: {known}")
    return name


def _default_verifier(reference: str | None) -> str | None:
    """A reference without a verifier gets ``numeric`` if it is a number, else ``exact``."""
    if reference is None:
        return None
    return "numeric" if parse_number(reference) is not None else "exact"


def parse_job(
    graph: str, input: dict[str, Any], config: dict[str, Any] | None, settings: Settings | None = None
) -> JobSpec:
    settings = settings or get_settings()
    if graph not in GRAPH_NAMES:
        raise JobValidationError(f"unknown graph {graph!r}; known graphs: {', '.join(GRAPH_NAMES)}")
    if not isinstance(input, dict):
        raise JobValidationError("input must be an object")
    problem = json_problem([input, config])
    if problem is not None:
        raise JobValidationError(problem)
    try:
        inp = _Input.model_validate(input)
        cfg = _Config.model_validate(config or {})
    except ValidationError as exc:
        raise JobValidationError(_errors(exc, "request")) from exc
    if (inp.prompt is None) == (inp.messages is None):
        raise JobValidationError("input needs exactly one of 'prompt' or 'messages'")
    messages = None if inp.messages is None else [m.model_dump() for m in inp.messages]
    if messages is not None:
        users = [m["content"] for m in messages if m["role"] == "user"]
        if not messages or messages[-1]["role"] != "user":
            raise JobValidationError("input.messages must end with a user message")
        prompt = users[-1]
    else:
        prompt = inp.prompt or ""
    if not prompt.strip():
        raise JobValidationError("the prompt is empty")
    try:
        verifier_raw = inp.verifier if inp.verifier is not None else _default_verifier(inp.reference)
        verifier = None if verifier_raw is None else parse_verifier_spec(verifier_raw)
    except VerifierConfigError as exc:
        raise JobValidationError(str(exc)) from exc
    if verifier is not None and verifier.entry.needs_reference and inp.reference is None:
        raise JobValidationError(f"verifier {verifier.name!r} needs input.reference")
    overrides = dict(cfg.gate)
    for key in ("max_turns", "token_budget"):
        if getattr(cfg, key) is not None:
            overrides[key] = getattr(cfg, key)
    try:
        policy = policy_with_overrides(overrides)
    except GatePolicyError as exc:
        raise JobValidationError(str(exc)) from exc
    generator = _known_model(cfg.generator_model or settings.generator_model, settings, "generator_model")
    critic_model = cfg.critic_model or settings.critic_model
    if critic_model is not None:
        _known_model(critic_model, settings, "critic_model")
    escalation_model = cfg.escalation_model or settings.escalation_model
    escalation = cfg.escalation or ("model" if escalation_model else "none")
    if escalation == "model":
        if escalation_model is None:
            raise JobValidationError("escalation 'model' needs an escalation_model")
        _known_model(escalation_model, settings, "escalation_model")
    return JobSpec(
        graph=graph,
        prompt=prompt,
        messages=messages,
        reference=inp.reference,
        verifier=verifier,
        corpus=inp.corpus,
        policy=policy,
        options=RunOptions(
            generator_model=generator,
            escalation=escalation,
            escalation_model=escalation_model,
            max_tokens=cfg.max_tokens,
            n=cfg.n,
            selection=cfg.selection,
            borda_p=cfg.borda_p,
            temperature=cfg.temperature,
            seed=cfg.seed,
        ),
        critic=cfg.critic,
        critic_model=critic_model,
        gate_overrides=overrides,
        use_gate_profile=cfg.gate_profile,
    )


def validate_job_request(
    graph: str, input: dict[str, Any], config: dict[str, Any] | None, settings: Settings | None = None
) -> None:
    """Raise :class:`JobValidationError` if the runner could not run this request."""
    parse_job(graph, input, config, settings)
