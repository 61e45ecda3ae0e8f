"""Checks a command makes before it touches the database, so an operator's mistake is one line.

A malformed or unknown-driver URL, a server that refuses the connection, or a database nobody has
run ``introspect db upgrade`` on would otherwise surface deep inside SQLAlchemy -- as a traceback,
or, in a worker's claim loop, as a traceback every poll (about 1,000 lines in 12 s).
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from introspect.store.engine import make_engine

_BACKENDS = ("postgresql", "sqlite")
# Tables a migrated database has: ours (Alembic's version row and the job table every command needs).
_REQUIRED_TABLES = ("alembic_version", "jobs")


class DatabaseNotReadyError(Exception):
    """The database cannot be used as configured; the message is one line for the operator."""


def redacted(url: str) -> str:
    """``url`` with its password hidden (or a placeholder when it does not even parse)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def parse_database_url(url: str) -> URL:
    """The URL, with its dialect and driver loadable; else :class:`DatabaseNotReadyError`."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() not in _BACKENDS:
            raise ValueError(f"Introspect runs on {' or '.join(_BACKENDS)}, not {parsed.get_backend_name()}")
        parsed.get_dialect().import_dbapi()  # the driver named in the URL is installed
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise DatabaseNotReadyError(
            f"INTROSPECT_DATABASE_URL {redacted(url)!s} is not usable: {_first_line(exc)} "
            "(expected e.g. postgresql+psycopg://user:pass@host:5432/db or sqlite:///path/introspect.db)"
        ) from None
    return parsed


def check_database(url: str, *, need_tables: bool = True) -> None:
    """Parse ``url``, connect once, and (``need_tables``) make sure the schema is there."""
    parse_database_url(url)
    try:
        engine = make_engine(url)
    except (ArgumentError, SQLAlchemyError, TypeError, ValueError, OSError) as exc:
        raise DatabaseNotReadyError(f"cannot use the database {redacted(url)}: {_first_line(exc)}") from None
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names()) if need_tables else set()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseNotReadyError(
            f"cannot connect to the database {redacted(url)}: {_first_line(exc)}"
        ) from None
    finally:
        engine.dispose()
    missing = [name for name in _REQUIRED_TABLES if name not in present] if need_tables else []
    if missing:
        raise DatabaseNotReadyError(
            f"the database {redacted(url)} has no Introspect tables ({', '.join(missing)} missing): "
            "run `introspect db upgrade` once"
        )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0]
