"""Best-of-N: one batched call, selection by self-certainty or Borda, every sibling recorded."""

from __future__ import annotations

from typing import Any

from tests.graphs.fakes import FakeProvider, Reply, ScriptedChatModel, stats
from tests.graphs.harness import Harness

TASK = {"prompt": "What is 40 plus 2?", "reference": "42"}
# Candidate 1 is the most self-certain but wrong; three less certain candidates agree on 42.
SCRIPT = [
    Reply("The answer is 42.", stats(certainty=5.0)),
    Reply("The answer is 41.", stats(certainty=7.0)),
    Reply("The answer is 42.", stats(certainty=4.0)),
    Reply("The answer is 42.", stats(certainty=3.0)),
]


def run(
    harness: Harness, config: dict[str, Any], script: list[Any] = SCRIPT
) -> tuple[ScriptedChatModel, dict[str, Any]]:
    local = ScriptedChatModel(script=script)
    outcome = harness.run("best_of_n", TASK, {"n": 4, **config}, harness.deps(FakeProvider({"local": local})))
    assert outcome.status == "succeeded"
    return local, harness.resource(outcome.trajectory_id)


def test_self_certainty_selection(harness: Harness) -> None:
    local, resource = run(harness, {"selection": "self_certainty"})
    assert local.invocations == 1 and len(local.calls) == 4  # one batched call for four candidates
    turns = resource["turns"]
    assert [t["selected"] for t in turns] == [False, True, False, False]
    assert {t["sibling_group"] for t in turns} == {0} and [t["index"] for t in turns] == [0, 1, 2, 3]
    assert turns[1]["decision"]["reason"] == "selected_by_self_certainty"
    assert turns[0]["decision"]["reason"] == "not_selected"
    assert resource["answer"] == "The answer is 41." and resource["success"] is False
    assert resource["stop_reason"] == "selected_by_self_certainty"
    # Every sibling keeps its own attempt reward: preference export needs the losers.
    assert [t["rewards"][0]["value"] for t in turns] == [1.0, 0.0, 1.0, 1.0]
    assert resource["rewards"][0] == {**resource["rewards"][0], "kind": "outcome", "value": 0.0}


def test_borda_selection(harness: Harness) -> None:
    _, resource = run(harness, {"selection": "borda", "borda_p": 0.3})
    turns = resource["turns"]
    assert [t["selected"] for t in turns] == [True, False, False, False]
    assert turns[0]["decision"]["reason"] == "selected_by_borda"
    votes = [t["decision"]["inputs"]["votes"] for t in turns]
    assert votes == [3**0.3, 4**0.3, 2**0.3, 1.0]
    assert resource["answer"] == "The answer is 42." and resource["success"] is True


def test_majority_vote_without_statistics(harness: Harness) -> None:
    script = ["The answer is 41.", "The answer is 42.", "The answer is 42.", "The answer is 7."]
    _, resource = run(harness, {}, script)
    assert [t["selected"] for t in resource["turns"]] == [False, True, False, False]
    assert resource["stop_reason"] == "selected_by_majority"


class OneAtATime(ScriptedChatModel):
    """A chat model that ignores ``n`` (most do): the graph tops up with one ``batch`` call."""

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        kwargs.pop("n", None)
        return super()._generate(messages, stop, run_manager, **kwargs)


def test_models_without_n_still_give_n_candidates(harness: Harness) -> None:
    local = OneAtATime(script=SCRIPT)
    outcome = harness.run("best_of_n", TASK, {"n": 4}, harness.deps(FakeProvider({"local": local})))
    assert len(harness.resource(outcome.trajectory_id)["turns"]) == 4 and len(local.calls) == 4
