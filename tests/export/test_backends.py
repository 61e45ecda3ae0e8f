"""Postgres and SQLite build the same documents: the same data exports to the same rows on both."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from introspect.export import ExportOptions
from introspect.store.engine import make_engine, make_session_factory
from tests.export.builders import Try, label_turn, record_trajectory
from tests.export.conftest import run_export

FORMATS = ("raw", "rise", "sft", "preference", "kto", "rl", "rise-fastchat", "openai-dpo")
UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _normalise(value: Any, seen: dict[str, str]) -> Any:
    """Ids and times differ between two recordings; everything else must match exactly."""
    if isinstance(value, dict):
        return {k: _normalise(v, seen) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, seen) for v in value]
    if isinstance(value, str) and UUID_TEXT.match(value):
        return seen.setdefault(value, f"id{len(seen)}")
    if isinstance(value, str) and re.match(r"^[0-9a-f-]{36}/\d+$", value):  # rise-fastchat ids
        trajectory, index = value.split("/")
        return f"{seen.setdefault(trajectory, f'id{len(seen)}')}/{index}"
    if isinstance(value, str) and value.endswith("+00:00"):
        datetime.fromisoformat(value)  # a valid ISO 8601 UTC time on both backends
        return "time"
    return value


def _record(url: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        tid = record_trajectory(
            factory,
            "What is 6 * 7?",
            [Try("It is 41.", False, siblings=[("It is 40.", False)]), Try("It is 42.", True)],
            system="Answer with a number.",
        )
        record_trajectory(
            factory, "What is 2 + 2?", [Try("It is 5.", False)], reference="4", feedback_on="judged"
        )
        label_turn(factory, tid, None, False)
        return [
            {"format": fmt, "rows": run_export(factory, fmt, options=ExportOptions(revision_pairs=True))}
            for fmt in FORMATS
        ]
    finally:
        engine.dispose()


def test_postgres_and_sqlite_export_the_same_rows(pg_url: str, sqlite_url: str) -> None:
    on_postgres, on_sqlite = _record(pg_url), _record(sqlite_url)
    raw = on_postgres[0]["rows"]
    assert raw and all(UUID_TEXT.match(r["id"]) and str(uuid.UUID(r["id"])) == r["id"] for r in raw)
    assert all(isinstance(t["selected"], bool | None) for r in raw for t in r["turns"])
    for pg, lite in zip(on_postgres, on_sqlite, strict=True):
        assert _normalise(pg, {}) == _normalise(lite, {}), pg["format"]
