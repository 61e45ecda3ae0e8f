"""SFT rows: the whole main-line conversation, with a ``weight`` on every assistant turn.

``weight`` 1 marks the attempts worth imitating (correct ones, or ones that improved on the previous
attempt's reward); 0 marks context the model must read but not learn to write. Rows without any
trainable turn are left out: they would add no loss at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from introspect.export.episode import Attempt, Episode, Message
from introspect.export.options import ExportOptions


def is_trainable(attempt: Attempt, previous_reward: float | None) -> bool:
    if attempt.correct is True:
        return True
    return previous_reward is not None and attempt.reward is not None and attempt.reward > previous_reward


def sft_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    main = episode.main
    if not main:
        return
    messages: list[Message] = [
        {**m, "weight": 0} if m.get("role") == "assistant" else m for m in episode.states[0]
    ]
    trainable = 0
    for t, attempt in enumerate(main):
        weight = int(is_trainable(attempt, episode.previous_reward(t)))
        trainable += weight
        messages.append({"role": "assistant", "content": attempt.text, "weight": weight})
        if t < len(episode.feedback):
            messages.append({"role": "user", "content": episode.feedback[t]})
    if trainable:
        yield {"messages": messages}
