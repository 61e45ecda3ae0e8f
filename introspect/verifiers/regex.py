"""The ``regex`` verifier: the answer must match a user-supplied regular expression."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from introspect.verifiers.base import VerificationResult, VerificationTask

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class RegexOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(min_length=1, max_length=2000)
    flags: str = Field(default="", pattern=r"^[imsx]*$")
    full_match: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class RegexVerifier:
    name = "regex"
    needs_reference = False

    def __init__(self, options: RegexOptions) -> None:
        self.options = options
        flags = 0
        for letter in options.flags:
            flags |= _FLAGS[letter]
        self._regex = re.compile(options.pattern, flags)

    def extract(self, output: str) -> str:
        match = self._regex.search(output)
        return match.group(0) if match else output.strip()

    def verify(self, output: str, task: VerificationTask) -> VerificationResult:
        text = output.strip()
        match = self._regex.fullmatch(text) if self.options.full_match else self._regex.search(text)
        passed = match is not None
        return VerificationResult(
            passed=passed,
            score=1.0 if passed else 0.0,
            extracted=match.group(0) if match else None,
            message=None if passed else "The answer does not have the required form.",
        )
