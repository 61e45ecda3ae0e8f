"""Best-of-N: N candidates from one batched call, one picked by self-certainty or Borda voting.

Kang et al. 2025 ("Scalable Best-of-N Selection via Self-Certainty"): the candidate with the highest
mean self-certainty, or a Borda vote where the rank-r candidate gives ``(N - r + 1) ** p`` votes to its
extracted final answer. Every sibling is recorded (``sibling_group`` 0, ``selected`` on the winner):
preference export needs the losers as much as the winner.
"""

from __future__ import annotations

import itertools
from typing import Any

from langgraph.graph import END, START, StateGraph

from graphs.calls import invoke_chat_n, needs_local_scoring, scored_stats
from graphs.state import Attempt, BestOfNState, JobInput, JudgedAttempt, Message, intake
from graphs.steps import (
    answer_of,
    attempt_turn,
    finish_update,
    guarded,
    make_attempt,
    tokens_of,
    verify_output,
)
from introspect.runner.context import GraphContext
from introspect.uncertainty.selection import borda_vote, majority_vote, select_by_self_certainty

State = BestOfNState
SIBLING_GROUP = 0


def generate(state: State, ctx: GraphContext) -> dict[str, Any]:
    task, first = state["task"], state.get("next_index", 0)
    n = ctx.options.n
    for index in range(first, first + n):
        ctx.recorder.turn_started(index, "generate")
    template = None
    messages: list[Message]
    if task["messages"]:
        messages = list(task["messages"])
    else:
        prompt = ctx.prompts["generate"]
        messages, template = [prompt.message(question=task["prompt"])], (prompt.name, prompt.sha256)
    name = ctx.options.generator_model
    replies = invoke_chat_n(
        ctx.models.chat_model(name),
        messages,
        n,
        max_tokens=ctx.options.max_tokens,
        temperature=ctx.options.temperature,
        seed=ctx.options.seed,
    )
    candidates = [
        make_attempt(
            index=first + i,
            attempt=1,
            phase="generate",
            messages=messages,
            reply=reply,
            model=name,
            template=template,
        )
        for i, reply in enumerate(replies)
    ]
    return {
        "candidates": candidates,
        "next_index": first + n,
        "tokens_used": state.get("tokens_used", 0) + sum(tokens_of(c) for c in candidates),
        "latency_ms": state.get("latency_ms", 0.0) + sum(c["latency_ms"] for c in candidates),
    }


def score(state: State, ctx: GraphContext) -> dict[str, Any]:
    scorer = ctx.models.scorer()
    if scorer is None or not any(needs_local_scoring(c["stats"]) for c in state["candidates"]):
        return {}
    scored: list[Attempt] = []
    for c in state["candidates"]:
        if needs_local_scoring(c["stats"]) and c["output"]:
            # Candidates are then ranked by the scorer's exact self-certainty, not by a remote
            # server's top-k approximation (which has none).
            stats, compact = scored_stats(
                scorer, c["messages"], c["output"], c["stats"], c.get("finish_reason")
            )
            c = {**c, "stats": stats, "token_stats": compact}
        scored.append(c)
    return {"candidates": scored}


def verify(state: State, ctx: GraphContext) -> dict[str, Any]:
    return {"verifications": [verify_output(ctx, state["task"], c["output"]) for c in state["candidates"]]}


def _certainty(candidate: Attempt) -> float | None:
    value = (candidate["stats"] or {}).get("mean_self_certainty")
    return float(value) if isinstance(value, int | float) else None


def select(state: State, ctx: GraphContext) -> dict[str, Any]:
    candidates, verifications = state["candidates"], state["verifications"]
    answers = [answer_of(ctx, c["output"], v) for c, v in zip(candidates, verifications, strict=True)]
    scores = [_certainty(c) for c in candidates]
    votes: list[float] | None = None
    if any(s is None for s in scores):
        # No logits for some candidates (a remote model, no local scorer): majority vote.
        method, result = "majority", majority_vote(answers)
        winner, votes = result.index or 0, result.votes
    elif ctx.options.selection == "borda":
        method = "borda"
        result = borda_vote(answers, [s for s in scores if s is not None], p=ctx.options.borda_p)
        winner, votes = result.index or 0, result.votes
    else:
        method, winner = "self_certainty", select_by_self_certainty(scores)
    thresholds = {"selection": ctx.options.selection, "borda_p": ctx.options.borda_p, "n": len(candidates)}
    history: list[JudgedAttempt] = []
    for i, (c, v) in enumerate(zip(candidates, verifications, strict=True)):
        inputs = {"candidate": i, "mean_self_certainty": scores[i], "answer": answers[i], "method": method}
        if votes is not None:
            inputs["votes"] = votes[i]
        decision = {
            "action": "stop",
            "reason": f"selected_by_{method}" if i == winner else "not_selected",
            "inputs": inputs,
            "thresholds": thresholds,
        }
        history.append(
            JudgedAttempt(attempt=c, answer=answers[i], verification=v, critique=None, decision=decision)
        )
    ctx.recorder.record_turns(
        [attempt_turn(j, sibling_group=SIBLING_GROUP, selected=i == winner) for i, j in enumerate(history)]
    )
    return {"history": history, "winner": winner, "stop_reason": f"selected_by_{method}"}


def finish(state: State, ctx: GraphContext) -> dict[str, Any]:
    history = state.get("history", [])
    final = history[state["winner"]] if history else None
    totals = (state.get("tokens_used", 0), state.get("latency_ms", 0.0))
    turns = state.get("next_index", len(history))
    return finish_update(ctx, history, final, state.get("stop_reason", "selected"), totals, turns)


def build() -> StateGraph[BestOfNState, None, JobInput, BestOfNState]:
    builder = StateGraph(BestOfNState, input_schema=JobInput)
    names = ("generate", "score", "verify", "select", "finish")
    for name, fn in zip(names, (generate, score, verify, select, finish), strict=True):
        builder.add_node(name, guarded(fn))
    builder.add_node("intake", intake, input_schema=JobInput)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder


graph = build().compile()
