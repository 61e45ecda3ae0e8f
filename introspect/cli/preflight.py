"""The database check every command runs first: one line and exit status 2 instead of a traceback."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from introspect.db.preflight import DatabaseNotReadyError, check_database

EXIT_USAGE = 2  # the operator's configuration is at fault, as for a bad command-line option


def require_database(url: str, *, need_tables: bool = True) -> None:
    try:
        check_database(url, need_tables=need_tables)
    except DatabaseNotReadyError as exc:
        fail(str(exc))


def fail(message: str) -> NoReturn:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code=EXIT_USAGE)
