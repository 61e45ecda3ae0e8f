"""Admin fixtures: the real app (``create_app``) on a real database, logged in through the login form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from introspect.api.app import create_app
from introspect.config import Settings

BOOTSTRAP_KEY = "isk_admin-test-bootstrap-key-0123456789"
BASE = "http://testserver"
ORIGIN = {"Origin": BASE}


def admin_settings(database_url: str, redis_url: str, **overrides: object) -> Settings:
    """Queue mode (Redis set): no embedded worker, so nothing runs the jobs these tests create."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        api_keys=[SecretStr(BOOTSTRAP_KEY)],
        **overrides,  # type: ignore[arg-type]
    )


def login(client: TestClient, key: str = BOOTSTRAP_KEY) -> None:
    response = client.post("/admin/login", data={"api_key": key}, headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture
def app_client(db_url: str, redis_url: str) -> Iterator[TestClient]:
    app = create_app(admin_settings(db_url, redis_url), bound_host="127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        yield client


@pytest.fixture
def admin_client(app_client: TestClient) -> TestClient:
    login(app_client)
    return app_client
