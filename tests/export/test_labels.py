"""Human labels recorded later (the admin view) are honoured at export time; the latest one wins."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.export import ExportFilters, ExportOptions
from introspect.store.engine import transaction
from introspect.store.tables import Turn
from tests.export.builders import Try, label_turn, record_trajectory
from tests.export.conftest import run_export

Q = "What is 6 * 7?"


def _attempt_turns(factory: sessionmaker[Session]) -> list[Turn]:
    with transaction(factory) as s:
        return list(s.scalars(select(Turn).where(Turn.phase != "critique").order_by(Turn.index)))


def test_label_on_an_attempt_overrides_its_reward(session_factory: sessionmaker[Session]) -> None:
    tid = record_trajectory(session_factory, Q, [Try("It is 48.", False), Try("It is 42.", True)])
    first, _ = _attempt_turns(session_factory)
    # The verifier was wrong about the first attempt; a human says it was right after all.
    label_turn(session_factory, tid, first.id, True)
    rows = run_export(session_factory, "rise")
    assert [(r["attempt"], r["reward"]) for r in rows] == [(0, 1.0), (1, 1.0)]
    assert rows[0]["weight"] == math.exp(1.0 / 0.4)
    kto = run_export(session_factory, "kto")
    assert [r["label"] for r in kto] == [True, True]
    raw = run_export(session_factory, "raw")[0]
    assert raw["turns"][0]["resolved"]["correct"] is True
    assert raw["turns"][0]["rewards"][-1]["comment"] == "checked by hand"


def test_latest_label_wins_and_flips_success(session_factory: sessionmaker[Session]) -> None:
    tid = record_trajectory(session_factory, Q, [Try("It is 48.", False), Try("It is 42.", True)])
    _, final = _attempt_turns(session_factory)
    label_turn(session_factory, tid, final.id, True)
    label_turn(session_factory, tid, final.id, False, comment="42 was not the question's answer")
    assert run_export(session_factory, "rise")[-1]["reward"] == 0.0
    # Success is resolved after labels: the trajectory now counts as failed.
    assert run_export(session_factory, "rl", filters=ExportFilters(success=True)) == []
    assert len(run_export(session_factory, "rl", filters=ExportFilters(success=False))) == 1
    assert run_export(session_factory, "rise", options=ExportOptions(keep="success")) == []
    assert run_export(session_factory, "raw")[0]["resolved"] == {"success": False, "outcome_reward": 0.0}


def test_label_on_the_trajectory_judges_its_final_answer(session_factory: sessionmaker[Session]) -> None:
    tid = record_trajectory(session_factory, Q, [Try("It is 41.", False), Try("It is 42.", True)])
    label_turn(session_factory, tid, None, False)
    rows = run_export(session_factory, "rise")
    assert [r["reward"] for r in rows] == [0.0, 0.0]
    assert run_export(session_factory, "sft") == []  # nothing left worth imitating
    assert run_export(session_factory, "rl", filters=ExportFilters(min_reward=0.5)) == []


def test_has_human_label_filter(session_factory: sessionmaker[Session]) -> None:
    labelled = record_trajectory(session_factory, Q, [Try("It is 42.", True)])
    record_trajectory(session_factory, "What is 1 + 1?", [Try("It is 2.", True)], reference="2")
    label_turn(session_factory, labelled, None, True)
    rows = run_export(session_factory, "raw", filters=ExportFilters(has_human_label=True))
    assert [r["id"] for r in rows] == [str(labelled)]
    rows = run_export(session_factory, "raw", filters=ExportFilters(has_human_label=False))
    assert [r["task_prompt"] for r in rows] == ["What is 1 + 1?"]
