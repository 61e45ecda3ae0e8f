"""Verifiers by name: validated options, clear errors, and each deterministic verifier's verdicts."""

from __future__ import annotations

import pytest

from introspect.verifiers import (
    VERIFIERS,
    VerificationTask,
    VerifierConfigError,
    build_verifier,
    parse_verifier_spec,
)

TASK = VerificationTask(prompt="What is 40 plus 2?", reference="42")


def test_registry_names() -> None:
    assert set(VERIFIERS) == {"exact", "numeric", "regex", "json_schema", "python", "llm"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown verifier 'nope'"),
        ({"pattern": "x"}, "unknown verifier None"),
        (42, "a name or an object"),
        ({"name": "regex"}, "pattern"),
        ({"name": "regex", "pattern": "("}, "invalid regular expression"),
        ({"name": "regex", "pattern": "x", "flags": "q"}, "flags"),
        ({"name": "numeric", "tolerance": 1}, "tolerance"),
        ({"name": "json_schema", "schema": {"type": "nonsense"}}, "invalid JSON Schema"),
        ({"name": "python", "code": "def check(:"}, "does not compile"),
        ({"name": "python", "code": "def check(a, r): return True", "timeout_s": 0}, "timeout_s"),
        ({"name": "llm", "threshold": 1.5}, "threshold"),
    ],
)
def test_bad_specs_are_rejected(spec: object, message: str) -> None:
    with pytest.raises(VerifierConfigError, match=message):
        parse_verifier_spec(spec)  # type: ignore[arg-type]


def test_llm_verifier_needs_a_local_model() -> None:
    with pytest.raises(VerifierConfigError, match="local model"):
        build_verifier("llm")


def test_spec_round_trips_to_json() -> None:
    spec = parse_verifier_spec({"name": "json_schema", "schema": {"type": "object"}})
    assert spec.to_json() == {"name": "json_schema", "schema": {"type": "object"}}
    assert parse_verifier_spec(spec.to_json()).options == spec.options


def test_numeric() -> None:
    verifier = build_verifier("numeric")
    right = verifier.verify("40 + 2 = 42. The answer is 42.", TASK)
    assert right.passed is True and right.extracted == "42" and right.score == 1.0
    wrong = verifier.verify("The answer is 41.", TASK)
    assert wrong.passed is False and wrong.message == "The numeric verifier rejected 41."
    assert verifier.verify("I do not know.", TASK).message == "The answer states no final number."
    assert verifier.verify("42", VerificationTask(prompt="?", reference=None)).passed is None
    assert verifier.extract("It is 1,234.5 in total") == "1234.5"
    loose = build_verifier({"name": "numeric", "rel_tol": 0.01})
    assert loose.verify("The answer is 42.3", TASK).passed is True


def test_exact() -> None:
    verifier = build_verifier("exact")
    task = VerificationTask(prompt="Capital of France?", reference="Paris")
    assert verifier.verify("The answer is paris.", task).passed is True
    assert verifier.verify("  Paris  ", task).passed is True
    assert verifier.verify("Lyon", task).passed is False
    strict = build_verifier({"name": "exact", "case_sensitive": True, "use_answer_cue": False})
    assert strict.verify("paris", task).passed is False


def test_regex() -> None:
    verifier = build_verifier({"name": "regex", "pattern": r"\d{4}-\d{2}-\d{2}"})
    assert verifier.verify("It happened on 2024-05-01.", TASK).passed is True
    assert verifier.verify("It happened on 2024-05-01.", TASK).extracted == "2024-05-01"
    assert verifier.verify("May 1st", TASK).passed is False
    full = build_verifier({"name": "regex", "pattern": "yes|no", "flags": "i", "full_match": True})
    assert full.verify(" YES ", TASK).passed is True and full.verify("yes, surely", TASK).passed is False


def test_json_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    verifier = build_verifier({"name": "json_schema", "schema": schema})
    assert verifier.verify('Here it is: {"n": 3}', TASK).passed is True
    assert verifier.verify('```json\n{"n": 3}\n```', TASK).passed is True
    bad = verifier.verify('{"n": "three"}', TASK)
    assert bad.passed is False and bad.message is not None and "at n" in bad.message
    missing = verifier.verify("{}", TASK)
    assert missing.passed is False and "required" in (missing.message or "")
    assert verifier.verify("not json", TASK).message == "The answer is not valid JSON: Expecting value."
