"""Typed graph state. Plain JSON-ready dicts only, so any checkpointer serialises them faithfully.

RISE (Qu et al. 2024) frames self-improvement as a multi-turn MDP whose state is the prompt, the prior
attempts and their feedback; ``history`` is exactly that, one ``JudgedAttempt`` per attempt.
Turn indexes come from ``next_index`` in the state, never from a database counter, so a node that is
replayed after a crash writes the same index and its duplicate write is ignored.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired

from typing_extensions import TypedDict  # pydantic needs it on 3.11 for the graphs' JSON schemas

Message = dict[str, str]


class Task(TypedDict):
    """``messages`` is the caller's conversation; None means "render the generate template".
    ``verifier`` is read only by a run without the runner (``langgraph dev``): the runner builds the
    verifier from the job."""

    prompt: str
    messages: list[Message] | None
    reference: str | None
    verifier: NotRequired[str | dict[str, Any] | None]


class JobInput(TypedDict, total=False):
    """What either graph takes: the REST job input (``POST /v1/jobs``'s ``input``), the same from a
    plain LangGraph invocation (``langgraph dev``, ``graph.invoke``) as from the runner."""

    prompt: str
    messages: list[Message]
    reference: str | None
    verifier: str | dict[str, Any] | None
    corpus: str | None


def task_from_input(job_input: JobInput) -> Task:
    """The task a run works on: with ``messages`` the prompt is the last user message."""
    messages = job_input.get("messages") or None
    users = [m["content"] for m in messages or [] if m.get("role") == "user"]
    prompt = users[-1] if users else job_input.get("prompt") or ""
    task = Task(prompt=prompt, messages=messages, reference=job_input.get("reference"))
    if job_input.get("verifier") is not None:
        task["verifier"] = job_input["verifier"]
    return task


def intake(state: JobInput) -> dict[str, Any]:
    """The graphs' first node: the job input becomes the task (no model call, no turn)."""
    return {"task": task_from_input(state), "next_index": 0}


class Attempt(TypedDict):
    """One answer written by a model (or a person) and how it was produced."""

    index: int
    attempt: int
    phase: str
    messages: list[Message]
    output: str
    model: str | None
    prompt_template: str | None
    prompt_hash: str | None
    stats: dict[str, Any] | None
    token_stats: dict[str, Any] | None
    latency_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None
    retrieved: list[dict[str, Any]] | None
    comment: NotRequired[str | None]  # a person's note with a human answer
    finish_reason: NotRequired[str | None]  # "length": cut at the token limit (no end-of-turn token)


class VerificationState(TypedDict):
    verifier: str
    passed: bool | None
    score: float | None
    message: str | None
    extracted: str | None
    details: dict[str, Any]


class CritiqueState(TypedDict):
    critic: str
    verdict: str
    feedback: str
    issues: list[str]
    model: str | None
    index: int | None
    call: dict[str, Any] | None


class JudgedAttempt(TypedDict):
    attempt: Attempt
    answer: str
    verification: VerificationState | None
    critique: CritiqueState | None
    decision: dict[str, Any]


class Result(TypedDict):
    answer: str | None
    stop_reason: str
    success: bool | None


class SelfCritiqueState(TypedDict, total=False):
    task: Task
    next_index: int
    current: Attempt | None
    verification: VerificationState | None
    critique: CritiqueState | None
    decision: dict[str, Any] | None
    history: Annotated[list[JudgedAttempt], operator.add]
    passages: list[dict[str, Any]] | None
    retrievals: int
    escalations: int
    failures: int
    tokens_used: int
    latency_ms: float
    result: Result | None


class BestOfNState(TypedDict, total=False):
    task: Task
    next_index: int
    candidates: list[Attempt]
    verifications: list[VerificationState | None]
    history: Annotated[list[JudgedAttempt], operator.add]
    winner: int
    stop_reason: str
    tokens_used: int
    latency_ms: float
    result: Result | None


def conversation_after(judged: JudgedAttempt) -> list[Message]:
    """The messages an attempt saw followed by its own answer: where the next attempt continues."""
    attempt = judged["attempt"]
    return [*attempt["messages"], {"role": "assistant", "content": attempt["output"]}]
