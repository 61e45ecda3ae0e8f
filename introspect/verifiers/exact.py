"""Exact match against the reference, after light normalisation (case, whitespace, final period)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from introspect.verifiers.base import VerificationResult, VerificationTask

_ANSWER_CUE = re.compile(r"(?:final\s+)?answer\s*(?:is\b|:|=)\s*", re.IGNORECASE)


class ExactOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_sensitive: bool = False
    # Compare only what follows the last "answer is"/"answer:" when the output has such a cue.
    use_answer_cue: bool = True


class ExactVerifier:
    name = "exact"
    needs_reference = True

    def __init__(self, options: ExactOptions | None = None) -> None:
        self.options = options or ExactOptions()

    def _normalise(self, text: str) -> str:
        text = " ".join(text.split()).strip().rstrip(".").strip()
        return text if self.options.case_sensitive else text.casefold()

    def extract(self, output: str) -> str:
        if self.options.use_answer_cue:
            cues = list(_ANSWER_CUE.finditer(output))
            if cues:
                return output[cues[-1].end() :].strip().rstrip(".").strip()
        return output.strip()

    def verify(self, output: str, task: VerificationTask) -> VerificationResult:
        extracted = self.extract(output)
        if task.reference is None:
            return VerificationResult(passed=None, extracted=extracted, message="No reference answer.")
        passed = self._normalise(extracted) == self._normalise(task.reference)
        return VerificationResult(
            passed=passed,
            score=1.0 if passed else 0.0,
            extracted=extracted,
            message=None if passed else "The answer does not match the expected answer.",
        )
