"""Answer verifiers: deterministic checkers the loop prefers over model judgement.

Verification tools ground an agent where evidence tools make it overconfident, so every verifier
here except ``llm`` is deterministic. Look them up by name through :mod:`introspect.verifiers.registry`.
"""

from __future__ import annotations

from introspect.verifiers.base import VerificationResult, VerificationTask, Verifier, VerifierConfigError
from introspect.verifiers.registry import (
    VERIFIERS,
    VerifierSpec,
    build_verifier,
    parse_verifier_spec,
)

__all__ = [
    "VERIFIERS",
    "VerificationResult",
    "VerificationTask",
    "Verifier",
    "VerifierConfigError",
    "VerifierSpec",
    "build_verifier",
    "parse_verifier_spec",
]
