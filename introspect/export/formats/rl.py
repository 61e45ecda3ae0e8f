"""RL prompts (GRPO-style): the first state of a task and its reference answer for the reward function.

The reference is written twice: as ``solution``, the column TRL's stock ``accuracy_reward``
(``trl.rewards``) reads -- GRPOTrainer passes every extra dataset column to the reward functions as
a keyword argument -- and as ``answer``, this format's original name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from introspect.export.episode import Episode
from introspect.export.options import ExportOptions


def rl_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    reference = episode.trajectory["reference"]
    if reference is not None:
        yield {"prompt": episode.states[0], "solution": reference, "answer": reference}
