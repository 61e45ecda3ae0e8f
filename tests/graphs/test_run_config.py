"""A graph registered with max_concurrency=1 (one thread for its run's checkpoint writes) must run one
node per step: two nodes in one step would then run one after the other."""

from __future__ import annotations

from typing import Any

import pytest

from introspect.runner.graphs import GRAPHS, GraphEntry
from tests.graphs.fakes import CONFIDENT, FakeProvider, Reply, ScriptedChatModel, stats
from tests.graphs.harness import Harness

TASK = {"prompt": "What is 40 plus 2?", "reference": "42"}
RUNS: dict[str, tuple[dict[str, Any], list[Reply]]] = {
    # wrong, then right: generate, verify, gate, critique, revise, ... finish
    "self_critique": ({}, [Reply("The answer is 41.", CONFIDENT), Reply("The answer is 42.", CONFIDENT)]),
    "best_of_n": (
        {"n": 2},
        [Reply("The answer is 42.", stats(certainty=5.0)), Reply("41", stats(certainty=4.0))],
    ),
}


def test_the_run_config_carries_the_thread_and_the_pool_size() -> None:
    assert GraphEntry("graphs/x.py", max_concurrency=1).run_config("t1") == {
        "configurable": {"thread_id": "t1"},
        "max_concurrency": 1,
    }
    assert GraphEntry("graphs/x.py").run_config("t1") == {"configurable": {"thread_id": "t1"}}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graphs_run_with_one_thread_schedule_one_node_per_step(harness: Harness, name: str) -> None:
    entry = GRAPHS[name]
    assert entry.max_concurrency == 1
    config, script = RUNS[name]
    deps = harness.deps(FakeProvider({"local": ScriptedChatModel(script=script)}))
    job_id = harness.create(name, TASK, config)
    assert harness.execute(job_id, deps).status == "succeeded"
    history = list(entry.compiled(harness.checkpointer).get_state_history(entry.run_config(str(job_id))))
    assert len(history) > 4
    assert all(len(snapshot.next) <= 1 for snapshot in history), [s.next for s in history]
