"""The ``python`` verifier: a user-supplied ``check(answer, reference)`` run in the sandbox.

The check may return ``True``/``None`` (pass), ``False`` (fail), a string (fail, with that message),
``(passed, message)``, or raise ``AssertionError("message")`` (fail). Any other exception, running past
the time limit or out of memory counts as a failure whose message says so; that message becomes the
feedback of the next attempt (the verifier-feedback critic appends it to RISE's fixed text).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from introspect.verifiers.base import VerificationResult, VerificationTask
from introspect.verifiers.sandbox import CheckSandbox, SandboxLimits, run_python

# Per check. RLIMIT_AS counts address space, not resident memory; 512 MB is ample for a check of an
# answer, and a worker's checks together stay within ``python_check_memory_budget_mb``.
MAX_CHECK_MEMORY_MB = 512


class PythonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=50_000)
    function: str = Field(default="check", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    memory_mb: int = Field(default=256, ge=32, le=MAX_CHECK_MEMORY_MB)

    @field_validator("code")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compile(value, "<check>", "exec")
        except SyntaxError as exc:
            raise ValueError(f"the check does not compile: {exc.msg} (line {exc.lineno})") from exc
        except (RecursionError, MemoryError, OverflowError, ValueError) as exc:
            # Deep nesting ("-" * 3000 + "1", "1" + "+1" * 5000) overflows the compiler's stack, and
            # NUL bytes are a ValueError: the submitter's code is at fault, never the service.
            raise ValueError(f"the check does not compile: {type(exc).__name__}: {exc}") from exc
        return value


def _interpret(value: Any) -> tuple[bool, str | None]:
    if value is None or value is True:
        return True, None
    if value is False:
        return False, "The check failed."
    if isinstance(value, str):
        return (False, value) if value else (True, None)
    if isinstance(value, list | tuple) and len(value) == 2:
        passed = bool(value[0])
        return passed, None if passed else (str(value[1]) or "The check failed.")
    return bool(value), None if value else "The check failed."


class PythonVerifier:
    name = "python"
    needs_reference = False

    def __init__(self, options: PythonOptions, sandbox: CheckSandbox | None = None) -> None:
        self.options = options
        self.sandbox = sandbox
        self.limits = SandboxLimits(timeout_s=options.timeout_s, memory_mb=options.memory_mb)

    def extract(self, output: str) -> str:
        return output.strip()

    def verify(self, output: str, task: VerificationTask) -> VerificationResult:
        args = [output, task.reference]
        outcome = run_python(self.options.code, self.options.function, args, self.limits, self.sandbox)
        details: dict[str, Any] = {"status": outcome.status, "isolation": outcome.isolation}
        if outcome.printed:
            details["printed"] = outcome.printed
        if outcome.status != "ok":
            return VerificationResult(
                passed=False,
                score=0.0,
                message=f"The check could not pass: {outcome.message}.",
                details=details,
            )
        passed, message = _interpret(outcome.value)
        return VerificationResult(
            passed=passed,
            score=1.0 if passed else 0.0,
            message=message,
            extracted=output.strip(),
            details=details,
        )
