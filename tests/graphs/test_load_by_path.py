"""Graphs are loadable by path (as langgraph.json lists them) and compile with any checkpointer."""

from __future__ import annotations

import json
import subprocess
import sys

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from introspect.critics import VerifierFeedbackCritic
from introspect.runner.context import GraphContext
from introspect.runner.graphs import GRAPHS, ROOT, load_by_reference
from introspect.runner.memory import MemoryRecorder
from introspect.verifiers import build_verifier
from tests.graphs.fakes import CONFIDENT, FakeProvider, Reply, ScriptedChatModel


def test_langgraph_json_lists_every_graph() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert set(config["graphs"]) == set(GRAPHS)
    for name, reference in config["graphs"].items():
        graph = load_by_reference(reference)
        assert isinstance(graph, CompiledStateGraph), name
        assert GRAPHS[name].path == reference.removeprefix("./").partition(":")[0]


def test_graphs_load_from_a_console_script_without_the_repository_on_sys_path() -> None:
    code = (
        f"import sys; sys.path = [p for p in sys.path if p not in ('', '.', {str(ROOT)!r})];"
        "from introspect.runner.graphs import GRAPHS;"
        "print(sorted(GRAPHS['self_critique'].load().nodes))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "gate" in out.stdout and "revise" in out.stdout


def test_compiles_with_an_in_memory_checkpointer_and_a_memory_recorder() -> None:
    local = ScriptedChatModel(
        script=[Reply("The answer is 41.", CONFIDENT), Reply("The answer is 42.", CONFIDENT)]
    )
    recorder = MemoryRecorder()
    context = GraphContext(
        models=FakeProvider({"local": local}),
        recorder=recorder,
        critic=VerifierFeedbackCritic(),
        verifier=build_verifier("numeric"),
    )
    graph = GRAPHS["self_critique"].load().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    state = graph.invoke({"prompt": "What is 40 plus 2?", "reference": "42"}, config, context=context)
    assert state["result"] == {"answer": "The answer is 42.", "stop_reason": "verified", "success": True}
    assert sorted(recorder.turns) == [0, 1]
    assert recorder.finished is not None and recorder.finished.attempt_rewards == [(0, 0.0), (1, 1.0)]
    recorder.record_turns([recorder.turns[0]])  # idempotent on the index, like the database
    assert [e for e in recorder.events if e[0] == "turn_finished"] == [
        ("turn_finished", {"index": 0, "phase": "generate"}),
        ("turn_finished", {"index": 1, "phase": "revise"}),
    ]


def test_graph_schemas_are_servable() -> None:
    """LangGraph Server (``langgraph dev``) publishes each graph's input/output/context schemas."""
    for reference in json.loads((ROOT / "langgraph.json").read_text())["graphs"].values():
        graph = load_by_reference(reference)
        # The input is the REST job input's shape, not the graph's internal channels.
        assert set(graph.get_input_jsonschema()["properties"]) == {
            "prompt", "messages", "reference", "verifier", "corpus"
        }  # fmt: skip
        assert "result" in graph.get_output_jsonschema()["properties"]
        assert graph.get_context_jsonschema() is None
