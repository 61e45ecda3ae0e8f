"""Pieces shared by the graphs' nodes: context access, the node guard, verification, turn rows, finish.

Nodes are ``(state, runtime) -> partial state``; everything they need arrives in
``runtime.context`` (a :class:`~introspect.runner.context.GraphContext`). Run without one -- as
``langgraph dev`` does -- a standalone context with the embedded defaults is built from the task.
The graphs declare no ``context_schema``: the context holds live objects (models, a recorder) that
have no JSON schema, and LangGraph Server derives an assistant's config schema from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langgraph.runtime import Runtime

from graphs.calls import Reply
from graphs.state import Attempt, CritiqueState, JudgedAttempt, Message, Result, Task, VerificationState
from introspect.runner.context import FinishData, GraphContext
from introspect.store.repositories.trajectories import CritiqueData, RewardData, TurnData, VerificationData
from introspect.verifiers.base import VerificationTask

ATTEMPT_PHASES = ("generate", "revise", "escalate", "human")
Node = Callable[[Any, GraphContext], dict[str, Any]]


def context_of(runtime: Runtime[GraphContext], state: Mapping[str, Any]) -> GraphContext:
    if runtime.context is not None:
        return runtime.context
    from introspect.runner.standalone import standalone_context

    return standalone_context(state["task"])


def guarded(fn: Node) -> Callable[..., dict[str, Any]]:
    """The node boundary: stop here if the job was cancelled or the lease was lost, then run."""

    def node(state: Any, runtime: Runtime[GraphContext]) -> dict[str, Any]:
        ctx = context_of(runtime, state)
        ctx.recorder.check()
        return fn(state, ctx)

    # Not functools.wraps: its __wrapped__ would make LangGraph read fn's signature and not inject
    # ``runtime``.
    node.__name__, node.__qualname__, node.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return node


def make_attempt(
    *,
    index: int,
    attempt: int,
    phase: str,
    messages: list[Message],
    reply: Reply,
    model: str | None,
    template: tuple[str, str] | None,
    retrieved: list[dict[str, Any]] | None = None,
) -> Attempt:
    return Attempt(
        index=index,
        attempt=attempt,
        phase=phase,
        messages=messages,
        output=reply.text,
        model=reply.model or model,
        prompt_template=None if template is None else template[0],
        prompt_hash=None if template is None else template[1],
        stats=reply.stats,
        token_stats=reply.token_stats,
        latency_ms=reply.latency_ms,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        retrieved=retrieved,
        finish_reason=reply.finish_reason,
    )


def tokens_of(attempt: Attempt) -> int:
    return (attempt["prompt_tokens"] or 0) + (attempt["completion_tokens"] or 0)


def verify_output(ctx: GraphContext, task: Task, output: str) -> VerificationState | None:
    if ctx.verifier is None:
        return None
    result = ctx.verifier.verify(output, VerificationTask(prompt=task["prompt"], reference=task["reference"]))
    return VerificationState(
        verifier=ctx.verifier.name,
        passed=result.passed,
        score=result.score,
        message=result.message,
        extracted=result.extracted,
        details=result.details,
    )


def answer_of(ctx: GraphContext, output: str, verification: VerificationState | None) -> str:
    """The final answer stated in an output: what the verifier extracted, else the stripped text."""
    if verification is not None and verification["extracted"] is not None:
        return verification["extracted"]
    return ctx.verifier.extract(output) if ctx.verifier is not None else output.strip()


def attempt_turn(
    judged: JudgedAttempt, *, sibling_group: int | None = None, selected: bool | None = None
) -> TurnData:
    attempt, verification, critique = judged["attempt"], judged["verification"], judged["critique"]
    return TurnData(
        index=attempt["index"],
        phase=attempt["phase"],
        attempt=attempt["attempt"],
        messages=list(attempt["messages"]),
        output=attempt["output"],
        answer=judged["answer"],
        model=attempt["model"],
        prompt_template=attempt["prompt_template"],
        prompt_hash=attempt["prompt_hash"],
        stats=attempt["stats"],
        token_stats=attempt["token_stats"],
        decision=judged["decision"] or None,
        retrieved=attempt["retrieved"],
        sibling_group=sibling_group,
        selected=selected,
        latency_ms=attempt["latency_ms"],
        prompt_tokens=attempt["prompt_tokens"],
        completion_tokens=attempt["completion_tokens"],
        verifications=[]
        if verification is None
        else [
            VerificationData(
                verifier=verification["verifier"],
                passed=verification["passed"],
                score=verification["score"],
                message=verification["message"],
                details={**verification["details"], "extracted": verification["extracted"]},
            )
        ],
        # A person wrote this answer: a human-labelled target, whatever a verifier says about it.
        rewards=[
            RewardData(kind="human", value=1.0, label=True, comment=attempt.get("comment"), source="human")
        ]
        if attempt["phase"] == "human"
        else [],
        critiques=[]
        if critique is None
        else [
            CritiqueData(
                critic=critique["critic"],
                verdict=critique["verdict"],
                feedback=critique["feedback"],
                issues=list(critique["issues"]),
                model=critique["model"],
            )
        ],
    )


def critique_call_turn(verdict: CritiqueState) -> TurnData | None:
    """The critic's own model call as a turn of phase ``critique`` (its row points at the attempt)."""
    call = verdict["call"]
    if call is None or verdict["index"] is None:
        return None
    return TurnData(
        index=verdict["index"],
        phase="critique",
        messages=call["messages"],
        output=call["output"],
        answer=verdict["verdict"],
        model=call["model"],
        prompt_template=call["prompt_template"],
        prompt_hash=call["prompt_hash"],
        latency_ms=call["latency_ms"],
        prompt_tokens=call["prompt_tokens"],
        completion_tokens=call["completion_tokens"],
    )


def finish_update(
    ctx: GraphContext,
    history: list[JudgedAttempt],
    final: JudgedAttempt | None,
    stop_reason: str,
    totals: tuple[int, float],
    turns: int,
) -> dict[str, Any]:
    """Rewards (outcome + one per attempt, by verification) and the trajectory's summary; ``turns``
    is the number of turn indexes the run used (the state's ``next_index``)."""
    verification = None if final is None else final["verification"]
    success = None if verification is None else verification["passed"]
    rewards = [
        (j["attempt"]["index"], 1.0 if j["verification"]["passed"] else 0.0)
        for j in history
        if j["verification"] is not None and j["verification"]["passed"] is not None
    ]
    models = sorted(
        {j["attempt"]["model"] for j in history if j["attempt"]["model"]}
        | {j["critique"]["model"] for j in history if j["critique"] and j["critique"]["model"]}
    )
    answer = None if final is None else final["attempt"]["output"]
    ctx.recorder.finish(
        FinishData(
            final_answer=answer,
            stop_reason=stop_reason,
            success=success,
            outcome_reward=None if success is None else (1.0 if success else 0.0),
            attempt_rewards=rewards,
            models=models,
            total_tokens=totals[0],
            total_latency_ms=totals[1],
            turns=turns,
        )
    )
    return {"result": Result(answer=answer, stop_reason=stop_reason, success=success)}
