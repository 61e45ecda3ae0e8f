"""The loop never makes a right answer worse: echoes are never accepted, a critic's approval stops the
loop, and the final answer is the best attempt, not the last (issue 17, item 3)."""

from __future__ import annotations

from graphs.self_critique import RECHECK_FEEDBACK, feedback_for
from graphs.state import JudgedAttempt
from introspect.critics import RISE_FEEDBACK
from tests.graphs.fakes import CONFIDENT, DOUBTFUL, FakeProvider, Reply, ScriptedChatModel
from tests.graphs.harness import Harness, actions

FRANCE = {"prompt": "What is the capital of France?"}


def test_a_feedback_echo_is_never_the_final_answer(harness: Harness) -> None:
    """The issue's trajectory: a right but 'not confident' answer, then the model echoes the feedback
    with confident logits. Before, the echo stopped the loop as 'confident' and became the answer."""
    local = ScriptedChatModel(
        script=[
            Reply("The capital of France is Paris.", DOUBTFUL),
            Reply("The answer is also incorrect. Please try again.", CONFIDENT),
            Reply("The capital of France is Lyon.", DOUBTFUL),
        ]
    )
    outcome = harness.run(
        "self_critique", FRANCE, {"max_turns": 3}, harness.deps(FakeProvider({"local": local}))
    )

    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [
        ("generate", "revise", "low_confidence"),
        ("revise", "revise", "echo_feedback"),
        ("revise", "stop", "max_turns"),
    ]
    assert resource["answer"] == "The capital of France is Paris."
    # The echo is never shown to the next attempt as an earlier answer.
    assert "also incorrect" not in resource["turns"][2]["messages"][0]["content"]


def test_a_verbatim_repeat_is_not_accepted_but_counts_as_agreement(harness: Harness) -> None:
    local = ScriptedChatModel(
        script=[
            Reply("Paris.", DOUBTFUL),
            Reply("Paris.", CONFIDENT),
            Reply("Lyon.", DOUBTFUL),
        ]
    )
    outcome = harness.run(
        "self_critique", FRANCE, {"max_turns": 3}, harness.deps(FakeProvider({"local": local}))
    )
    resource = harness.resource(outcome.trajectory_id)
    assert [t["decision"]["reason"] for t in resource["turns"]] == [
        "low_confidence",
        "echo_repeat",
        "max_turns",
    ]
    assert resource["answer"] == "Paris."


def test_a_correct_critique_stops_the_loop_without_confident_logits(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply("The capital of France is Paris.", DOUBTFUL)])
    critic = ScriptedChatModel(script=['{"verdict": "correct", "issues": []}'], model_name="critic")
    deps = harness.deps(FakeProvider({"local": local, "critic": critic}))
    outcome = harness.run("self_critique", FRANCE, {"critic_model": "critic"}, deps)
    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource)[0] == ("generate", "stop", "critic_approved")
    assert resource["answer"] == "The capital of France is Paris."


def test_a_revision_that_breaks_a_verified_answer_is_not_final(harness: Harness) -> None:
    """With a verifier, the first accepted attempt is final; and when all fail, the first attempt
    (or the one most attempts agree on) is kept rather than the last."""
    local = ScriptedChatModel(
        script=[Reply("It is 41.", CONFIDENT), Reply("It is 43.", CONFIDENT), Reply("It is 41.", CONFIDENT)]
    )
    task = {"prompt": "What is 40 plus 2?", "reference": "42", "verifier": "numeric"}
    outcome = harness.run(
        "self_critique", task, {"max_turns": 3}, harness.deps(FakeProvider({"local": local}))
    )
    resource = harness.resource(outcome.trajectory_id)
    assert resource["answer"] == "It is 41." and resource["success"] is False


def _judged(verdict: str, feedback: str) -> JudgedAttempt:
    attempt: dict = {"output": "Paris", "phase": "generate", "stats": None}  # type: ignore[type-arg]
    critique: dict = {"verdict": verdict, "feedback": feedback, "issues": [], "critic": "llm"}  # type: ignore[type-arg]
    return {"attempt": attempt, "answer": "Paris", "verification": None, "critique": critique, "decision": {}}  # type: ignore[typeddict-item]


def test_a_correct_critique_with_no_feedback_is_never_turned_into_incorrect() -> None:
    text = feedback_for(_judged("correct", ""))
    assert text == RECHECK_FEEDBACK and "incorrect" not in text.lower()
    assert feedback_for(_judged("unknown", "")) == RISE_FEEDBACK
    assert feedback_for(_judged("incorrect", "Not in Italy.")) == "Not in Italy."
