"""Full-text search artefacts per dialect: Postgres tsvector + GIN, SQLite FTS5 with sync triggers.

They are created by the migration (``create_statements``) rather than declared on the ORM models,
because neither has a portable spelling; migrations/env.py excludes them from autogenerate.
"""

from __future__ import annotations

import re

# Names the migration creates and env.py must ignore when comparing models to the database.
FTS_OBJECT_NAMES = frozenset(
    {
        "search_tsv",
        "ix_documents_search_tsv",
        "ix_trajectories_search_tsv",
        "documents_fts",
        "trajectories_fts",
    }
)
FTS_TABLE_PREFIXES = ("documents_fts", "trajectories_fts")

_POSTGRES_UP = [
    """ALTER TABLE documents ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS
       (to_tsvector('english', coalesce(title, '') || ' ' || content)) STORED""",
    "CREATE INDEX ix_documents_search_tsv ON documents USING gin (search_tsv)",
    """ALTER TABLE trajectories ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS
       (to_tsvector('english', task_prompt || ' ' || coalesce(final_answer, ''))) STORED""",
    "CREATE INDEX ix_trajectories_search_tsv ON trajectories USING gin (search_tsv)",
]
_POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_trajectories_search_tsv",
    "ALTER TABLE trajectories DROP COLUMN IF EXISTS search_tsv",
    "DROP INDEX IF EXISTS ix_documents_search_tsv",
    "ALTER TABLE documents DROP COLUMN IF EXISTS search_tsv",
]

# External-content FTS5 tables mirror their base tables through triggers (SQLite FTS5 docs §4.4.3).
_SQLITE_UP = [
    "CREATE VIRTUAL TABLE documents_fts USING fts5(title, content, content='documents', content_rowid='id')",
    """CREATE TRIGGER documents_fts_ai AFTER INSERT ON documents BEGIN
         INSERT INTO documents_fts(rowid, title, content) VALUES (new.id, new.title, new.content);
       END""",
    """CREATE TRIGGER documents_fts_ad AFTER DELETE ON documents BEGIN
         INSERT INTO documents_fts(documents_fts, rowid, title, content)
         VALUES ('delete', old.id, old.title, old.content);
       END""",
    """CREATE TRIGGER documents_fts_au AFTER UPDATE ON documents BEGIN
         INSERT INTO documents_fts(documents_fts, rowid, title, content)
         VALUES ('delete', old.id, old.title, old.content);
         INSERT INTO documents_fts(rowid, title, content) VALUES (new.id, new.title, new.content);
       END""",
    # Trajectories have UUID keys, so their FTS table stores the id as an unindexed column.
    "CREATE VIRTUAL TABLE trajectories_fts USING fts5(trajectory_id UNINDEXED, body)",
    """CREATE TRIGGER trajectories_fts_ai AFTER INSERT ON trajectories BEGIN
         INSERT INTO trajectories_fts(trajectory_id, body)
         VALUES (new.id, new.task_prompt || ' ' || coalesce(new.final_answer, ''));
       END""",
    """CREATE TRIGGER trajectories_fts_au AFTER UPDATE OF task_prompt, final_answer ON trajectories BEGIN
         DELETE FROM trajectories_fts WHERE trajectory_id = old.id;
         INSERT INTO trajectories_fts(trajectory_id, body)
         VALUES (new.id, new.task_prompt || ' ' || coalesce(new.final_answer, ''));
       END""",
    """CREATE TRIGGER trajectories_fts_ad AFTER DELETE ON trajectories BEGIN
         DELETE FROM trajectories_fts WHERE trajectory_id = old.id;
       END""",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS trajectories_fts_ad",
    "DROP TRIGGER IF EXISTS trajectories_fts_au",
    "DROP TRIGGER IF EXISTS trajectories_fts_ai",
    "DROP TABLE IF EXISTS trajectories_fts",
    "DROP TRIGGER IF EXISTS documents_fts_au",
    "DROP TRIGGER IF EXISTS documents_fts_ad",
    "DROP TRIGGER IF EXISTS documents_fts_ai",
    "DROP TABLE IF EXISTS documents_fts",
]


def create_statements(dialect: str) -> list[str]:
    return _POSTGRES_UP if dialect == "postgresql" else _SQLITE_UP


def drop_statements(dialect: str) -> list[str]:
    return _POSTGRES_DOWN if dialect == "postgresql" else _SQLITE_DOWN


_WORD = re.compile(r"\w+", re.UNICODE)


def fts5_query(text: str) -> str | None:
    """Turn free user text into a safe FTS5 query: quoted words joined by OR (no syntax injection)."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in words[:32])


def fts5_all_words_query(text: str) -> str | None:
    """Like fts5_query, but every word must match (used by the admin search box)."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " AND ".join(f'"{w}"' for w in words[:32])
