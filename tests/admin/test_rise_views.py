"""RISE figures over stored attempts: accuracy@t over all tasks, p1@t5, m1@t5, first -> final, and
Best-of-N candidates counted as one attempt."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from introspect.admin.queries.attempts import AttemptRow, TrajectoryAttempts
from introspect.admin.views.rise import collapse_siblings, figures, grouped


def _traj(
    outcomes: list[tuple[str, bool | None]],
    *,
    success: bool | None = None,
    model: str = "m",
    tag: str | None = None,
    siblings: bool = False,
    selected: int | None = None,
) -> TrajectoryAttempts:
    t = TrajectoryAttempts(
        id=uuid.uuid4(),
        created_at=datetime.now(UTC),
        success=success,
        stop_reason="x",
        job_status="succeeded",
        tag=tag,
        models=[model],
    )
    for i, (answer, correct) in enumerate(outcomes):
        t.attempts.append(
            AttemptRow(
                index=i,
                attempt=1 if siblings else i + 1,
                phase="generate" if i == 0 or siblings else "revise",
                model=model,
                answer=answer,
                sibling_group=0 if siblings else None,
                selected=(i == selected) if siblings else None,
                correct=correct,
            )
        )
    return t


def test_accuracy_at_t_counts_every_task_and_solved_stays_solved() -> None:
    tasks = [
        _traj([("41", False), ("42", True)], success=True),  # solved at turn 2, stopped there
        _traj([("7", True)], success=True),  # solved at turn 1
        _traj([("1", False), ("2", False), ("3", False), ("4", False), ("5", False)], success=False),
        _traj([("9", False)], success=False),  # stopped early, unsolved: still in the denominator
    ]
    f = figures("all", tasks)
    assert f.tasks == 4
    assert f.accuracy_at == [0.25, 0.5, 0.5, 0.5, 0.5]  # never falls as t grows
    assert f.first == 0.25 and f.final == 0.5 and f.p1_at_t5 == 0.5


def test_m1_at_t5_is_a_majority_vote_without_an_oracle() -> None:
    majority_right = _traj([("42", True), ("41", False), ("42", True)], success=True)
    majority_wrong = _traj([("41", False), ("41", False), ("42", True)], success=True)
    f = figures("all", [majority_right, majority_wrong])
    assert f.p1_at_t5 == 1.0 and f.m1_at_t5 == 0.5


def test_best_of_n_candidates_are_one_attempt() -> None:
    bon = _traj([("41", False), ("42", True), ("41", False)], success=True, siblings=True, selected=1)
    assert [a.answer for a in collapse_siblings(bon.attempts)] == ["42"]
    f = figures("all", [bon])
    assert f.accuracy_at == [1.0] * 5 and f.first == 1.0
    loser = _traj([("41", False), ("42", True)], success=False, siblings=True, selected=0)
    assert figures("all", [loser]).accuracy_at == [0.0] * 5  # a correct loser is not attempt 2


def test_unverified_tasks_are_left_out_and_groups_are_by_model_and_tag() -> None:
    tasks = [
        _traj([("a", None)], model="x"),
        _traj([("42", True)], success=True, model="x", tag="run-1"),
        _traj([("41", False)], success=False, model="y", tag="run-1"),
    ]
    assert figures("all", tasks).tasks == 2
    by_model = {f.name: f.accuracy_at[0] for f in grouped(tasks, lambda t: t.model)}
    assert by_model == {"x": 1.0, "y": 0.0}
    by_tag = {f.name: f.tasks for f in grouped(tasks, lambda t: t.tag)}
    assert by_tag == {"run-1": 2}
