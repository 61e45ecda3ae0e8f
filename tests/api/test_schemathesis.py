"""Property-based fuzzing of every documented operation: whatever a client sends, never a 5xx, and
never a stream that breaks after its 200 (issue 16, item 4).

Two phases, each bounded so the file stays well under CI's time budget: positive cases (valid by
the schema) and negative cases (each violating it somewhere). Export streams over stored rows (where
a weight overflow shows) are covered by tests/api/test_hostile_inputs.py. :class:`StreamGuard`
sees every response: an exception after ``http.response.start`` is a broken
stream, whatever the client made of it.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.testing.scripted_models import Script, ScriptedProvider

EXAMPLES_PER_OPERATION = 25
WAITING_EXAMPLES = 10
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _waits_for_the_run(operation: Any) -> bool:
    """Operations that answer once the job settled (runs wait/stream/join, chat completions and
    responses, a job's event stream): in queue mode no worker runs here, so they are fuzzed against
    the embedded worker."""
    path = operation.path
    return path.endswith(("/wait", "/stream", "/join", "/events")) or path in (
        "/v1/chat/completions",
        "/v1/responses",
    )


class StreamGuard:
    """ASGI wrapper recording any exception raised after a response started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.broken: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status: int | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except BaseException as exc:
            if status is not None:
                query = scope.get("query_string", b"").decode("latin-1")
                self.broken.append(f"{scope.get('path')}?{query}: {status}, then {exc!r}")
            raise


def test_no_server_errors_and_no_broken_streams(settings: Settings) -> None:
    app = create_app(settings, bound_host="127.0.0.1")
    guard = StreamGuard(app)
    with TestClient(app):  # runs the lifespan, so app.state is ready for schemathesis' own client
        schema = schemathesis.openapi.from_asgi("/openapi.json", guard)
        operations = [r.ok() for r in schema.get_all_operations() if not _waits_for_the_run(r.ok())]
        assert len(operations) >= 10
        for operation in operations:
            for mode in MODES:
                _fuzz(operation, mode, EXAMPLES_PER_OPERATION, guard)
    assert guard.broken == []


def test_no_server_errors_from_operations_that_wait_for_a_run(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, redis_url=None)
    provider = ScriptedProvider(Script(answers=["The answer is 42."]))
    app = create_app(settings, bound_host="127.0.0.1", model_provider=provider)
    guard = StreamGuard(app)
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", guard)
        operations = [r.ok() for r in schema.get_all_operations() if _waits_for_the_run(r.ok())]
        assert len(operations) >= 6
        for operation in operations:
            for mode in MODES:
                _fuzz(operation, mode, WAITING_EXAMPLES, guard)
    assert guard.broken == []


def _fuzz(operation: Any, mode: GenerationMode, examples: int, guard: StreamGuard) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error])
        assert guard.broken == [], guard.broken

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to violate: an operation without inputs
