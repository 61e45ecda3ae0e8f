"""DNS rebinding (Host allow-list) and failed-authentication limits (issue 16, item 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from introspect.api.app import create_app
from introspect.api.hosts import host_name
from introspect.config import Settings

KEY = "isk_hosts-test-key-0123456789"
JOB = {"graph": "self_critique", "input": {"prompt": "What is 2 + 2?"}}
EVIL = "rebind.evil.example:8000"


def _client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, bound_host="127.0.0.1"), base_url="http://localhost:8000") as client:
        yield client


@pytest.fixture
def keyless(pg_url: str, redis_url: str) -> Iterator[TestClient]:
    yield from _client(Settings(database_url=pg_url, redis_url=redis_url, allowed_hosts=[]))  # type: ignore[arg-type]


def test_host_names_are_parsed_strictly() -> None:
    assert host_name("LOCALHOST:8000") == "localhost"
    assert host_name("[::1]:8000") == "::1" and host_name("[::1]") == "::1"
    assert host_name("127.0.0.1") == "127.0.0.1"
    for bad in (None, "", ":80", "[::1", "localhost:80:80", "localhost:http", "localhost:1234567"):
        assert host_name(bad) is None, bad


def test_keyless_loopback_mode_refuses_a_rebound_host(keyless: TestClient) -> None:
    evil = {"host": EVIL, "origin": f"http://{EVIL}"}
    assert keyless.get("/v1/jobs", headers=evil).status_code == 400
    assert keyless.post("/v1/jobs", json=JOB, headers=evil).status_code == 400
    assert keyless.get("/v1/exports/raw", headers=evil).status_code == 400
    assert keyless.get("/admin/trajectories", headers=evil).status_code == 400
    assert keyless.get("/admin/export/download?format=raw", headers=evil).status_code == 400
    # The admin Origin check would pass (Origin names the Host): the Host check comes first.
    assert keyless.post("/admin/logout", headers=evil).status_code == 400
    assert keyless.get("/v1/jobs").json()["data"] == []  # nothing was created


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "[::1]"])
def test_keyless_loopback_mode_answers_loopback_names(keyless: TestClient, host: str) -> None:
    assert keyless.get("/v1/jobs", headers={"host": host}).status_code == 200


def test_with_keys_and_no_list_any_host_is_answered(pg_url: str, redis_url: str) -> None:
    settings = Settings(database_url=pg_url, redis_url=redis_url, api_keys=[SecretStr(KEY)], allowed_hosts=[])  # type: ignore[arg-type]
    for client in _client(settings):
        headers = {"host": "api.example.com", "authorization": f"Bearer {KEY}"}
        assert client.get("/v1/jobs", headers=headers).status_code == 200
        assert client.get("/v1/jobs", headers={"host": "api.example.com"}).status_code == 401


def test_a_configured_list_is_enforced_even_with_keys(pg_url: str, redis_url: str) -> None:
    settings = Settings(
        database_url=pg_url, redis_url=redis_url, api_keys=[SecretStr(KEY)], allowed_hosts=["API.example.com"]
    )  # type: ignore[arg-type]
    auth = {"authorization": f"Bearer {KEY}"}
    for client in _client(settings):
        assert client.get("/v1/jobs", headers={**auth, "host": "api.example.com:443"}).status_code == 200
        assert client.get("/v1/jobs", headers={**auth, "host": "127.0.0.1:8000"}).status_code == 200
        assert client.get("/v1/jobs", headers={**auth, "host": "other.example.com"}).status_code == 400


def _count_key_checks(client: TestClient) -> list[int]:
    authenticator: Any = client.app.state.authenticator  # type: ignore[attr-defined]
    calls = [0]
    check_key = authenticator.check_key

    def counted(token: str) -> Any:
        calls[0] += 1
        return check_key(token)

    authenticator.check_key = counted
    return calls


@pytest.mark.parametrize("redis", ["up", "down"])
def test_wrong_keys_are_limited_per_address_before_any_lookup(
    pg_url: str, redis_url: str, redis: str
) -> None:
    url = redis_url if redis == "up" else "redis://127.0.0.1:1/0"  # nothing listens there
    settings = Settings(
        database_url=pg_url, redis_url=url, api_keys=[SecretStr(KEY)], auth_failures_per_minute=3
    )  # type: ignore[arg-type]
    for client in _client(settings):
        calls = _count_key_checks(client)
        wrong = {"authorization": "Bearer isk_wrong-guess-0123456789"}
        assert [client.get("/v1/jobs", headers=wrong).status_code for _ in range(3)] == [401, 401, 401]
        assert client.get("/v1/jobs", headers=wrong).status_code == 429
        assert client.get("/v1/jobs", headers={"x-api-key": "isk_another-guess"}).status_code == 429
        assert calls[0] == 3  # the refused guesses cost no key lookup
        login = client.post(
            "/admin/login", data={"api_key": "isk_wrong"}, headers={"origin": "http://localhost:8000"}
        )
        assert login.status_code == 429  # the admin login shares the address's budget


def test_admin_login_failures_are_limited(pg_url: str, redis_url: str) -> None:
    settings = Settings(
        database_url=pg_url, redis_url=redis_url, api_keys=[SecretStr(KEY)], auth_failures_per_minute=2
    )  # type: ignore[arg-type]
    origin = {"origin": "http://localhost:8000"}
    for client in _client(settings):
        codes = [
            client.post("/admin/login", data={"api_key": f"isk_guess{i}"}, headers=origin).status_code
            for i in range(3)
        ]
        assert codes == [401, 401, 429]


def test_the_request_rate_limit_holds_while_redis_is_down(pg_url: str) -> None:
    settings = Settings(
        database_url=pg_url,
        redis_url="redis://127.0.0.1:1/0",
        api_keys=[SecretStr(KEY)],
        rate_limit_per_minute=3,
    )  # type: ignore[arg-type]
    auth = {"authorization": f"Bearer {KEY}"}
    for client in _client(settings):
        assert [client.get("/v1/jobs", headers=auth).status_code for _ in range(4)] == [200, 200, 200, 429]
