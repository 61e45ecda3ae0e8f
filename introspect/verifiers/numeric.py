"""Pure numeric answer extraction and comparison.

Verification tools ground an agent where evidence tools make it overconfident, so the loop prefers a
deterministic checker whenever the task has a numeric answer. These functions hold no state and import
nothing heavy: the verifier registry wraps them, the demo task grades with them, and the eval reuses them.

Extraction order, most explicit first:

1. the last ``\\boxed{...}`` (the convention of math-tuned models);
2. the first number after the last "answer is" / "answer:" (our canonical "The answer is 42.");
3. the last number anywhere in the text.
"""

from __future__ import annotations

import math
import re

__all__ = ["extract_number", "numbers_match", "parse_number"]

# A number: optional sign (ASCII hyphen or U+2212 minus), then either thousands-grouped digits
# ("1,234,567") or plain digits, an optional decimal part, an optional exponent; or a bare ".5".
# Groups must be exactly three digits so that a list "1,2,3" reads as three numbers, not 123.
_NUMBER = r"[-\u2212]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_RE = re.compile(rf"(?<![\w.]){_NUMBER}(?![\d])")
# "answer is", "answer:", "answer =", "Final answer is" ... case-insensitive. Markdown bold and a
# currency sign may sit between the cue and the number, so we only look *after* the cue.
_CUE_RE = re.compile(r"answer\s*(?:is\b|:|=)", re.IGNORECASE)
_BOXED_RE = re.compile(r"\\boxed\{([^{}]*)\}")


def parse_number(token: str) -> float | None:
    """Parse one number as written ("1,234", "-5", "−2.5", "3e4", " 42 "); None if it is not one."""
    text = token.strip().replace("\u2212", "-").replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numbers_in(text: str) -> list[float]:
    values = (parse_number(m.group(0)) for m in _NUMBER_RE.finditer(text))
    return [v for v in values if v is not None]


def extract_number(text: str) -> float | None:
    """The final numeric answer stated in ``text``, or None when it states no number."""
    boxed = _BOXED_RE.findall(text)
    if boxed:
        numbers = _numbers_in(boxed[-1])
        if numbers:
            return numbers[-1]
    cues = list(_CUE_RE.finditer(text))
    if cues:
        numbers = _numbers_in(text[cues[-1].end() :])
        if numbers:
            return numbers[0]
    numbers = _numbers_in(text)
    return numbers[-1] if numbers else None


def numbers_match(
    a: float | int | str | None,
    b: float | int | str | None,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
) -> bool:
    """True when both sides are numbers that agree within ``rel_tol``/``abs_tol``.

    Strings are parsed with :func:`parse_number` (a reference is often stored as text); None, NaN or
    an unparsable string never matches anything, not even itself, so a missing answer is never right.
    """
    x = parse_number(a) if isinstance(a, str) else a
    y = parse_number(b) if isinstance(b, str) else b
    if x is None or y is None:
        return False
    fx, fy = float(x), float(y)
    if not (math.isfinite(fx) and math.isfinite(fy)):
        return False
    return math.isclose(fx, fy, rel_tol=rel_tol, abs_tol=abs_tol)
