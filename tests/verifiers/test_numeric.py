"""The pure numeric verifier functions: extraction order, number syntax, tolerance."""

from __future__ import annotations

import pytest

from introspect.verifiers.numeric import extract_number, numbers_match, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 42.", 42.0),
        ("12 + 30 = 42. The answer is 42.", 42.0),
        ("The answer is -17.", -17.0),
        ("The answer is \u22123.", -3.0),  # U+2212 minus sign
        ("The answer is 1,234,567.", 1234567.0),
        ("The answer is 3.25 metres", 3.25),
        ("The answer is .5", 0.5),
        ("The answer is 2.5e3.", 2500.0),
        ("the ANSWER IS 7", 7.0),
        ("Final answer: $1,200", 1200.0),
        ("answer = 9", 9.0),
        ("The answer is **8**.", 8.0),
        # The last cue wins: a retry that restates an earlier answer before correcting itself.
        ("I said the answer is 5, but the answer is 6.", 6.0),
        # The first number after the cue, not the last number of the text.
        ("The answer is 12 (I checked it 3 times).", 12.0),
        (r"so \boxed{64} and the answer is 63", 64.0),
        # No cue: the last number in the text.
        ("First 3, then 4, finally 5", 5.0),
        ("5-3 = 2", 2.0),  # a hyphen between digits is subtraction, not a sign
        ("1,2,3", 3.0),  # a list, not one thousands-grouped number
        ("The answer is unknown, sorry: 11", 11.0),  # a cue without a number falls back
    ],
)
def test_extract_number(text: str, expected: float) -> None:
    assert extract_number(text) == expected


@pytest.mark.parametrize("text", ["", "no digits here", "The answer is unknown.", r"\boxed{}"])
def test_extract_number_none(text: str) -> None:
    assert extract_number(text) is None


@pytest.mark.parametrize(
    ("token", "expected"),
    [("42", 42.0), (" -1,000 ", -1000.0), ("\u22122.5", -2.5), ("1e2", 100.0), ("abc", None), ("", None)],
)
def test_parse_number(token: str, expected: float | None) -> None:
    assert parse_number(token) == expected


def test_parse_number_rejects_non_finite() -> None:
    assert parse_number("inf") is None
    assert parse_number("nan") is None


def test_numbers_match_tolerances() -> None:
    assert numbers_match(42, 42.0)
    assert numbers_match("1,234", 1234)
    assert numbers_match(0.1 + 0.2, 0.3)
    assert not numbers_match(42, 43)
    assert not numbers_match(100.0, 100.5)
    assert numbers_match(100.0, 100.5, rel_tol=0.01)
    assert numbers_match(0.0, 0.05, abs_tol=0.1)
    assert not numbers_match(-5, 5)


@pytest.mark.parametrize(("a", "b"), [(None, 1), (1, None), (None, None), ("x", "x"), (float("nan"), 1.0)])
def test_numbers_match_never_matches_missing(a: float | str | None, b: float | str | None) -> None:
    assert not numbers_match(a, b)
