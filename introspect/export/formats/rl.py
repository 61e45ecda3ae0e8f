"""RL prompts (GRPO-style): the first state of a task and its reference answer for the reward function."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from introspect.export.episode import Episode
from introspect.export.options import ExportOptions


def rl_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    reference = episode.trajectory["reference"]
    if reference is not None:
        yield {"prompt": episode.states[0], "answer": reference}
