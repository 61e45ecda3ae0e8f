"""The lossless trajectory: every stored column of the trajectory, its turns and their children.

Besides the stored values each row carries a ``resolved`` block, the values every other format used
(human labels applied), so a consumer can re-derive any format from raw rows alone. Per-token arrays
(``token_stats``) are large and come only with ``token_stats=True``; otherwise that key is null.

JSON columns arrive as the database's JSON text (``records.VERBATIM``) and are written as they are
(``orjson.Fragment``): the bulk of a row is never decoded and re-encoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from introspect.export.episode import Attempt, Episode
from introspect.export.options import ExportOptions
from introspect.export.records import VERBATIM


def raw_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    # The decoded documents belong to this export alone and are dropped after this row, so the
    # resolved values are added in place rather than by copying every turn.
    row: dict[str, Any] = episode.trajectory  # type: ignore[assignment]
    attempts: dict[str, Attempt] = {a.turn["id"]: a for step in episode.steps for a in step}
    _embed(row, "trajectories")
    for reward in row["rewards"]:
        _embed(reward, "rewards")
    for turn in row["turns"]:
        _embed(turn, "turns")
        for verification in turn["verifications"]:
            _embed(verification, "verifications")
        for critique in turn["critiques"]:
            _embed(critique, "critiques")
        turn["resolved"] = _resolved(attempts.get(turn["id"]))
    row["resolved"] = {"success": episode.success, "outcome_reward": episode.outcome_reward}
    yield row


def _embed(record: dict[str, Any], table: str) -> None:
    for name in VERBATIM[table]:
        text = record[name]
        if text is not None:
            record[name] = orjson.Fragment(text)


def _resolved(attempt: Attempt | None) -> dict[str, Any] | None:
    if attempt is None:
        return None
    return {
        "state": attempt.t,
        "main": attempt.main,
        "reward": attempt.reward,
        "correct": attempt.correct,
        "human_label_id": attempt.label["id"] if attempt.label is not None else None,
    }
