"""Verifiers by name: option validation (for the API's 422) apart from construction (in the worker).

A spec is a name (``"numeric"``) or an object ``{"name": "regex", "pattern": "..."}`` whose other keys
are that verifier's options, validated by its pydantic model with unknown keys rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from introspect.verifiers.base import Verifier, VerifierConfigError
from introspect.verifiers.exact import ExactOptions, ExactVerifier
from introspect.verifiers.json_schema import JsonSchemaOptions, JsonSchemaVerifier
from introspect.verifiers.llm_judge import LlmJudgeOptions, LlmJudgeVerifier, Scorer
from introspect.verifiers.numeric_verifier import NumericOptions, NumericVerifier
from introspect.verifiers.python_check import PythonOptions, PythonVerifier
from introspect.verifiers.regex import RegexOptions, RegexVerifier


@dataclass(frozen=True)
class VerifierEntry:
    options: type[BaseModel]
    build: Callable[[Any, Scorer | None], Verifier]
    needs_reference: bool = False
    needs_scorer: bool = False


def _judge(options: Any, scorer: Scorer | None) -> Verifier:
    if scorer is None:
        raise VerifierConfigError("the 'llm' verifier needs a local model to read P(True) from")
    return LlmJudgeVerifier(options, scorer)


VERIFIERS: dict[str, VerifierEntry] = {
    "exact": VerifierEntry(ExactOptions, lambda o, _: ExactVerifier(o), needs_reference=True),
    "numeric": VerifierEntry(NumericOptions, lambda o, _: NumericVerifier(o), needs_reference=True),
    "regex": VerifierEntry(RegexOptions, lambda o, _: RegexVerifier(o)),
    "json_schema": VerifierEntry(JsonSchemaOptions, lambda o, _: JsonSchemaVerifier(o)),
    "python": VerifierEntry(PythonOptions, lambda o, _: PythonVerifier(o)),
    "llm": VerifierEntry(LlmJudgeOptions, _judge, needs_scorer=True),
}


@dataclass(frozen=True)
class VerifierSpec:
    name: str
    options: BaseModel

    @property
    def entry(self) -> VerifierEntry:
        return VERIFIERS[self.name]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.options.model_dump(mode="json", by_alias=True)}


def parse_verifier_spec(spec: str | dict[str, Any]) -> VerifierSpec:
    """Validate a verifier spec without building it (no model, no subprocess)."""
    if isinstance(spec, str):
        name, raw = spec, {}
    elif isinstance(spec, dict):
        raw = dict(spec)
        name = raw.pop("name", None)
    else:
        raise VerifierConfigError("a verifier is a name or an object with a 'name'")
    if not isinstance(name, str) or name not in VERIFIERS:
        raise VerifierConfigError(f"unknown verifier {name!r}; known: {', '.join(sorted(VERIFIERS))}")
    try:
        options = VERIFIERS[name].options.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or name}: {err['msg']}" for err in exc.errors()
        )
        raise VerifierConfigError(f"invalid options for verifier {name!r}: {problems}") from exc
    return VerifierSpec(name=name, options=options)


def build_verifier(spec: str | dict[str, Any] | VerifierSpec, scorer: Scorer | None = None) -> Verifier:
    parsed = spec if isinstance(spec, VerifierSpec) else parse_verifier_spec(spec)
    return parsed.entry.build(parsed.options, scorer)
