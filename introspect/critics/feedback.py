"""The verifier-feedback critic: RISE's fixed oracle feedback, plus the verifier's message.

RISE (Qu et al. 2024) shows that a bare "The answer is incorrect. Please try again." after each wrong
attempt is enough to train self-improvement over turns; the demo model is trained on exactly this text.
When a verifier explains itself (a failing check's message), that sentence is appended: it is
information the next attempt can use, and it never contains the reference answer.
"""

from __future__ import annotations

from introspect.critics.base import CritiqueInput, CritiqueResult

RISE_FEEDBACK = "The answer is incorrect. Please try again."


class VerifierFeedbackCritic:
    name = "verifier_feedback"

    def critique(self, item: CritiqueInput) -> CritiqueResult:
        if item.verified is True:
            return CritiqueResult(critic=self.name, verdict="correct", feedback="")
        if item.verified is False:
            message = (item.verifier_message or "").strip()
            feedback = f"{RISE_FEEDBACK} {message}" if message else RISE_FEEDBACK
            return CritiqueResult(
                critic=self.name, verdict="incorrect", feedback=feedback, issues=[message] if message else []
            )
        # No oracle: RISE's no-oracle variant sends the same fixed text, and the verdict stays unknown.
        return CritiqueResult(critic=self.name, verdict="unknown", feedback=RISE_FEEDBACK)
