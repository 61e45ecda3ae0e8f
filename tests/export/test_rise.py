"""RISE rows: the state grows by (attempt, feedback); weights are exp(r / tau) (Qu et al. 2024)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.export import ExportOptions, rise_weight
from introspect.store.engine import transaction
from introspect.store.tables import Turn
from tests.export.builders import FEEDBACK, Try, record_trajectory
from tests.export.conftest import run_export

Q = "What is 6 * 7?"
WRONG_1 = "6 * 7 = 48. The answer is 48."
WRONG_2 = "6 * 7 = 41. The answer is 41."
RIGHT = "6 * 7 = 42. The answer is 42."


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


@pytest.mark.parametrize("feedback_on", ["turn", "judged", "none"])
def test_wrong_wrong_right_yields_exactly_the_expected_rows(
    session_factory: sessionmaker[Session], feedback_on: str
) -> None:
    """Feedback found on a critique turn, on the judged turn, or only in the next attempt's messages."""
    tid = record_trajectory(
        session_factory,
        Q,
        [Try(WRONG_1, False), Try(WRONG_2, False), Try(RIGHT, True)],
        feedback_on=feedback_on,  # type: ignore[arg-type]
    )
    s0 = [user(Q)]
    s1 = [*s0, assistant(WRONG_1), user(FEEDBACK)]
    s2 = [*s1, assistant(WRONG_2), user(FEEDBACK)]
    common = {"trajectory_id": str(tid)}
    assert run_export(session_factory, "rise") == [
        {
            "prompt": s0,
            "completion": [assistant(WRONG_1)],
            "reward": 0.0,
            "weight": 1.0,
            "attempt": 0,
            **common,
        },
        {
            "prompt": s1,
            "completion": [assistant(WRONG_2)],
            "reward": 0.0,
            "weight": 1.0,
            "attempt": 1,
            **common,
        },
        {
            "prompt": s2,
            "completion": [assistant(RIGHT)],
            "reward": 1.0,
            "weight": math.exp(1.0 / 0.4),
            "attempt": 2,
            **common,
        },
    ]
    # The reconstructed states are exactly what the graph showed each attempt.
    with transaction(session_factory) as s:
        seen = s.scalars(select(Turn.messages).where(Turn.phase != "critique").order_by(Turn.index)).all()
    assert list(seen) == [s0, s1, s2]


def test_weights_follow_tau(session_factory: sessionmaker[Session]) -> None:
    record_trajectory(session_factory, Q, [Try(WRONG_1, False), Try(RIGHT, True)])
    for tau in (0.4, 1.0, 0.1):
        rows = run_export(session_factory, "rise", options=ExportOptions(tau=tau))
        assert [r["weight"] for r in rows] == [math.exp(r["reward"] / tau) for r in rows]
        assert rows[-1]["weight"] == pytest.approx(rise_weight(1.0, tau))
    assert rise_weight(1.0, 0.4) == pytest.approx(12.182493960703473)


def test_verifier_message_follows_the_fixed_feedback(session_factory: sessionmaker[Session]) -> None:
    record_trajectory(
        session_factory,
        Q,
        [Try(WRONG_1, False, verifier_message="Expected a multiple of 7."), Try(RIGHT, True)],
    )
    rows = run_export(session_factory, "rise")
    assert rows[1]["prompt"][-1] == user(FEEDBACK + "\nExpected a multiple of 7.")


def test_keep_criteria(session_factory: sessionmaker[Session]) -> None:
    record_trajectory(session_factory, Q, [Try(WRONG_1, False), Try(WRONG_2, False), Try(RIGHT, True)])
    record_trajectory(session_factory, "What is 2 + 2?", [Try("5", False), Try("3", False)], reference="4")

    def attempts(keep: str) -> list[tuple[str, int]]:
        rows = run_export(session_factory, "rise", options=ExportOptions(keep=keep))  # type: ignore[arg-type]
        return sorted((r["prompt"][0]["content"], r["attempt"]) for r in rows)

    q2 = "What is 2 + 2?"
    assert attempts("all") == sorted([(Q, 0), (Q, 1), (Q, 2), (q2, 0), (q2, 1)])
    # RISE's "better": the first attempt, then only attempts whose reward beats the previous one.
    assert attempts("improved") == sorted([(Q, 0), (Q, 2), (q2, 0)])
    assert attempts("success") == [(Q, 0), (Q, 1), (Q, 2)]


def test_best_of_n_siblings_are_rows_at_the_same_state(session_factory: sessionmaker[Session]) -> None:
    record_trajectory(
        session_factory, Q, [Try(WRONG_1, False, siblings=[(WRONG_2, False)]), Try(RIGHT, True, siblings=[])]
    )
    rows = run_export(session_factory, "rise")
    first = [r for r in rows if r["attempt"] == 0]
    assert sorted(r["completion"][0]["content"] for r in first) == sorted([WRONG_1, WRONG_2])
    assert first[0]["prompt"] == first[1]["prompt"] == [user(Q)]
    # The selected sibling (not the first written) carries the trajectory on.
    (last,) = [r for r in rows if r["attempt"] == 1]
    assert last["prompt"] == [user(Q), assistant(WRONG_1), user(FEEDBACK)]


def test_fastchat_layout_matches_the_rise_repository(session_factory: sessionmaker[Session]) -> None:
    tid = record_trajectory(
        session_factory, Q, [Try(WRONG_1, False), Try(RIGHT, True)], system="Answer with a number."
    )
    rows = run_export(session_factory, "rise-fastchat")
    assert [r["id"] for r in rows] == [f"{tid}/0", f"{tid}/2"]  # turn 1 is the critique
    assert rows[1]["conversations"] == [
        {"from": "human", "value": f"Answer with a number.\n\n{Q}", "loss": 0.0},
        {"from": "gpt", "value": WRONG_1, "loss": 0.0},
        {"from": "human", "value": FEEDBACK, "loss": 0.0},
        {"from": "gpt", "value": RIGHT, "loss": math.exp(1.0 / 0.4)},
    ]
    assert rows[0]["conversations"][-1] == {"from": "gpt", "value": WRONG_1, "loss": 1.0}


def test_feedback_is_what_the_next_attempt_saw(session_factory: sessionmaker[Session]) -> None:
    """Retrieved passages come before the feedback in the next attempt's message: the row keeps them."""
    shown = "Passages that may help:\n[1] 6 * 7 = 42\n\n" + FEEDBACK
    record_trajectory(session_factory, Q, [Try(WRONG_1, False, shown=shown), Try(RIGHT, True)])
    assert run_export(session_factory, "rise")[1]["prompt"] == [user(Q), assistant(WRONG_1), user(shown)]


@pytest.mark.parametrize(
    ("feedback_on", "expected"),
    [("judged", FEEDBACK + "\nExpected 42."), ("turn", FEEDBACK + "\nExpected 42."), ("none", FEEDBACK)],
)
def test_feedback_without_the_next_attempts_messages(
    session_factory: sessionmaker[Session], feedback_on: str, expected: str
) -> None:
    """A human's answer records no messages: the critique rows or turns say what came before it."""
    record_trajectory(
        session_factory,
        Q,
        [
            Try(WRONG_1, False, verifier_message="Expected 42."),
            Try(RIGHT, True, phase="human", recorded=False),
        ],
        feedback_on=feedback_on,  # type: ignore[arg-type]
    )
    rows = run_export(session_factory, "rise")
    assert rows[1]["prompt"] == [user(Q), assistant(WRONG_1), user(expected)]
    assert rows[1]["completion"] == [assistant(RIGHT)]
