"""Faces' fixtures: the real app under uvicorn (real HTTP, real clients), embedded worker, scripted
remote model (the only fake), SQLite or Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.testing.live_server import live_server
from introspect.testing.scripted_models import Script, ScriptedProvider

TASK = {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"}
RIGHT_SECOND = Script(answers=["The answer is 41.", "The answer is 42."])
ALWAYS_WRONG = Script(answers=["The answer is 41."])
SLOW = Script(answers=["The answer is 41."], delay_s=0.3)
# An escalation to a person after the first failed attempt: the job waits (an interrupted run).
HUMAN = {"escalation": "human", "gate": {"escalate_after_failures": 1}}


@contextmanager
def serving(db_url: str, script: Script, api_keys: list[str] | None = None) -> Iterator[str]:
    settings = Settings(database_url=db_url, redis_url=None, api_keys=api_keys or [])  # type: ignore[arg-type]
    app = create_app(settings, bound_host="127.0.0.1", model_provider=ScriptedProvider(script))
    with live_server(app) as origin:
        yield origin
