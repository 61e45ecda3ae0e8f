"""Per-test databases cloned from a migrated template (fast isolation on real servers)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import psycopg

from introspect.db.migrate import upgrade_all
from introspect.testing.servers import PostgresServer

TEMPLATE_DB = "introspect_template"


def _admin_conninfo(server: PostgresServer) -> str:
    return f"host=127.0.0.1 port={server.port} user={server.user} dbname=postgres"


def create_postgres_template(server: PostgresServer) -> None:
    with psycopg.connect(_admin_conninfo(server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    upgrade_all(server.url(TEMPLATE_DB))


def clone_postgres_database(server: PostgresServer, name: str | None = None) -> str:
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    return server.url(name)


def create_empty_postgres_database(server: PostgresServer) -> str:
    name = f"e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


def create_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    upgrade_all(f"sqlite:///{path}")
    # Fold the WAL into the main file so a plain file copy carries the whole schema.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


def clone_sqlite_database(template: Path, directory: Path) -> str:
    target = directory / f"{uuid.uuid4().hex[:12]}.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
