"""The ``numeric`` verifier: the final number of the answer equals the reference within tolerance.

A thin class over the pure functions of :mod:`introspect.verifiers.numeric` (extraction order:
``\\boxed{}``, "the answer is N", the last number).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from introspect.verifiers.base import VerificationResult, VerificationTask
from introspect.verifiers.numeric import extract_number, numbers_match, parse_number


class NumericOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rel_tol: float = Field(default=1e-6, ge=0)
    abs_tol: float = Field(default=1e-9, ge=0)


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


class NumericVerifier:
    name = "numeric"
    needs_reference = True

    def __init__(self, options: NumericOptions | None = None) -> None:
        self.options = options or NumericOptions()

    def extract(self, output: str) -> str:
        value = extract_number(output)
        return output.strip() if value is None else _format(value)

    def verify(self, output: str, task: VerificationTask) -> VerificationResult:
        value = extract_number(output)
        extracted = None if value is None else _format(value)
        if task.reference is None or parse_number(task.reference) is None:
            return VerificationResult(passed=None, extracted=extracted, message="No numeric reference.")
        if value is None:
            return VerificationResult(passed=False, score=0.0, message="The answer states no final number.")
        passed = numbers_match(value, task.reference, self.options.rel_tol, self.options.abs_tol)
        return VerificationResult(
            passed=passed,
            score=1.0 if passed else 0.0,
            extracted=extracted,
            # Never the reference: the feedback must say *that* it is wrong, not what is right.
            # The demo model was trained on exactly this sentence after RISE's feedback (models/demo/data.py).
            message=None if passed else f"The numeric verifier rejected {extracted}.",
        )
