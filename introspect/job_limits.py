"""One definition of every bound on a job request, shared by the API schema, the runner's parser and
the gate policy, so the three can never accept different values for the same field.

Numbers are strict: JSON ``true`` is not a turn count and ``3.0`` or ``"3"`` is not an integer (pydantic
would otherwise coerce them). Every integer has an upper bound, because each one ends up in a C
integer somewhere: torch's and OpenAI's seeds are 64-bit, token counters are compared with int64
columns, and Postgres cannot store Python's unbounded integers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

MAX_TURNS = 20  # RISE evaluates at 5; beyond 20 a job is a loop, not introspection
MAX_TOKENS = 8192  # per model call
MAX_TOKEN_BUDGET = 10_000_000  # prompt + completion tokens of all calls of one job
MAX_SEED = 2**63 - 1  # torch.manual_seed and the OpenAI API take a 64-bit seed
MAX_SAMPLES = 32  # best-of-N siblings per attempt
MAX_TEMPERATURE = 2.0
MAX_BORDA_P = 4.0
MAX_PROMPT_CHARS = 100_000
MAX_MESSAGES = 200
MAX_NAME_CHARS = 100  # graph, corpus and model names
MAX_JSON_DEPTH = 32  # metadata, verifier options and gate overrides: far above any real use

MaxTurns = Annotated[int, Field(strict=True, ge=1, le=MAX_TURNS)]
MaxTokens = Annotated[int, Field(strict=True, ge=1, le=MAX_TOKENS)]
TokenBudget = Annotated[int, Field(strict=True, ge=1, le=MAX_TOKEN_BUDGET)]
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)]
Samples = Annotated[int, Field(strict=True, ge=1, le=MAX_SAMPLES)]
Temperature = Annotated[float, Field(strict=True, ge=0, le=MAX_TEMPERATURE, allow_inf_nan=False)]
BordaP = Annotated[float, Field(strict=True, ge=0, le=MAX_BORDA_P, allow_inf_nan=False)]
PromptText = Annotated[str, Field(max_length=MAX_PROMPT_CHARS)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]


# NUL: Postgres text and JSONB cannot hold it. A lone surrogate (U+D800-U+DFFF) is not a character:
# JSON's \uD800 escape produces one, and no UTF-8 encoder (the database driver, the response
# renderer) accepts it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a decoded JSON value cannot be accepted, or None: a NUL or lone surrogate in any string
    (keys included) or nesting deeper than ``max_depth``. Iterative, so no depth can overflow it."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            found = _UNSTORABLE.search(item)
            if found is not None:
                if found.group() == "\x00":
                    return "text must not contain NUL (\\u0000) characters"
                return "text must not contain lone UTF-16 surrogates (\\ud800-\\udfff)"
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                return f"JSON nested too deep (more than {max_depth} levels)"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None
