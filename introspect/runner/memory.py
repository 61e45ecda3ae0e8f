"""An in-memory recorder for runs without a job row (``langgraph dev``, notebooks).

Same contract as the database recorder -- idempotent on the turn index, finish once -- but nothing
outlives the process: the trajectory is only in the returned graph state and here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from introspect.runner.context import FinishData
from introspect.store.repositories.trajectories import TurnData


class MemoryRecorder:
    def __init__(self) -> None:
        self.turns: dict[int, TurnData] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.finished: FinishData | None = None

    def check(self) -> None:
        return None

    def turn_started(self, index: int, phase: str) -> None:
        self.events.append(("turn_started", {"index": index, "phase": phase}))

    def record_turns(self, turns: Sequence[TurnData]) -> None:
        for turn in turns:
            if turn.index not in self.turns:
                self.turns[turn.index] = turn
                self.events.append(("turn_finished", {"index": turn.index, "phase": turn.phase}))

    def finish(self, data: FinishData) -> None:
        if self.finished is None:
            self.finished = data
