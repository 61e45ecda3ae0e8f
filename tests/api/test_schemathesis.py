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

EXAMPLES_PER_OPERATION = 30


def test_no_server_errors(settings: Settings) -> None:
    app = create_app(settings, bound_host="127.0.0.1")
    with TestClient(app):  # runs the lifespan, so app.state is ready for schemathesis' own client
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            _fuzz(operation)


def _fuzz(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    run()
