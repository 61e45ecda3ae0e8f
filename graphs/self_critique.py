"""generate -> score -> verify -> critique -> gate -> (stop | revise | retrieve -> revise | escalate).

RISE (Qu et al. 2024) as a LangGraph state machine: every attempt is scored (token statistics from
the local model's logits: entropix regime, self-certainty of Kang et al. 2025), verified, critiqued,
and the pure gate (``introspect.gate.decide``) routes on all of it with explicit budgets. The critic
runs before the gate because its verdict is one of the gate's two PCC signals (consistency beside
the logits' certainty). Attempt turns are written by the gate node in one fenced transaction, so
a node replayed after a crash writes nothing twice and no finished turn's model call is repeated.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from graphs.calls import invoke_chat, needs_local_scoring, scored_stats
from graphs.final_answer import best_attempt
from graphs.state import (
    Attempt,
    CritiqueState,
    JobInput,
    JudgedAttempt,
    Message,
    SelfCritiqueState,
    conversation_after,
    intake,
)
from graphs.steps import (
    answer_of,
    attempt_turn,
    critique_call_turn,
    finish_update,
    guarded,
    make_attempt,
    tokens_of,
    verify_output,
)
from introspect.critics import RISE_FEEDBACK, CritiqueInput, VerifierFeedbackCritic
from introspect.gate import GateFeatures, decide
from introspect.gate.echo import echo_kind, normalized
from introspect.retrieval import passages_from_documents
from introspect.runner.context import GraphContext
from introspect.store.repositories.trajectories import TurnData

State = SelfCritiqueState


def _spent(state: State, attempt: Attempt) -> dict[str, Any]:
    return {
        "tokens_used": state.get("tokens_used", 0) + tokens_of(attempt),
        "latency_ms": state.get("latency_ms", 0.0) + attempt["latency_ms"],
    }


def generate(state: State, ctx: GraphContext) -> dict[str, Any]:
    task, index = state["task"], state.get("next_index", 0)
    ctx.recorder.turn_started(index, "generate")
    template = None
    messages: list[Message]
    if task["messages"]:
        messages = list(task["messages"])
    else:
        prompt = ctx.prompts["generate"]
        messages, template = [prompt.message(question=task["prompt"])], (prompt.name, prompt.sha256)
    name = ctx.options.generator_model
    reply = invoke_chat(ctx.models.chat_model(name), messages, ctx.options.max_tokens)
    attempt = make_attempt(
        index=index,
        attempt=1,
        phase="generate",
        messages=messages,
        reply=reply,
        model=name,
        template=template,
    )
    return {"current": attempt, "next_index": index + 1, **_spent(state, attempt)}


def score(state: State, ctx: GraphContext) -> dict[str, Any]:
    attempt = state["current"]
    assert attempt is not None
    if not needs_local_scoring(attempt["stats"]) or attempt["phase"] == "human" or not attempt["output"]:
        return {}
    scorer = ctx.models.scorer()
    if scorer is None:
        return {}
    stats, compact = scored_stats(
        scorer, attempt["messages"], attempt["output"], attempt["stats"], attempt.get("finish_reason")
    )
    return {"current": {**attempt, "stats": stats, "token_stats": compact}}


def verify(state: State, ctx: GraphContext) -> dict[str, Any]:
    attempt = state["current"]
    assert attempt is not None
    return {"verification": verify_output(ctx, state["task"], attempt["output"])}


def critique(state: State, ctx: GraphContext) -> dict[str, Any]:
    attempt, verification = state["current"], state.get("verification")
    assert attempt is not None
    if attempt["phase"] == "human" or (verification is not None and verification["passed"] is True):
        return {"critique": None}
    item = CritiqueInput(
        question=state["task"]["prompt"],
        answer=attempt["output"],
        verified=None if verification is None else verification["passed"],
        verifier_message=None if verification is None else verification["message"],
    )
    result = ctx.critic.critique(item)
    feedback = result.feedback
    if item.verified is False and result.critic != VerifierFeedbackCritic.name:
        # The verifier's word outranks a model critic's; the critic's issues add detail to it.
        feedback = " ".join([VerifierFeedbackCritic().critique(item).feedback, *result.issues])
    update: dict[str, Any] = {}
    index = None
    if result.call is not None:
        index = state.get("next_index", 0)
        call_tokens = (result.call.prompt_tokens or 0) + (result.call.completion_tokens or 0)
        update = {
            "next_index": index + 1,
            "tokens_used": state.get("tokens_used", 0) + call_tokens,
            "latency_ms": state.get("latency_ms", 0.0) + result.call.latency_ms,
        }
    verdict = CritiqueState(
        critic=result.critic,
        verdict=result.verdict,
        feedback=feedback,
        issues=list(result.issues),
        model=result.model,
        index=index,
        call=None if result.call is None else asdict(result.call),
    )
    return {"critique": verdict, **update}


def gate(state: State, ctx: GraphContext) -> dict[str, Any]:
    attempt, verification, verdict = state["current"], state.get("verification"), state.get("critique")
    assert attempt is not None
    verified = None if verification is None else verification["passed"]
    history = state.get("history", [])
    echo = None
    if attempt["phase"] in ("revise", "escalate") and history:
        echo = echo_kind(
            attempt["output"],
            [RISE_FEEDBACK, *(feedback_for(j) for j in history)],
            [j["attempt"]["output"] for j in history],
        )
    rejected = (
        echo == "feedback"
        or verified is False
        or (verified is None and verdict is not None and verdict["verdict"] == "incorrect")
    )
    failures = state.get("failures", 0) + int(rejected)
    predicted = None if ctx.predictor is None else ctx.predictor.predict(attempt["stats"])
    if predicted is not None:
        # Stored with the turn, and what the final-answer choice ranks unverified attempts by.
        attempt = {**attempt, "stats": {**(attempt["stats"] or {}), "p_correct": round(predicted, 6)}}
    features = GateFeatures(
        attempt=attempt["attempt"],
        turn_index=attempt["index"],
        phase=attempt["phase"],
        stats=attempt["stats"],
        verified=verified,
        critique_verdict=None if verdict is None else verdict["verdict"],
        predicted_correct=predicted,
        failed_attempts=failures,
        tokens_used=state.get("tokens_used", 0),
        retrievals=state.get("retrievals", 0),
        escalations=state.get("escalations", 0),
        retrieval_available=ctx.retriever is not None,
        escalation_available=ctx.options.escalation != "none",
        echo=echo,
    )
    decision = decide(features, ctx.policy).to_dict()
    if ctx.gate_profile is not None:
        decision["profile"] = ctx.gate_profile  # which calibrated profile set these thresholds
    judged = JudgedAttempt(
        attempt=attempt,
        answer=answer_of(ctx, attempt["output"], verification),
        verification=verification,
        critique=verdict,
        decision=decision,
    )
    turns = [attempt_turn(judged)]
    critique_turn = None if verdict is None else critique_call_turn(verdict)
    if critique_turn is not None:
        turns.append(critique_turn)
    ctx.recorder.record_turns(turns)
    return {"decision": decision, "history": [judged], "failures": failures}


def route_after_gate(state: State) -> str:
    """Pure routing on the gate's stored decision."""
    decision = state.get("decision") or {}
    return {"stop": "finish", "revise": "revise", "retrieve": "retrieve", "escalate": "escalate"}[
        decision.get("action", "stop")
    ]


def retrieve(state: State, ctx: GraphContext) -> dict[str, Any]:
    index = state.get("next_index", 0)
    ctx.recorder.turn_started(index, "retrieve")
    assert ctx.retriever is not None
    query = state["task"]["prompt"]
    documents = ctx.retriever.invoke(query)[: ctx.policy.retrieval_k]
    passages = passages_from_documents(documents)
    ctx.recorder.record_turns([TurnData(index=index, phase="retrieve", output=query, retrieved=passages)])
    return {"passages": passages, "retrievals": state.get("retrievals", 0) + 1, "next_index": index + 1}


# Feedback for a revision whose critic approved the attempt (a verifier or an echo check sent it
# back): never "incorrect", which the critic did not say.
RECHECK_FEEDBACK = "Please check the answer once more and answer the question again in full."
REJECTED_REVIEW = "That answer is wrong."
REVISE_ATTEMPTS = 3  # earlier attempts shown to a fresh revision (newest kept; the task always is)
ATTEMPT_CHARS = 1500  # of each shown attempt, so five long attempts cannot crowd out the task


def feedback_for(judged: JudgedAttempt) -> str:
    """What the next attempt is told about this one."""
    verdict = judged["critique"]
    if verdict is not None and verdict["feedback"]:
        return verdict["feedback"]
    if verdict is not None and verdict["verdict"] == "correct":
        return RECHECK_FEEDBACK
    return RISE_FEEDBACK


def _review(judged: JudgedAttempt) -> str:
    """A rejected attempt's review for a fresh revision: what was found, without RISE's "Please try
    again", the phrase small models most often echo back."""
    verdict = judged["critique"]
    issues = [] if verdict is None else [i.strip() for i in verdict["issues"] if i.strip()]
    return " ".join([REJECTED_REVIEW, *issues])


def _shown_attempts(history: list[JudgedAttempt]) -> list[dict[str, str]]:
    """Earlier answers for a fresh revision: no echoes, no duplicates, the newest few, each with what
    a verifier or critic found (an unchecked answer gets no review: no verdict was reached)."""
    shown: dict[str, dict[str, str]] = {}
    for judged in history:
        reason = str((judged["decision"] or {}).get("reason", ""))
        output = judged["attempt"]["output"].strip()
        if not output or reason == "echo_feedback":
            continue
        verdict = judged["critique"]
        rejected = verdict is not None and verdict["verdict"] == "incorrect"
        verification = judged["verification"]
        rejected = rejected or (verification is not None and verification["passed"] is False)
        text = output if len(output) <= ATTEMPT_CHARS else output[: ATTEMPT_CHARS - 1] + "…"
        key = normalized(output)
        shown.pop(key, None)
        shown[key] = {"answer": text, "feedback": _review(judged) if rejected else ""}
    return list(shown.values())[-REVISE_ATTEMPTS:]


def _next_messages(
    state: State, ctx: GraphContext
) -> tuple[list[Message], tuple[str, str], list[dict[str, Any]]]:
    """The next attempt's input. A template with ``attempts`` asks afresh: the task again with the
    earlier answers and their reviews, in one user message after the caller's earlier messages.
    Otherwise RISE's conversation: the conversation so far, then the feedback (the demo model's
    format, which it was trained on)."""
    history = state["history"]
    passages = state.get("passages") or []
    prompt = ctx.prompts["revise"]
    template = (prompt.name, prompt.sha256)
    if "attempts" in prompt.variables:
        task = state["task"]
        base = list(task["messages"][:-1]) if task["messages"] else []
        attempts = _shown_attempts(history)
        message = prompt.message(question=task["prompt"], attempts=attempts, passages=passages)
        return [*base, message], template, passages
    last = history[-1]
    messages = [*conversation_after(last), prompt.message(feedback=feedback_for(last), passages=passages)]
    return messages, template, passages


def revise(state: State, ctx: GraphContext) -> dict[str, Any]:
    index = state.get("next_index", 0)
    ctx.recorder.turn_started(index, "revise")
    messages, template, passages = _next_messages(state, ctx)
    name = ctx.options.generator_model
    reply = invoke_chat(ctx.models.chat_model(name), messages, ctx.options.max_tokens)
    attempt = make_attempt(
        index=index,
        attempt=state["history"][-1]["attempt"]["attempt"] + 1,
        phase="revise",
        messages=messages,
        reply=reply,
        model=name,
        template=template,
        retrieved=passages or None,
    )
    return {"current": attempt, "passages": None, "next_index": index + 1, **_spent(state, attempt)}


def _human_answer(value: Any) -> tuple[str, str | None]:
    """(answer, comment) from a resume value: ``{"answer", "comment"?}`` as the API stores it, or text."""
    if isinstance(value, dict):
        comment = value.get("comment")
        return str(value.get("answer", "")).strip(), None if comment is None else str(comment)
    return str(value).strip(), None


def escalate(state: State, ctx: GraphContext) -> dict[str, Any]:
    """A stronger model answers from the same RISE context, or a person does via ``interrupt()``."""
    index, last = state.get("next_index", 0), state["history"][-1]
    messages, template, passages = _next_messages(state, ctx)
    number = last["attempt"]["attempt"] + 1
    if ctx.options.escalation == "human":
        request = ctx.prompts["human"].render(
            question=state["task"]["prompt"],
            answer=last["attempt"]["output"],
            reason=last["decision"]["reason"],
        )
        answer, comment = _human_answer(
            interrupt(
                {
                    "type": "human_escalation",
                    "turn_index": index,
                    "message": request,
                    "answer": last["answer"],
                }
            )
        )
        ctx.recorder.turn_started(index, "human")
        attempt = Attempt(
            index=index, attempt=number, phase="human", messages=messages, output=answer, model="human",
            prompt_template=template[0], prompt_hash=template[1], stats=None, token_stats=None,
            latency_ms=0.0, prompt_tokens=None, completion_tokens=None, retrieved=passages or None,
            comment=comment,
        )  # fmt: skip
    else:
        ctx.recorder.turn_started(index, "escalate")
        name = ctx.options.escalation_model or ctx.options.generator_model
        reply = invoke_chat(ctx.models.chat_model(name), messages, ctx.options.max_tokens)
        attempt = make_attempt(
            index=index, attempt=number, phase="escalate", messages=messages, reply=reply, model=name,
            template=template, retrieved=passages or None,
        )  # fmt: skip
    return {
        "current": attempt,
        "passages": None,
        "escalations": state.get("escalations", 0) + 1,
        "next_index": index + 1,
        **_spent(state, attempt),
    }


def finish(state: State, ctx: GraphContext) -> dict[str, Any]:
    history = state.get("history", [])
    reason = (state.get("decision") or {}).get("reason", "no_attempt")
    totals = (state.get("tokens_used", 0), state.get("latency_ms", 0.0))
    final = best_attempt(history)
    return finish_update(ctx, history, final, reason, totals, state.get("next_index", len(history)))


def build() -> StateGraph[SelfCritiqueState, None, JobInput, SelfCritiqueState]:
    builder = StateGraph(SelfCritiqueState, input_schema=JobInput)
    nodes = (generate, score, verify, critique, gate, retrieve, revise, escalate, finish)
    for fn in nodes:
        builder.add_node(fn.__name__, guarded(fn))
    builder.add_node("intake", intake, input_schema=JobInput)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "generate")
    for a, b in (("generate", "score"), ("score", "verify"), ("verify", "critique"), ("critique", "gate")):
        builder.add_edge(a, b)
    builder.add_conditional_edges("gate", route_after_gate, ["finish", "revise", "retrieve", "escalate"])
    builder.add_edge("retrieve", "revise")
    builder.add_edge("revise", "score")
    builder.add_edge("escalate", "score")
    builder.add_edge("finish", END)
    return builder


# For `langgraph dev` (langgraph.json): the server supplies the checkpointer.
graph = build().compile()
