"""Apply our Alembic migrations, then let LangGraph's checkpointer create its own tables."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def setup_checkpointer(database_url: str) -> None:
    """Run the LangGraph checkpointer's own ``setup()`` for this database."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        from langgraph.checkpoint.postgres import PostgresSaver

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with PostgresSaver.from_conn_string(conninfo) as saver:
            saver.setup()
    else:
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(url.database or ":memory:", check_same_thread=False)
        try:
            SqliteSaver(conn).setup()
        finally:
            conn.close()


def upgrade_all(database_url: str) -> None:
    upgrade(database_url)
    setup_checkpointer(database_url)


def seed_gate_profiles(database_url: str) -> int:
    """Store the catalog models' shipped gate profiles where the database has none for them yet
    (operator paths: ``introspect db upgrade``, ``serve``, ``run``; test databases stay empty)."""
    from introspect.store.engine import make_engine, make_session_factory, transaction
    from introspect.store.repositories.gate_profiles import seed_catalog_profiles

    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return seed_catalog_profiles(session)
    finally:
        engine.dispose()
