"""The verifier interface and its result; concrete verifiers register by name in ``registry``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class VerifierConfigError(ValueError):
    """Unknown verifier name or invalid verifier options (the API answers 422)."""


@dataclass(frozen=True)
class VerificationResult:
    """``passed`` is None when the verifier could not judge (for example: nothing to compare with).

    ``message`` is written for the model: the verifier-feedback critic appends it to RISE's fixed
    feedback, so it must never leak the reference answer.
    """

    passed: bool | None
    score: float | None = None
    message: str | None = None
    extracted: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerificationTask:
    """What a verifier may look at besides the answer."""

    prompt: str
    reference: str | None = None


@runtime_checkable
class Verifier(Protocol):
    name: str

    def extract(self, output: str) -> str:
        """The final answer stated in ``output`` (used for voting and stored on the turn)."""
        ...

    def verify(self, output: str, task: VerificationTask) -> VerificationResult: ...
