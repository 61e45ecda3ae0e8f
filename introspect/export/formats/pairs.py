"""Preference data: TRL ``prompt/chosen/rejected``, OpenAI DPO, and KTO's unpaired labels.

Pairs must share an identical prompt, so they come from actions at one state: Best-of-N siblings
(every pair whose rewards differ), and, opt-in, a failed attempt against the later revision that got
it right, placed at the failed attempt's state (the improvement RISE wants the model to make at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from introspect.export.episode import Attempt, Episode, Message
from introspect.export.options import ExportOptions

Pair = tuple[list[Message], Attempt, Attempt]  # (prompt, chosen, rejected)


def preference_pairs(episode: Episode, options: ExportOptions) -> Iterator[Pair]:
    for t, step in enumerate(episode.steps):
        judged = [a for a in step if a.reward is not None and a.text]
        for better in sorted(judged, key=lambda a: (-(a.reward or 0.0), a.turn["index"])):
            for worse in judged:
                assert better.reward is not None and worse.reward is not None
                if better.reward > worse.reward and better.text != worse.text:
                    yield episode.states[t], better, worse
    if options.revision_pairs:
        main = episode.main
        for t, failed in enumerate(main):
            if failed.correct is not False or not failed.text:
                continue
            fix = next((a for a in main[t + 1 :] if a.correct and a.text), None)
            if fix is not None and fix.text != failed.text:
                yield episode.states[t], fix, failed


def preference_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    for prompt, chosen, rejected in preference_pairs(episode, options):
        yield {"prompt": prompt, "chosen": [chosen.message()], "rejected": [rejected.message()]}


def openai_dpo_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    for prompt, chosen, rejected in preference_pairs(episode, options):
        yield {
            "input": {"messages": prompt},
            "preferred_output": [chosen.message()],
            "non_preferred_output": [rejected.message()],
        }


def kto_rows(episode: Episode, options: ExportOptions) -> Iterator[dict[str, Any]]:
    """Every judged attempt, desirable or not (KTO needs no pairing)."""
    for t, step in enumerate(episode.steps):
        for attempt in step:
            if attempt.correct is not None and attempt.text:
                yield {
                    "prompt": episode.states[t],
                    "completion": [attempt.message()],
                    "label": attempt.correct,
                }
