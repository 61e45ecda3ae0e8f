"""Property-based fuzzing of every documented operation: whatever a client sends, never a 5xx."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.testing.scripted_models import Script, ScriptedProvider

EXAMPLES_PER_OPERATION = 30
WAITING_EXAMPLES = 10


def _waits_for_the_run(operation: Any) -> bool:
    """Operations that answer once the job settled (runs wait/stream/join, chat completions and
    responses): in queue mode no worker runs here, so they are fuzzed against the embedded worker."""
    path = operation.path
    return path.endswith(("/wait", "/stream", "/join")) or path in ("/v1/chat/completions", "/v1/responses")


def test_no_server_errors(settings: Settings) -> None:
    app = create_app(settings, bound_host="127.0.0.1")
    with TestClient(app):  # runs the lifespan, so app.state is ready for schemathesis' own client
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            if not _waits_for_the_run(operation):
                _fuzz(operation, EXAMPLES_PER_OPERATION)


def test_no_server_errors_from_operations_that_wait_for_a_run(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, redis_url=None)
    provider = ScriptedProvider(Script(answers=["The answer is 42."]))
    app = create_app(settings, bound_host="127.0.0.1", model_provider=provider)
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [r.ok() for r in schema.get_all_operations() if _waits_for_the_run(r.ok())]
        assert len(operations) >= 6
        for operation in operations:
            _fuzz(operation, WAITING_EXAMPLES)


def _fuzz(operation: Any, examples: int) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    run()
