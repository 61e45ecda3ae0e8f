"""A graph run without the runner (``langgraph dev``, a notebook): embedded defaults, memory recorder.

The task in the graph's input may carry ``verifier`` (a spec) besides ``prompt`` and ``reference``;
everything else comes from ``Settings`` and the gate's default policy. Nothing is written to the
database: use ``introspect run`` or the API to keep trajectories.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from introspect.config import get_settings
from introspect.critics import VerifierFeedbackCritic
from introspect.prompting import default_library
from introspect.runner.context import GraphContext
from introspect.runner.memory import MemoryRecorder
from introspect.runner.model_provider import default_model_provider
from introspect.runner.spec import _default_verifier
from introspect.verifiers.registry import build_verifier


@lru_cache(maxsize=32)
def _context(task_key: str) -> GraphContext:
    task: dict[str, Any] = json.loads(task_key)
    models = default_model_provider(get_settings())
    spec = task.get("verifier") or _default_verifier(task.get("reference"))
    return GraphContext(
        models=models,
        recorder=MemoryRecorder(),
        critic=VerifierFeedbackCritic(),
        verifier=None if spec is None else build_verifier(spec, scorer=models.scorer()),
        prompts=default_library(),
    )


def standalone_context(task: dict[str, Any]) -> GraphContext:
    """One context per distinct task (so a recorder never mixes two runs' turns)."""
    return _context(json.dumps(task, sort_keys=True, default=str))
