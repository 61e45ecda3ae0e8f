"""Shared fixtures: real PostgreSQL 15 and Redis servers, started once per session.

A server that cannot start is an error, never a skip: CI must not pass without the real backends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import make_engine, make_session_factory
from introspect.testing.databases import (
    clone_postgres_database,
    clone_sqlite_database,
    create_postgres_template,
    create_sqlite_template,
)
from introspect.testing.servers import PostgresServer, RedisServer, start_postgres, start_redis

# Starlette's TestClient (and schemathesis' ASGI client) send "Host: testserver". Keyless loopback mode
# answers only loopback Host names and INTROSPECT_ALLOWED_HOSTS (DNS rebinding, api/hosts.py); every
# Settings of the test session reads this, and the rebinding tests set their own list.
os.environ.setdefault("INTROSPECT_ALLOWED_HOSTS", '["testserver"]')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        create_postgres_template(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh, migrated Postgres database for one test."""
    return clone_postgres_database(pg_server)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database file for one test."""
    return clone_sqlite_database(sqlite_template, tmp_path)


@pytest.fixture(params=["postgres", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on each backend."""
    name = "pg_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
