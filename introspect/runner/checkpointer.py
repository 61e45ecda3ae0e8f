"""LangGraph checkpointers on our own database: Postgres (psycopg pool) or SQLite (one connection).

The checkpoint tables are created by ``introspect db upgrade`` (``setup()`` after our migrations),
so this only connects. Jobs use ``thread_id = str(job_id)``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres import PostgresSaver


def _postgres_conninfo(database_url: str) -> str:
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _unlocked(saver: PostgresSaver) -> PostgresSaver:
    # PostgresSaver holds one threading.Lock around every query, even when it is given a pool: with
    # eight jobs in one worker their checkpoint reads and writes then queue behind each other, a
    # database round trip at a time (py-spy showed it as the worker's top wait). With a pool each
    # call checks out its own connection, which is all the lock protects, so it can go.
    saver.lock = contextlib.nullcontext()  # type: ignore[assignment]
    return saver


@contextmanager
def make_checkpointer(database_url: str, *, max_pool_size: int = 10) -> Iterator[BaseCheckpointSaver[Any]]:
    """A checkpointer for ``database_url`` (a SQLAlchemy URL), closed on exit."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        # PostgresSaver needs autocommit and dict rows; prepare_threshold=0 (LangGraph's documented
        # setting) prepares each statement on its first use, as its queries repeat for every step.
        pool: ConnectionPool[Any] = ConnectionPool(
            _postgres_conninfo(database_url),
            min_size=1,
            max_size=max_pool_size,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=True,
        )
        try:
            yield _unlocked(PostgresSaver(pool))
        finally:
            pool.close()
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    database = url.database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # The saver serialises access with its own lock; the busy timeout covers our ORM's writers.
    conn = sqlite3.connect(database, check_same_thread=False, timeout=30)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()
