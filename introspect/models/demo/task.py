"""The demo reference task: templated arithmetic word problems with a verifiable numeric answer.

Why arithmetic: every answer can be checked by the deterministic numeric verifier, so the whole loop
(uncertainty gate, verifier feedback, revision, RISE export) runs on real outcomes; and a tiny model is
*imperfect* at carrying digits, which is exactly what leaves room for the loop to help.

The reply works column by column from the right, like written arithmetic ("38 + 47: 8 + 7 = 15,
3 + 4 + 1 = 8. The answer is 85."). Every step is then a one-digit fact plus a carry -- the same few
hundred facts for every problem size -- which a 4-layer model learns within the CPU budget; stating
the result left to right in one go needs each carry before its digits are read, and learnt ~10x more
slowly in our runs. A slip in one step is a natural near-miss, what RISE retries learn to repair.
(We also tried answering turn 1 at a glance, "38 + 47 = 85.", and working column by column only after
the feedback, so that a retry would be a better computation rather than another sample of the same
one. Within the CPU budget neither form was learnt: after 1600 steps the glance was right 3.6% of the
time and the worked retry fixed 7% of them; the worked form alone reaches ~90% in that budget.)

The held-out split is fixed by a hash of the operands (not of the phrasing), so no eval problem is ever
seen in training under any wording, whatever seed either side uses.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from introspect.verifiers.numeric import extract_number, numbers_match

__all__ = [
    "EVAL_SEED",
    "FEEDBACK",
    "OPS",
    "Fault",
    "Op",
    "Problem",
    "Split",
    "is_correct",
    "iter_problems",
    "make_problems",
    "solve",
    "split_of",
]

Op = Literal["add", "sub", "mul"]
Split = Literal["train", "eval"]
OPS: tuple[Op, ...] = ("add", "sub", "mul")

# The oracle-feedback text of RISE (Qu et al. 2024, §4): the graph's verifier-feedback critic sends
# exactly this after a wrong attempt, so the model is trained on exactly this.
FEEDBACK = "The answer is incorrect. Please try again."
EVAL_SEED = 20240501
EVAL_PERCENT = 10  # share of operand triples held out for evaluation

_SYMBOL: dict[Op, str] = {"add": "+", "sub": "-", "mul": "*"}
_OP_WEIGHTS = (1, 2, 2)  # add, sub, mul: borrows and carries of a product are where slips happen
_WIDTHS = (1, 2, 4)  # relative frequency of 1-, 2- and 3-digit operands

_NAMES: tuple[tuple[str, str], ...] = (
    ("Ana", "She"),
    ("Ben", "He"),
    ("Carla", "She"),
    ("David", "He"),
    ("Emma", "She"),
    ("Farid", "He"),
    ("Grace", "She"),
    ("Hugo", "He"),
    ("Iris", "She"),
    ("Jonas", "He"),
    ("Kofi", "He"),
    ("Lena", "She"),
)
_ITEMS: tuple[str, ...] = (
    "apples",
    "books",
    "coins",
    "marbles",
    "stickers",
    "pencils",
    "cards",
    "eggs",
    "stamps",
    "shells",
)

# Several phrasings per operation. {a} and {b} are the operands in equation order (a op b).
_TEMPLATES: dict[Op, tuple[str, ...]] = {
    "add": (
        "{name} has {a} {item}. {pron} gets {b} more. How many {item} does {name} have now?",
        "What is {a} plus {b}?",
        "A shop sold {a} {item} on Monday and {b} {item} on Tuesday. How many {item} did it sell in total?",
        "{name} collected {a} {item} and then found {b} more. How many {item} does {name} have?",
        "Add {a} and {b}.",
    ),
    "sub": (
        "{name} has {a} {item} and gives {b} to a friend. How many {item} does {name} have left?",
        "What is {a} minus {b}?",
        "There were {a} {item} in a box. {b} were taken out. How many {item} are in the box now?",
        "{name} had {a} {item} and lost {b} of them. How many {item} are left?",
        "Subtract {b} from {a}.",
    ),
    "mul": (
        "{name} buys {a} bags with {b} {item} in each bag. How many {item} does {name} buy?",
        "What is {a} times {b}?",
        "There are {a} rows with {b} {item} in each row. How many {item} are there?",
        "Each box holds {b} {item}. How many {item} are in {a} boxes?",
        "Multiply {a} by {b}.",
    ),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One word problem: ``question`` is the user message, ``answer`` the exact integer result."""

    question: str
    answer: int
    op: Op
    a: int
    b: int

    @property
    def solution(self) -> str:
        """The canonical correct reply, the training target of every correct attempt."""
        return solve(self)[0]


@dataclass(frozen=True, slots=True)
class Fault:
    """A slip in one column step: its value is off by ``delta`` (later steps follow from it)."""

    column: int
    delta: int


def _digits_of(n: int, width: int) -> list[int]:
    return [(n // 10**i) % 10 for i in range(width)]  # least significant first


def _assemble(values: list[int], keep_last: bool) -> int:
    # The last column's value is written whole (it holds the final carry); the others give units.
    lower = "".join(str(v % 10) for v in reversed(values[:-1]))
    return int((str(values[-1]) if keep_last else str(values[-1] % 10)) + lower)


def solve(problem: Problem, fault: Fault | None = None) -> tuple[str, int]:
    """The worked reply and the answer it states; with ``fault``, a consistent but wrong attempt.

    The shape is ``"<a> <op> <b>: <step>, <step>. The answer is <n>."``, steps right to left:
    ``"7 + 2 + 1 = 10"`` (carry in), ``"15 - 1 - 7 = 7"`` (borrowed ten, borrow in),
    ``"7 * 8 + 3 = 59"`` (carry in). Only the final sentence is read by the numeric verifier.
    """
    a, b, op = problem.a, problem.b, problem.op
    width = len(str(a)) if op == "mul" else max(len(str(a)), len(str(b)))
    xs, ys = _digits_of(a, width), _digits_of(b, width)
    steps: list[str] = []
    values: list[int] = []
    carry = 0
    for i in range(width):
        slip = fault.delta if fault is not None and fault.column == i else 0
        if op == "add":
            value = max(0, min(19, xs[i] + ys[i] + carry + slip))
            steps.append(f"{xs[i]} + {ys[i]}{' + 1' if carry else ''} = {value}")
            carry = value // 10
        elif op == "sub":
            top = xs[i] + 10 if xs[i] - carry < ys[i] else xs[i]
            value = max(0, min(9, top - carry - ys[i] + slip))
            steps.append(f"{top}{' - 1' if carry else ''} - {ys[i]} = {value}")
            carry = 1 if top > 9 else 0
        else:
            value = max(0, xs[i] * b + carry + slip)
            steps.append(f"{xs[i]} * {b}{f' + {carry}' if carry else ''} = {value}")
            carry = value // 10
        values.append(value)
    result = _assemble(values, keep_last=op != "sub")
    return f"{a} {_SYMBOL[op]} {b}: {', '.join(steps)}. The answer is {result}.", result


def _compute(op: Op, a: int, b: int) -> int:
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    return a * b


def split_of(op: Op, a: int, b: int) -> Split:
    """The fixed split of an operand triple: a stable hash, independent of seeds and phrasing."""
    digest = hashlib.blake2b(f"{op}:{a}:{b}".encode(), digest_size=8).digest()
    return "eval" if int.from_bytes(digest, "big") % 100 < EVAL_PERCENT else "train"


def _number(rng: random.Random, digits: int, low: int = 0) -> int:
    return rng.randint(max(low, 10 ** (digits - 1) if digits > 1 else 0), 10**digits - 1)


def _digits(rng: random.Random, weights: tuple[int, int, int]) -> int:
    return rng.choices((1, 2, 3), weights=weights)[0]


def _operands(rng: random.Random, op: Op) -> tuple[int, int]:
    # Difficulty knobs (with _OP_WEIGHTS): mostly 3-digit operands, multiplication by a digit the
    # most frequent, so that the trained model stays imperfect at turn 1 -- room for the loop.
    if op == "add":
        return _number(rng, _digits(rng, _WIDTHS)), _number(rng, _digits(rng, _WIDTHS))
    if op == "sub":
        a = _number(rng, _digits(rng, _WIDTHS), low=1)
        b = rng.randint(0, a) if rng.random() < 0.5 else _number(rng, _digits(rng, _WIDTHS))
        return (a, b) if a >= b else (b, a)
    return _number(rng, _digits(rng, _WIDTHS), low=2), rng.randint(2, 9)


def _question(rng: random.Random, op: Op, a: int, b: int) -> str:
    template = rng.choice(_TEMPLATES[op])
    name, pron = rng.choice(_NAMES)
    return template.format(a=a, b=b, name=name, pron=pron, item=rng.choice(_ITEMS))


def iter_problems(rng: random.Random, split: Split = "train") -> Iterator[Problem]:
    """An endless stream of problems of one split, drawn from ``rng`` (the training data source)."""
    while True:
        op: Op = rng.choices(OPS, weights=_OP_WEIGHTS)[0]
        a, b = _operands(rng, op)
        if split_of(op, a, b) != split:
            continue
        yield Problem(_question(rng, op, a, b), _compute(op, a, b), op, a, b)


def make_problems(n: int, seed: int = EVAL_SEED, split: Split = "eval") -> list[Problem]:
    """``n`` distinct problems (by operands) of ``split``, the same list for the same arguments."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if split not in ("train", "eval"):
        raise ValueError(f"unknown split {split!r}")
    seen: set[tuple[Op, int, int]] = set()
    problems: list[Problem] = []
    for problem in iter_problems(random.Random(seed), split):
        if len(problems) >= n:
            break
        key = (problem.op, problem.a, problem.b)
        if key not in seen:
            seen.add(key)
            problems.append(problem)
    return problems


def is_correct(answer_text: str, reference: int | float | str) -> bool:
    """Grade a reply with the numeric verifier: its final stated number equals ``reference``."""
    return numbers_match(extract_number(answer_text), reference)
