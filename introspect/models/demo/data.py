"""Training conversations for the demo model: single-turn solutions and RISE-style retries.

RISE (Qu et al. 2024) turns a single-turn problem into a multi-turn MDP whose state is the prompt, the
prior attempts and the feedback; the action is the next attempt. Its oracle-feedback variant tells the
model only "The answer is incorrect. Please try again." We build such episodes directly:

    user: question / assistant: wrong attempt / user: FEEDBACK / ... / assistant: correct attempt

and put loss **only on the final, correct attempt** (reward 1; with all targets correct the paper's
``exp(r / tau)`` weights are uniform). The wrong attempts are plausible near-misses -- the worked
solution with one slipped step (a fact off by one, a dropped carry), the errors a small model makes --
and every retry is distinct from all prior answers, so the model learns that the feedback means
"one of these steps is wrong: redo them", never "say the same again".
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from introspect.verifiers.numeric import extract_number

from .task import FEEDBACK, Fault, Problem, is_correct, solve

__all__ = ["SYSTEM_PROMPTS", "Conversation", "Episode", "make_episode", "near_miss"]

Conversation = list[dict[str, str]]

# A few generic system prompts so that a caller's system message does not derail the model.
SYSTEM_PROMPTS: tuple[str, ...] = (
    "You are a helpful assistant.",
    "Solve the arithmetic word problem. End with 'The answer is N.'",
    "You are a careful math tutor. Give the final answer as a number.",
    "Answer the question.",
)
# The graph's critic sometimes appends a verifier message to the feedback; train mostly on the bare text.
_FEEDBACK_SUFFIXES: tuple[str, ...] = (
    "Check your arithmetic.",
    "Check each step.",
    "The numeric verifier rejected {wrong}.",
)


@dataclass(frozen=True, slots=True)
class Episode:
    """One training conversation; the loss covers only its final assistant message."""

    messages: Conversation
    wrong_attempts: int


def _columns(problem: Problem) -> int:
    a, b = problem.a, problem.b
    return len(str(a)) if problem.op == "mul" else max(len(str(a)), len(str(b)))


def near_miss(rng: random.Random, problem: Problem, exclude: set[int]) -> tuple[str, int] | None:
    """A plausible wrong attempt: the worked reply with one slipped step, carried through.

    Returns (reply, stated answer) whose answer is neither correct nor in ``exclude`` (RISE: a retry
    never repeats a refuted answer); None in the rare case no such slip exists (e.g. "0 * 2").
    """
    width = _columns(problem)
    for _ in range(40):
        delta = rng.choice((-1, 1))
        if rng.random() < 0.2:  # a bigger slip: a wrong fact two off, or a dropped carry (x 10)
            delta *= 10 if problem.op == "mul" else 2
        reply, value = solve(problem, Fault(rng.randrange(width), delta))
        if value != problem.answer and value not in exclude:
            return reply, value
    return None


def make_episode(
    rng: random.Random,
    problem: Problem,
    p_retry: float = 0.4,
    p_system: float = 0.1,
    max_wrong: int = 4,
    wrong_replies: Sequence[str] | None = None,
) -> Episode:
    """A single-turn solution, or with probability ``p_retry`` a RISE retry episode.

    ``wrong_replies`` replaces the synthetic near-misses with known wrong attempts (for example the
    model's own, collected on-policy as RISE does); none may state the correct answer.
    """
    messages: Conversation = []
    if rng.random() < p_system:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    messages.append({"role": "user", "content": problem.question})
    wrong: list[tuple[str, int | None]] = []
    if wrong_replies is not None:
        for reply in wrong_replies[:max_wrong]:
            if is_correct(reply, problem.answer):
                raise ValueError("a wrong reply states the correct answer")
            value = extract_number(reply)
            wrong.append((reply, None if value is None else int(value)))
    elif rng.random() < p_retry:
        # 1..max_wrong prior attempts, fewer more often: most fixes happen at turn 2 or 3.
        count = rng.choices(range(1, max_wrong + 1), weights=[2**-k for k in range(max_wrong)])[0]
        for _ in range(count):
            attempt = near_miss(rng, problem, {v for _, v in wrong if v is not None})
            if attempt is None:
                break
            wrong.append(attempt)
    for reply, value in wrong:
        messages.append({"role": "assistant", "content": reply})
        feedback = FEEDBACK
        if rng.random() < 0.1:
            suffix = rng.choice(_FEEDBACK_SUFFIXES[: 2 if value is None else 3])
            feedback = f"{FEEDBACK} {suffix.format(wrong=value)}"
        messages.append({"role": "user", "content": feedback})
    messages.append({"role": "assistant", "content": problem.solution})
    return Episode(messages, len(wrong))
