"""Rows of one export, streamed: filter, build, de-duplicate, encode — memory flat in the row count.

The whole export reads one snapshot: on Postgres the connection runs REPEATABLE READ and read-only,
so turns or labels written while the export runs never mix into it half-way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from introspect.export.episode import Episode, build_episode
from introspect.export.formats import ExportFormat
from introspect.export.options import ExportFilters, ExportOptions
from introspect.export.source import count_trajectories, iter_trajectory_pages

_CHUNK_BYTES = 1 << 16


@dataclass(slots=True)
class ExportStats:
    trajectories: int = 0  # read from the store (after the SQL filters)
    matched: int = 0  # also passed the filters on resolved labels (success, min_reward)
    turns: int = 0  # turns of the trajectories read
    rows: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


ProgressCallback = Callable[[ExportStats], None]


@contextmanager
def export_connection(session_factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A read-only connection on one snapshot (Postgres), released when the export ends."""
    with session_factory() as session:
        options: dict[str, Any] = {}
        if session.get_bind().dialect.name == "postgresql":
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        connection = session.connection(execution_options=options)
        try:
            yield connection
        finally:
            session.rollback()


def count_matching(session_factory: sessionmaker[Session], filters: ExportFilters) -> int:
    """Trajectories passing the SQL filters: the progress bar's total (an upper bound on ``matched``)."""
    with export_connection(session_factory) as connection:
        return count_trajectories(connection, filters)


def _passes(episode: Episode, filters: ExportFilters) -> bool:
    if filters.success is not None and episode.success is not filters.success:
        return False
    if filters.min_reward is not None:
        return episode.outcome_reward is not None and episode.outcome_reward >= filters.min_reward
    return True


def _dedup_key(row: dict[str, Any], provenance: frozenset[str]) -> bytes:
    content = {k: v for k, v in row.items() if k not in provenance} if provenance else row
    return hashlib.blake2b(orjson.dumps(content, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


def iter_rows(
    connection: Connection,
    fmt: ExportFormat,
    filters: ExportFilters,
    options: ExportOptions,
    *,
    stats: ExportStats | None = None,
    on_page: ProgressCallback | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of an export, in (task_hash, trajectory id) order."""
    stats = stats if stats is not None else ExportStats()
    dedup = options.dedup and fmt.dedup
    seen: set[bytes] = set()
    task: str | None = None
    pages = iter_trajectory_pages(
        connection, filters, page_size=options.page_size, lean=fmt.lean, token_stats=options.token_stats
    )
    for page in pages:
        for traj in page:
            stats.trajectories += 1
            stats.turns += len(traj["turns"])
            episode = build_episode(traj, states=fmt.states)
            if not _passes(episode, filters):
                continue
            stats.matched += 1
            if traj["task_hash"] != task:  # identical examples share a task (see source.py)
                seen.clear()
                task = traj["task_hash"]
            for row in fmt.build(episode, options):
                if dedup:
                    key = _dedup_key(row, fmt.provenance)
                    if key in seen:
                        stats.duplicates += 1
                        continue
                    seen.add(key)
                stats.rows += 1
                yield row
        if on_page is not None:
            on_page(stats)


def encode(rows: Iterator[dict[str, Any]], *, json_array: bool = False) -> Iterator[bytes]:
    """JSON Lines (or one JSON array, one element per line) in chunks of about 64 KiB.

    orjson writes NaN and infinities as null, so a stray non-finite statistic cannot break the file.
    """
    option = 0 if json_array else orjson.OPT_APPEND_NEWLINE
    parts: list[bytes] = [b"[\n"] if json_array else []
    size, first = 0, True
    for row in rows:
        if json_array and not first:
            parts.append(b",\n")
        first = False
        line = orjson.dumps(row, option=option)
        parts.append(line)
        size += len(line)
        if size >= _CHUNK_BYTES:
            yield b"".join(parts)
            parts.clear()
            size = 0
    if json_array:
        parts.append(b"\n]\n")
    if parts:
        yield b"".join(parts)


def stream_export(
    session_factory: sessionmaker[Session],
    fmt: ExportFormat,
    filters: ExportFilters,
    options: ExportOptions,
    *,
    stats: ExportStats | None = None,
    on_page: ProgressCallback | None = None,
) -> Iterator[bytes]:
    """Encoded chunks of a whole export; the connection lives exactly as long as the iteration."""
    with export_connection(session_factory) as connection:
        rows = iter_rows(connection, fmt, filters, options, stats=stats, on_page=on_page)
        yield from encode(rows, json_array=fmt.json_array)
