"""The ``json_schema`` verifier: the answer is JSON (bare or in a fenced block) valid for a schema."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from introspect.verifiers.base import VerificationResult, VerificationTask

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)


class JsonSchemaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # "schema" would shadow a BaseModel attribute; the option is still spelled "schema".
    schema_: dict[str, Any] = Field(alias="schema")

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"invalid JSON Schema: {exc.message}") from exc
        return value


def extract_json_text(output: str) -> str:
    """The last fenced code block if there is one, else the text from the first brace or bracket."""
    fenced = _FENCE.findall(output)
    if fenced:
        return str(fenced[-1]).strip()
    starts = [i for i in (output.find("{"), output.find("[")) if i >= 0]
    return output[min(starts) :].strip() if starts else output.strip()


class JsonSchemaVerifier:
    name = "json_schema"
    needs_reference = False

    def __init__(self, options: JsonSchemaOptions) -> None:
        self.options = options
        self._validator = Draft202012Validator(options.schema_)

    def extract(self, output: str) -> str:
        return extract_json_text(output)

    def verify(self, output: str, task: VerificationTask) -> VerificationResult:
        text = extract_json_text(output)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return VerificationResult(
                passed=False, score=0.0, extracted=text, message=f"The answer is not valid JSON: {exc.msg}."
            )
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            return VerificationResult(passed=True, score=1.0, extracted=text)
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        return VerificationResult(
            passed=False,
            score=0.0,
            extracted=text,
            message=f"The JSON does not match the schema at {where}: {first.message}",
            details={"errors": [e.message for e in errors[:10]]},
        )
