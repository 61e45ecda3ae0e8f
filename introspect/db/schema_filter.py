"""Which database objects belong to our models (and so to Alembic's comparison)."""

from __future__ import annotations

from typing import Any

from introspect.store.fts import FTS_OBJECT_NAMES, FTS_TABLE_PREFIXES

# Tables owned by LangGraph's checkpointers (created by their own setup(), not by Alembic).
CHECKPOINT_TABLES = frozenset(
    {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations", "writes"}
)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: skip LangGraph's tables and our dialect-specific FTS objects."""
    if name is None:
        return True
    if type_ == "table" and (name in CHECKPOINT_TABLES or name.startswith(FTS_TABLE_PREFIXES)):
        return False
    return name not in FTS_OBJECT_NAMES
