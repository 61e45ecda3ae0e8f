"""Auth, body-size and rate limits, corpora, and health endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from introspect.api.app import create_app
from introspect.api.auth import Authenticator, AuthError
from introspect.api.ratelimit import MemoryRateLimiter
from introspect.cli.serve import serve_command
from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories.api_keys import create_api_key
from introspect.testing.live_server import live_server
from tests.api.conftest import queue_settings

MINIMAL = {
    "graph": "self_critique",
    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
}


def _issue_key(url: str) -> str:
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return create_api_key(session, "test").plaintext
    finally:
        engine.dispose()


def test_api_keys_are_required_once_one_exists(pg_url: str, redis_url: str) -> None:
    key = _issue_key(pg_url)
    app = create_app(queue_settings(pg_url, redis_url), bound_host="127.0.0.1")
    with TestClient(app) as client:
        assert client.post("/v1/jobs", json=MINIMAL).status_code == 401
        bad = client.post("/v1/jobs", json=MINIMAL, headers={"Authorization": "Bearer isk_wrong"})
        assert bad.status_code == 401
        ok = client.post("/v1/jobs", json=MINIMAL, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 201
        assert client.get("/v1/healthz").status_code == 200


def test_bootstrap_key_from_settings(pg_url: str, redis_url: str) -> None:
    settings = queue_settings(pg_url, redis_url, api_keys=["isk_bootstrap_secret"])
    with TestClient(create_app(settings, bound_host="0.0.0.0")) as client:
        assert client.get("/v1/jobs").status_code == 401
        ok = client.get("/v1/jobs", headers={"Authorization": "Bearer isk_bootstrap_secret"})
        assert ok.status_code == 200


def test_no_keys_and_non_loopback_binding_refuses_requests(settings: Settings) -> None:
    with TestClient(create_app(settings, bound_host="0.0.0.0")) as client:
        assert client.get("/v1/jobs").status_code == 401


def test_serve_refuses_non_loopback_without_keys(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    import typer

    from introspect.config import get_settings

    monkeypatch.setenv("INTROSPECT_DATABASE_URL", pg_url)
    monkeypatch.setenv("INTROSPECT_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        with pytest.raises(typer.Exit) as exc:
            serve_command(host="0.0.0.0", port=8123)
        assert exc.value.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_body_over_limit_is_413_even_when_chunked(pg_url: str, redis_url: str) -> None:
    settings = queue_settings(pg_url, redis_url, max_body_bytes=2_000)
    big = {"graph": "self_critique", "input": {"prompt": "x" * 5_000}}
    app = create_app(settings, bound_host="127.0.0.1")
    with live_server(app) as base, httpx.Client(base_url=base) as http:
        assert http.post("/v1/jobs", json=big).status_code == 413

        def chunks() -> Iterator[bytes]:
            payload = httpx.Request("POST", "/", json=big).read()
            for i in range(0, len(payload), 500):
                yield payload[i : i + 500]

        chunked = http.post("/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413
        assert "limit" in chunked.json()["detail"]
        assert http.post("/v1/jobs", json=MINIMAL).status_code == 201


def test_rate_limit_is_429(pg_url: str, redis_url: str) -> None:
    settings = queue_settings(pg_url, redis_url, rate_limit_per_minute=3)
    with TestClient(create_app(settings, bound_host="127.0.0.1")) as client:
        codes = [client.get("/v1/jobs").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_corpora_documents(client: TestClient) -> None:
    response = client.post(
        "/v1/corpora/facts/documents",
        json={"documents": [{"title": "Paris", "content": "Paris is the capital of France."}]},
    )
    assert response.status_code == 201 and len(response.json()["document_ids"]) == 1
    assert client.post("/v1/corpora/facts/documents", json={"documents": []}).status_code == 422
    assert client.post(
        "/v1/corpora/bad name!/documents", json={"documents": [{"content": "x"}]}
    ).status_code in (
        404,
        422,
    )


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/v1/healthz").json()["status"] == "ok"
    ready = client.get("/v1/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readiness_reports_redis_down(pg_url: str) -> None:
    settings = queue_settings(pg_url, "redis://127.0.0.1:1/0")
    with TestClient(create_app(settings, bound_host="127.0.0.1")) as client:
        ready = client.get("/v1/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("error")
        # The API still takes jobs with Redis down: the row commits, the workers' poll finds it.
        assert client.post("/v1/jobs", json=MINIMAL).status_code == 201


def test_an_anonymous_request_is_authenticated_without_the_database_once_its_state_is_cached(
    pg_url: str,
) -> None:
    factory = make_session_factory(make_engine(pg_url))
    authenticator = Authenticator(Settings(database_url=pg_url), factory, "127.0.0.1")
    assert authenticator.authenticate_from_memory(None, "127.0.0.1") is None  # key table not read yet
    assert authenticator.authenticate(None, "127.0.0.1").anonymous
    cached = authenticator.authenticate_from_memory(None, "127.0.0.1")
    assert cached is not None and cached.anonymous and cached.rate_key == "anon:127.0.0.1"
    # Keyless loopback mode: the placeholder key clients always send is served like no key.
    placeholder = authenticator.authenticate_from_memory("Bearer none", "127.0.0.1")
    assert placeholder is not None and placeholder.anonymous
    assert authenticator.authenticate(None, "127.0.0.1", api_key="none").anonymous
    with_bootstrap = Authenticator(Settings(database_url=pg_url, api_keys=["k"]), factory, "127.0.0.1")
    with pytest.raises(AuthError):
        with_bootstrap.authenticate_from_memory(None, "127.0.0.1")
    assert with_bootstrap.authenticate_from_memory("Bearer some-key", "127.0.0.1") is None  # a key: check it
    assert not with_bootstrap.authenticate(None, "127.0.0.1", api_key="k").anonymous  # x-api-key
    with pytest.raises(AuthError):
        with_bootstrap.authenticate("Bearer none", "127.0.0.1")


def test_the_memory_rate_limiter_counts_per_key() -> None:
    limiter = MemoryRateLimiter(per_minute=2)
    results = asyncio.run(_allow_many(limiter, ["a", "a", "b", "a"]))
    assert results == [True, True, True, False]


async def _allow_many(limiter: MemoryRateLimiter, keys: list[str]) -> list[bool]:
    return [await limiter.allow(key) for key in keys]
