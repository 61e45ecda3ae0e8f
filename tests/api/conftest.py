"""API fixtures: the real app on real Postgres and Redis (queue mode: jobs stay queued here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from introspect.api.app import create_app
from introspect.config import Settings


def queue_settings(pg_url: str, redis_url: str, **overrides: object) -> Settings:
    return Settings(database_url=pg_url, redis_url=redis_url, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(pg_url: str, redis_url: str) -> Settings:
    return queue_settings(pg_url, redis_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, bound_host="127.0.0.1")
    with TestClient(app) as test_client:
        yield test_client
