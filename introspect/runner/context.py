"""What graph nodes receive through LangGraph's runtime context (design.md §8: injected, never global).

Nodes never open database sessions: every write goes through the ``Recorder`` handed in here (the
runner's is fenced by the job's lease), and every model through the ``ModelProvider``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.retrievers import BaseRetriever

from introspect.critics.base import Critic
from introspect.gate.policy import GatePolicy
from introspect.gate.predictor import CorrectnessPredictor
from introspect.prompting import PromptLibrary, default_library
from introspect.store.repositories.trajectories import TurnData
from introspect.verifiers.base import Verifier

Escalation = Literal["model", "human", "none"]
Selection = Literal["self_certainty", "borda"]


class Scorer(Protocol):
    """Teacher-forced token statistics (``LocalModel.score``/``score_many``) for any response."""

    def score(self, messages: Sequence[Any], response: str, *, add_eos: bool = False) -> Any: ...

    def score_many(
        self, messages: Sequence[Any], responses: Sequence[str], *, add_eos: bool = False
    ) -> Any: ...


class ModelProvider(Protocol):
    def chat_model(self, name: str) -> BaseChatModel: ...

    def scorer(self) -> Scorer | None: ...


@dataclass(frozen=True)
class FinishData:
    final_answer: str | None
    stop_reason: str
    success: bool | None
    outcome_reward: float | None
    attempt_rewards: list[tuple[int, float]]
    models: list[str]
    total_tokens: int
    total_latency_ms: float
    turns: int  # turn indexes used: the state's next_index


class Recorder(Protocol):
    """Durable side effects of a run; every method may raise ``StaleLeaseError``/``RunCancelled``."""

    def check(self) -> None:
        """Called at every node boundary: raises if the job was cancelled or the lease was lost."""

    def turn_started(self, index: int, phase: str) -> None: ...

    def record_turns(self, turns: Sequence[TurnData]) -> None:
        """Write turns idempotently on (trajectory, index): a replayed node's writes are ignored."""

    def finish(self, data: FinishData) -> None:
        """Rewards and trajectory totals; a no-op when the trajectory is already finished. Called by
        a graph's last node: a recorder may settle the job with it."""


@dataclass(frozen=True)
class RunOptions:
    """The per-job knobs that are not gate thresholds (those live in ``GatePolicy``)."""

    generator_model: str = "local"
    escalation: Escalation = "none"
    escalation_model: str | None = None
    max_tokens: int = 256
    n: int = 4
    selection: Selection = "self_certainty"
    borda_p: float | None = None  # None: the paper's default for this N
    temperature: float = 0.8
    seed: int | None = None


@dataclass
class GraphContext:
    models: ModelProvider
    recorder: Recorder
    critic: Critic
    verifier: Verifier | None = None
    retriever: BaseRetriever | None = None
    policy: GatePolicy = field(default_factory=GatePolicy)
    options: RunOptions = field(default_factory=RunOptions)
    # The scorer model's gate profile (``introspect.gate.profile``): its learned correctness
    # predictor, and a reference stored with every gate decision it shaped.
    predictor: CorrectnessPredictor | None = None
    gate_profile: dict[str, Any] | None = None
    prompts: PromptLibrary = field(default_factory=default_library)
