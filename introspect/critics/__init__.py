"""Critics: a verdict on an attempt plus the feedback that the next attempt is conditioned on."""

from __future__ import annotations

from introspect.critics.base import Critic, CritiqueCall, CritiqueInput, CritiqueResult, Verdict
from introspect.critics.feedback import RISE_FEEDBACK, VerifierFeedbackCritic
from introspect.critics.llm import LlmCritic, parse_verdict

__all__ = [
    "RISE_FEEDBACK",
    "Critic",
    "CritiqueCall",
    "CritiqueInput",
    "CritiqueResult",
    "LlmCritic",
    "Verdict",
    "VerifierFeedbackCritic",
    "parse_verdict",
]
