"""A crash between a node's saved writes and the next checkpoint must not restart the job at turn 0.

LangGraph saves each finished task's writes (``put_writes``) before the superstep's checkpoint
(``put``). If the process dies between the two, ``get_state`` reports no next task (the task's writes
exist) and no result; a runner that then re-invokes the initial input regenerates every finished turn.
The crash is made deterministic here: the checkpoint ``put`` after the chosen node's writes raises.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from introspect.store.tables import Reward, Trajectory, Turn
from tests.graphs.fakes import CONFIDENT, FakeProvider, Reply, ScriptedChatModel
from tests.graphs.harness import Harness
from tests.runner.test_execute import TASK, expire_lease

WRONG, RIGHT = Reply("The answer is 41.", CONFIDENT), Reply("The answer is 42.", CONFIDENT)


class DiedBeforeCheckpoint(BaseException):
    """The process's death, as the runner sees it: nothing after this point runs."""


@contextmanager
def crash_after_writes_of(harness: Harness, node: str, occurrence: int = 1) -> Iterator[list[str]]:
    """Make the checkpoint ``put`` that follows the ``occurrence``-th saved writes of ``node`` die."""
    saver: Any = harness.checkpointer
    put, put_writes = saver.put, saver.put_writes
    seen: list[str] = []
    armed = {"writes": 0, "fire": False}

    def spy_put_writes(config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        put_writes(config, writes, task_id, task_path)
        if task_path.split(", ")[-1] == node:  # a node's task path ends with its name
            armed["writes"] += 1
            armed["fire"] = armed["writes"] == occurrence
        seen.append(task_path)

    def dying_put(config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if armed["fire"]:
            armed["fire"] = False
            raise DiedBeforeCheckpoint(node)
        return put(config, checkpoint, metadata, new_versions)

    saver.put_writes, saver.put = spy_put_writes, dying_put
    try:
        yield seen
    finally:
        del saver.put_writes, saver.put


def turn_rows(harness: Harness, job_id: uuid.UUID) -> list[int]:
    with harness.session_factory() as session:
        rows = session.query(Turn.index).join(Trajectory).filter(Trajectory.job_id == job_id)
        return sorted(int(i) for (i,) in rows)


def rewards(harness: Harness, job_id: uuid.UUID) -> Counter[tuple[str, uuid.UUID | None]]:
    with harness.session_factory() as session:
        rows = session.query(Reward.kind, Reward.turn_id).join(Trajectory).filter(Trajectory.job_id == job_id)
        return Counter((kind, turn) for kind, turn in rows)


# generate/verify/revise of turn 0 or 1; verify's second run is turn 1's (after revise).
WINDOWS = [("generate", 1), ("verify", 1), ("revise", 1), ("verify", 2)]


@pytest.mark.parametrize(("node", "occurrence"), WINDOWS)
def test_a_crash_between_saved_writes_and_the_checkpoint_continues_the_run(
    harness: Harness, node: str, occurrence: int
) -> None:
    local = ScriptedChatModel(script=[WRONG, RIGHT, RIGHT, RIGHT])
    deps = harness.deps(FakeProvider({"local": local}))
    job_id = harness.create("self_critique", TASK)

    with crash_after_writes_of(harness, node, occurrence) as paths, pytest.raises(DiedBeforeCheckpoint):
        harness.execute(job_id, deps)
    assert paths[-1].endswith(node), paths
    calls_before = len(local.calls)

    expire_lease(harness, job_id)
    outcome = harness.execute(job_id, deps)  # another worker, a new lease
    assert outcome.status == "succeeded"
    # Two attempts in all (41, then 42); the crashed node's writes were kept, so no call is redone.
    assert len(local.calls) == 2 and len(local.calls) - calls_before <= 1
    assert turn_rows(harness, job_id) == [0, 1]
    started = [d["index"] for t, d in harness.events(job_id) if t == "turn_started"]
    assert started == [0, 1]
    finished = [d["index"] for t, d in harness.events(job_id) if t == "turn_finished"]
    assert finished == [0, 1]
    counts = rewards(harness, job_id)
    assert all(n == 1 for n in counts.values()), counts
    assert sum(n for (kind, _), n in counts.items() if kind == "attempt") == 2
