"""The critic interface: a verdict on one attempt and the feedback its revision will read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Verdict = Literal["correct", "incorrect", "unknown"]


@dataclass(frozen=True)
class CritiqueInput:
    question: str
    answer: str
    verified: bool | None = None
    verifier_message: str | None = None


@dataclass(frozen=True)
class CritiqueCall:
    """A model call a critic made, recorded as a turn of phase ``critique`` (training data too)."""

    messages: list[dict[str, Any]]
    output: str
    model: str
    prompt_template: str
    prompt_hash: str
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class CritiqueResult:
    critic: str
    verdict: Verdict
    feedback: str
    issues: list[str] = field(default_factory=list)
    model: str | None = None
    call: CritiqueCall | None = None


class Critic(Protocol):
    name: str

    def critique(self, item: CritiqueInput) -> CritiqueResult: ...
