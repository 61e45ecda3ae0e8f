"""Streaming: one statement, read lazily page by page, the same rows at any page size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from introspect.export import ExportFilters, ExportOptions, get_format, iter_rows
from introspect.export.stream import ExportStats, export_connection
from tests.export.builders import Try, record_trajectory
from tests.export.conftest import run_export


class QueryLog:
    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)
        self._engine = engine

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.statements.append(statement)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)

    def count(self, table: str) -> int:
        return sum(1 for s in self.statements if f"FROM {table}" in s)


def _seed(factory: sessionmaker[Session], n: int) -> None:
    for i in range(n):
        record_trajectory(
            factory,
            f"What is {i} * 3?",
            [Try(f"It is {i}.", False), Try(f"It is {3 * i}.", True)],
            reference=str(3 * i),
        )


def test_pages_cost_one_query_per_table_and_give_the_same_rows(
    session_factory: sessionmaker[Session], engine: Engine
) -> None:
    _seed(session_factory, 13)
    whole = run_export(session_factory, "raw", options=ExportOptions(page_size=500))
    log = QueryLog(engine)
    try:
        paged = run_export(session_factory, "raw", options=ExportOptions(page_size=4))
    finally:
        log.close()
    assert paged == whole and len(paged) == 13
    # One streamed statement for everything, whatever the page size: never a query per trajectory.
    assert len(log.statements) == 1, log.statements


def test_rows_are_read_lazily_page_by_page(session_factory: sessionmaker[Session], engine: Engine) -> None:
    _seed(session_factory, 10)
    stats = ExportStats()
    log = QueryLog(engine)
    try:
        with export_connection(session_factory) as connection:
            rows = iter_rows(
                connection, get_format("rise"), ExportFilters(), ExportOptions(page_size=3), stats=stats
            )
            next(rows)
            assert stats.trajectories <= 3 and len(log.statements) == 1
            rest = list(rows)
    finally:
        log.close()
    assert len(rest) + 1 == stats.rows == 20
    assert stats.trajectories == stats.matched == 10 and stats.turns == 30
