"""On SmolLM2-135M-Instruct, with the reference kept from the loop, the final answer is right at least
as often as the first one (issue 17: the loop never makes a right answer worse)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from introspect.runner.model_provider import DefaultModelProvider
from introspect.store.engine import make_engine, make_session_factory
from introspect.testing.open_questions import OPEN_QUESTIONS
from tests.graphs.harness import Harness, harness_for
from tests.models.real_model import real_model_settings

pytestmark = pytest.mark.real_model

# A few questions the model answers right at turn 1 and one it may not: kept small, CPU time is shared.
QUESTIONS = [q for q in OPEN_QUESTIONS if q.prompt.startswith(("What is the capital of France", "Who wrote"))]
QUESTIONS += [q for q in OPEN_QUESTIONS if q.prompt.startswith("What is the capital of Australia")]


@pytest.fixture
def sqlite_harness(sqlite_url: str) -> Iterator[Harness]:
    engine = make_engine(sqlite_url)
    try:
        with harness_for(sqlite_url, make_session_factory(engine)) as harness:
            yield harness
    finally:
        engine.dispose()


def test_final_answers_are_right_at_least_as_often_as_turn_one(sqlite_harness: Harness) -> None:
    settings = real_model_settings(model_device="cpu")
    provider = DefaultModelProvider(settings)
    deps = sqlite_harness.deps(provider, settings=settings)  # type: ignore[arg-type]
    first_right = final_right = 0
    for question in QUESTIONS:
        # No reference, no verifier: nothing in the loop can see the answer.
        outcome = sqlite_harness.run(
            "self_critique", {"prompt": question.prompt}, {"max_turns": 2, "max_tokens": 40}, deps
        )
        resource = sqlite_harness.resource(outcome.trajectory_id)
        attempts = [t for t in resource["turns"] if t["phase"] in ("generate", "revise")]
        assert len(attempts) == 2  # SmolLM2's answers are never "confident" under the default gate
        first_right += question.is_right(attempts[0]["output"])
        final_right += question.is_right(resource["answer"])
        assert resource["answer"] in [t["output"] for t in attempts]
        assert all(t["model"] == "smollm2-135m-instruct" for t in attempts)
    assert final_right >= first_right and first_right >= 2
