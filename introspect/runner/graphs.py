"""The graph registry: names to builders, loaded by file path exactly as ``langgraph.json`` does.

``graphs/`` sits at the repository root beside ``prompts/`` and ``migrations/`` (design.md §3), not
inside the installed package, so it is imported from its path: the ``graphs`` package is registered
from ``<root>/graphs/__init__.py`` when the import system cannot find it (an installed console script
does not have the repository root on ``sys.path``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GRAPHS_DIR = ROOT / "graphs"


@dataclass(frozen=True)
class GraphEntry:
    path: str
    builder: str = "build"
    # LangGraph runs a run's checkpoint writes (and the nodes of a step that has several) on a
    # thread pool it creates for that run, of up to ``max_concurrency`` threads (None: its default,
    # min(32, cores + 4)). A graph that runs one node per step needs one: with the default the pool
    # grew to several threads per job, started and joined every run -- a fifth of a worker's CPU
    # per job and of a bare run's (measured: 10.5 -> 8.5 ms of CPU per bare job).
    max_concurrency: int | None = None

    def run_config(self, thread_id: str) -> dict[str, Any]:
        """LangGraph's config for one run of this graph on thread ``thread_id``."""
        config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
        if self.max_concurrency is not None:
            config["max_concurrency"] = self.max_concurrency
        return config

    def load(self) -> Any:
        """A fresh, uncompiled ``StateGraph`` (compile it with the checkpointer of your choice)."""
        return getattr(import_graph_module(self.path), self.builder)()

    def compiled(self, checkpointer: Any) -> Any:
        """The graph compiled with ``checkpointer``, built once per (graph, checkpointer).

        Compiling costs more than running a short job, and a compiled graph holds no per-run
        state (runs differ by thread id and runtime context), so workers share one.
        """
        return _compile(self, checkpointer)


_COMPILED: dict[tuple[GraphEntry, int], tuple[Any, Any]] = {}
_COMPILED_LOCK = threading.Lock()


def _compile(entry: GraphEntry, checkpointer: Any) -> Any:
    key = (entry, id(checkpointer))
    with _COMPILED_LOCK:
        cached = _COMPILED.get(key)
        # The checkpointer is kept in the value so its id cannot be reused by another object.
        if cached is None or cached[0] is not checkpointer:
            cached = (checkpointer, entry.load().compile(checkpointer=checkpointer))
            _COMPILED[key] = cached
        return cached[1]


LANGGRAPH_JSON = ROOT / "langgraph.json"


def _registry() -> dict[str, GraphEntry]:
    """The graphs ``langgraph.json`` names (the one list: ``langgraph dev``, the runner and every
    face's assistants or models read it). ``"./graphs/x.py:graph"`` runs as ``build()`` of that
    module, compiled with the worker's checkpointer."""
    declared = json.loads(LANGGRAPH_JSON.read_text(encoding="utf-8"))["graphs"]
    # Both graphs are chains: one node per step (best-of-n samples its candidates in one batched call).
    return {
        name: GraphEntry(str(reference).partition(":")[0].removeprefix("./"), max_concurrency=1)
        for name, reference in declared.items()
    }


GRAPHS: dict[str, GraphEntry] = _registry()


def _ensure_graphs_package() -> None:
    existing = sys.modules.get("graphs")
    if existing is not None:
        return
    spec = importlib.util.find_spec("graphs")
    if spec is not None and spec.origin and Path(spec.origin).resolve().parent == GRAPHS_DIR:
        importlib.import_module("graphs")
        return
    spec = importlib.util.spec_from_file_location(
        "graphs", GRAPHS_DIR / "__init__.py", submodule_search_locations=[str(GRAPHS_DIR)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the graphs package from {GRAPHS_DIR}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["graphs"] = module
    spec.loader.exec_module(module)


def import_graph_module(path: str) -> ModuleType:
    """Import ``graphs/<name>.py`` (a path relative to the repository root) as ``graphs.<name>``."""
    file = (ROOT / path).resolve()
    if file.parent != GRAPHS_DIR or file.suffix != ".py":
        raise ValueError(f"{path!r} is not a module of {GRAPHS_DIR}")
    _ensure_graphs_package()
    return importlib.import_module(f"graphs.{file.stem}")


def load_by_reference(reference: str) -> Any:
    """``"./graphs/x.py:graph"`` (the ``langgraph.json`` spelling) to the object it names."""
    path, _, attr = reference.partition(":")
    return getattr(import_graph_module(path.removeprefix("./")), attr or "graph")
