"""Alembic environment: runs on Postgres and SQLite (batch mode), ignores LangGraph's tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from introspect.db.schema_filter import include_name
from introspect.store.tables import Base


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    from introspect.config import get_settings
    from introspect.store.engine import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        run_with(conn)
    engine.dispose()


main()
