"""RISE rows (Qu et al. 2024): every attempt is an example whose prompt is the state it answered.

The loss weight is ``exp(r / tau)``, the reward-weighted regression of the paper (tau = 0.4 there):
a correct attempt (r = 1) weighs e^2.5 ≈ 12.2 times a wrong one (r = 0), which still counts, so the
model also learns what the states after a mistake look like.

Keep criteria follow the RISE repository's ``workflow_convert.py``: ``all`` attempts; ``improved``
keeps the first attempt and every later one whose reward beats the previous main-line attempt
("better" there); ``success`` keeps only trajectories that succeeded ("--only_success").
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from introspect.export.episode import Attempt, Episode, Message
from introspect.export.options import ExportOptions


class WeightOverflowError(ArithmeticError):
    pass


def rise_weight(reward: float, tau: float) -> float:
    """RISE's reward-weighted regression weight ``exp(r / tau)``."""
    try:
        return math.exp(reward / tau)
    except OverflowError as exc:  # JSON has no infinity: fail loudly instead of writing a null weight
        raise WeightOverflowError(f"exp({reward} / {tau}) overflows; use a larger tau") from exc


def kept_attempts(episode: Episode, options: ExportOptions) -> Iterator[Attempt]:
    """The attempts that become RISE examples under ``options.keep`` (those with a known reward)."""
    if options.keep == "success" and episode.success is not True:
        return
    for t, step in enumerate(episode.steps):
        previous = episode.previous_reward(t)
        for attempt in step:
            if attempt.reward is None or not attempt.text:
                continue
            if options.keep == "improved" and t > 0 and (previous is None or attempt.reward <= previous):
                continue
            yield attempt


def rise_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    trajectory_id = episode.trajectory["id"]
    for attempt in kept_attempts(episode, options):
        assert attempt.reward is not None
        yield {
            "prompt": episode.states[attempt.t],
            "completion": [attempt.message()],
            "reward": attempt.reward,
            "weight": rise_weight(attempt.reward, options.tau),
            "attempt": attempt.t,
            "trajectory_id": trajectory_id,
        }


def rise_fastchat_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    """The RISE repository's FastChat layout: ``loss`` is 0.0 on context turns, the weight on the last.

    FastChat conversations alternate ``human`` and ``gpt`` with no system role, so a system message
    is folded into the first human turn and consecutive same-speaker messages are joined.
    """
    trajectory_id = episode.trajectory["id"]
    for attempt in kept_attempts(episode, options):
        assert attempt.reward is not None
        conversation = _fastchat_turns(episode.states[attempt.t])
        conversation.append(
            {"from": "gpt", "value": attempt.text, "loss": rise_weight(attempt.reward, options.tau)}
        )
        yield {"id": f"{trajectory_id}/{attempt.turn['index']}", "conversations": conversation}


def _fastchat_turns(messages: list[Message]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    system: list[str] = []
    for message in messages:
        role, content = message.get("role"), _text(message.get("content"))
        if role == "system":
            system.append(content)
            continue
        speaker = "gpt" if role == "assistant" else "human"
        if speaker == "human" and system:
            content, system = "\n\n".join([*system, content]), []
        if turns and turns[-1]["from"] == speaker:
            turns[-1]["value"] += "\n\n" + content
        else:
            turns.append({"from": speaker, "value": content, "loss": 0.0})
    if system:  # a system prompt with no human turn after it still belongs to the conversation
        turns.append({"from": "human", "value": "\n\n".join(system), "loss": 0.0})
    return turns


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
