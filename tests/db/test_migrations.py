"""Migrations agree with the models and run up/down/up on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from introspect.db.migrate import downgrade, upgrade, upgrade_all
from introspect.db.schema_filter import include_name
from introspect.store.tables import Base
from introspect.testing.databases import create_empty_postgres_database
from introspect.testing.servers import PostgresServer

EXPECTED_TABLES = {
    "jobs",
    "trajectories",
    "turns",
    "verifications",
    "critiques",
    "rewards",
    "job_events",
    "corpora",
    "documents",
    "api_keys",
    "gate_profiles",
    "agent_threads",
    "agent_thread_runs",
}


def _diff(url: str) -> list[object]:
    from introspect.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    from introspect.store.engine import make_engine

    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_no_drift_between_models_and_migrations(db_url: str) -> None:
    assert _diff(db_url) == []


def test_upgrade_downgrade_upgrade_postgres(pg_server: PostgresServer) -> None:
    url = create_empty_postgres_database(pg_server)
    upgrade_all(url)
    tables = _tables(url)
    assert tables >= EXPECTED_TABLES
    assert {"checkpoints", "checkpoint_writes", "checkpoint_blobs"} <= tables
    downgrade(url, "base")
    assert not (EXPECTED_TABLES & _tables(url))
    upgrade(url)
    assert _tables(url) >= EXPECTED_TABLES
    assert _diff(url) == []


def test_upgrade_downgrade_upgrade_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade_all(url)
    tables = _tables(url)
    assert tables >= EXPECTED_TABLES
    assert {"checkpoints", "writes", "documents_fts", "trajectories_fts"} <= tables
    downgrade(url, "base")
    assert not (EXPECTED_TABLES & _tables(url))
    assert "documents_fts" not in _tables(url)
    upgrade(url)
    assert _tables(url) >= EXPECTED_TABLES
    assert _diff(url) == []
