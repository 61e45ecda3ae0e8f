"""INSERT ... ON CONFLICT for whichever backend a session is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Any) -> Any:
    """Dialect insert construct supporting ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    return insert_for_dialect(session.get_bind().dialect.name, table)


def insert_for_dialect(dialect_name: str, table: Any) -> Any:
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
