"""End to end with the bundled demo model and the numeric verifier: real logits, real revisions."""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from introspect.config import Settings
from introspect.critics import CritiqueInput, VerifierFeedbackCritic
from introspect.models.catalog import CATALOG
from introspect.models.demo import is_correct, make_problems
from introspect.prompting import library_with
from introspect.runner import default_model_provider
from introspect.runner.graphs import load_by_reference
from introspect.runner.model_provider import DefaultModelProvider
from introspect.store.engine import make_engine, make_session_factory
from introspect.verifiers import VerificationTask, build_verifier
from tests.graphs.harness import Harness, harness_for

pytestmark = pytest.mark.slow
MAX_TOKENS = 48
TURNS = 3


@lru_cache(maxsize=1)
def provider() -> DefaultModelProvider:
    return default_model_provider(Settings(model_path="demo"))


def rise_trace(problem: Any, turns: int) -> list[str]:
    """The outputs the runner will produce for ``problem``, computed directly with ``LocalModel``:
    greedy attempts, each wrong one followed by the same feedback message the graph sends."""
    model = provider().local_model()
    verifier, critic, revise = (
        build_verifier("numeric"),
        VerifierFeedbackCritic(),
        # The demo model's own revise template: RISE's conversation format, which it was trained on.
        library_with((CATALOG["demo"].prompts or Path(),))["revise"],
    )
    task = VerificationTask(prompt=problem.question, reference=str(problem.answer))
    messages: list[dict[str, str]] = [{"role": "user", "content": problem.question}]
    outputs: list[str] = []
    for _ in range(turns):
        text = model.generate(messages, max_new_tokens=MAX_TOKENS)[0].text
        outputs.append(text)
        result = verifier.verify(text, task)
        if result.passed:
            break
        item = CritiqueInput(problem.question, text, verified=False, verifier_message=result.message)
        feedback = critic.critique(item).feedback
        messages = [
            *messages,
            {"role": "assistant", "content": text},
            revise.message(feedback=feedback, passages=[]),
        ]
    return outputs


@lru_cache(maxsize=1)
def wrong_first(wanted: int = 2, budget: int = 40) -> tuple[Any, ...]:
    """Held-out problems the demo model gets wrong at its first, greedy attempt."""
    model = provider().local_model()
    found = []
    for problem in make_problems(budget, split="eval"):
        first = model.generate([{"role": "user", "content": problem.question}], max_new_tokens=MAX_TOKENS)[0]
        if not is_correct(first.text, problem.answer):
            found.append(problem)
        if len(found) == wanted:
            break
    assert len(found) == wanted, f"fewer than {wanted} wrong first answers among {budget} problems"
    return tuple(found)


@pytest.fixture
def pg_harness(pg_url: str) -> Iterator[Harness]:
    """Postgres only: the model dominates the cost, and the CLI test covers embedded SQLite."""
    engine = make_engine(pg_url)
    try:
        with harness_for(pg_url, make_session_factory(engine)) as harness:
            yield harness
    finally:
        engine.dispose()


def test_wrong_first_answers_get_revised(pg_harness: Harness) -> None:
    harness = pg_harness
    deps = harness.deps(provider(), settings=Settings(model_path="demo"))  # type: ignore[arg-type]
    for problem in wrong_first():
        task = {"prompt": problem.question, "reference": str(problem.answer), "verifier": "numeric"}
        outcome = harness.run("self_critique", task, {"max_tokens": MAX_TOKENS, "max_turns": TURNS}, deps)
        assert outcome.status == "succeeded"
        resource = harness.resource(outcome.trajectory_id)
        # Greedy decoding through the graph reproduces the direct RISE trace, turn for turn.
        assert [t["output"] for t in resource["turns"]] == rise_trace(problem, TURNS)
        first, second = resource["turns"][0], resource["turns"][1]
        assert first["verifications"][0]["passed"] is False
        assert first["decision"]["action"] == "revise" and first["decision"]["reason"] == "verifier_rejected"
        assert second["phase"] == "revise" and second["attempt"] == 2
        assert second["messages"][:2] == [
            first["messages"][0],
            {"role": "assistant", "content": first["output"]},
        ]
        assert second["messages"][-1]["content"].startswith("The answer is incorrect. Please try again.")
        for turn in resource["turns"]:
            stats = turn["stats"]
            assert isinstance(stats["mean_self_certainty"], float) and stats["mean_self_certainty"] >= 0
            assert stats["regime"] in ("confident", "branch", "unsure", "scattered")
            assert math.isfinite(stats["mean_entropy"]) and math.isfinite(stats["gnll"])
            assert turn["token_stats"]["n"] == turn["completion_tokens"] == stats["n_tokens"]
            assert turn["decision"]["inputs"]["mean_self_certainty"] == stats["mean_self_certainty"]
            assert turn["rewards"][0]["value"] == float(turn["verifications"][0]["passed"])
        assert resource["stop_reason"] in ("verified", "max_turns")
        assert resource["success"] is (resource["stop_reason"] == "verified")


def test_graph_runs_standalone_as_langgraph_dev_would() -> None:
    problem = make_problems(1, split="eval")[0]
    graph = load_by_reference("./graphs/self_critique.py:graph")
    state = graph.invoke(
        {"prompt": problem.question, "reference": str(problem.answer)}  # the REST job input's shape
    )
    assert state["result"]["stop_reason"] in ("verified", "max_turns")
    assert state["history"][0]["attempt"]["stats"]["mean_self_certainty"] is not None


def test_llm_judge_reads_p_true_from_logits() -> None:
    scorer = provider().local_model()
    judge = build_verifier({"name": "llm", "threshold": 0.5}, scorer=scorer)
    result = judge.verify("The answer is 5.", VerificationTask(prompt="What is 2 plus 3?"))
    p = result.details["p_true"]
    assert 0.0 < p < 1.0 and result.score == p and result.passed is (p >= 0.5)
    message = [
        {
            "role": "user",
            "content": judge.template.render(question="What is 2 plus 3?", answer="The answer is 5."),
        }
    ]  # type: ignore[attr-defined]
    yes, no = (s.logprob[0] for s in scorer.score_many([message, message], ["True", "False"]))
    assert p == pytest.approx(math.exp(yes) / (math.exp(yes) + math.exp(no)))


def test_gate_calibration_script_runs_on_the_demo_model() -> None:
    from introspect.gate.evaluate_demo import evaluate
    from introspect.models.demo import model_path

    samples, solved_at = evaluate(model_path(), n=4, turns=2)
    assert len(samples) == len(solved_at) == 4
    assert all(s.stats["mean_self_certainty"] >= 0 for s in samples)
    assert all(t in (0, 1, 2) for t in solved_at)
    assert [t == 1 for t in solved_at] == [s.correct for s in samples]
