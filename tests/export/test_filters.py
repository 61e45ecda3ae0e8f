"""Filters, the deterministic train/eval split, de-duplication and parameter validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from introspect.export import ExportFilters, ExportOptions, ExportParameterError, get_format, split_of
from tests.export.builders import Try, record_trajectory
from tests.export.conftest import run_export


def _prompts(factory: sessionmaker[Session], filters: ExportFilters) -> list[str]:
    return sorted(r["task_prompt"] for r in run_export(factory, "raw", filters=filters))


def test_graph_model_date_success_and_reward_filters(session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    f = session_factory
    record_trajectory(f, "a", [Try("x", True)], graph="g1", model="demo", created_at=now - timedelta(days=3))
    record_trajectory(f, "b", [Try("x", False)], graph="g2", model="big", created_at=now - timedelta(days=2))
    record_trajectory(f, "c", [Try("x", True)], graph="g2", model="demo", created_at=now - timedelta(days=1))

    assert _prompts(f, ExportFilters(graph="g2")) == ["b", "c"]
    assert _prompts(f, ExportFilters(model="big")) == ["b"]
    assert _prompts(f, ExportFilters(model="none")) == []
    assert _prompts(f, ExportFilters(since=now - timedelta(days=2, hours=1))) == ["b", "c"]
    assert _prompts(f, ExportFilters(until=now - timedelta(days=1, hours=1))) == ["a", "b"]
    naive = (now - timedelta(days=2, hours=1)).replace(tzinfo=None)  # read as UTC
    assert _prompts(f, ExportFilters(since=naive, until=now)) == ["b", "c"]
    assert _prompts(f, ExportFilters(success=True)) == ["a", "c"]
    assert _prompts(f, ExportFilters(success=False, graph="g2")) == ["b"]
    assert _prompts(f, ExportFilters(min_reward=0.5)) == ["a", "c"]
    assert _prompts(f, ExportFilters(min_reward=0.0)) == ["a", "b", "c"]


def test_model_filter_reads_the_trajectory_models_list(session_factory: sessionmaker[Session]) -> None:
    record_trajectory(session_factory, "a", [Try("x", True)], model="demo")
    # The finished trajectory lists "demo"; its turns say so too. A model used only by name in the
    # trajectory's list (e.g. a critic) is found as well.
    from sqlalchemy import update

    from introspect.store.engine import transaction
    from introspect.store.tables import Trajectory

    with transaction(session_factory) as s:
        s.execute(update(Trajectory).values(models=["demo", "critic-x"]))
    assert _prompts(session_factory, ExportFilters(model="critic-x")) == ["a"]


def test_unfinished_trajectories_are_left_out_by_default(session_factory: sessionmaker[Session]) -> None:
    record_trajectory(session_factory, "running", [Try("x", False)], finished=False)
    record_trajectory(session_factory, "done", [Try("x", True)])
    assert _prompts(session_factory, ExportFilters()) == ["done"]
    assert _prompts(session_factory, ExportFilters(include_unfinished=True)) == ["done", "running"]


def test_split_is_deterministic_by_task_hash(session_factory: sessionmaker[Session]) -> None:
    for n in range(24):
        record_trajectory(session_factory, f"What is {n} + 1?", [Try("x", True)], reference=str(n + 1))
    everything = run_export(session_factory, "raw")
    train = run_export(session_factory, "raw", filters=ExportFilters(split="train", eval_fraction=0.5))
    evals = run_export(session_factory, "raw", filters=ExportFilters(split="eval", eval_fraction=0.5))
    assert train and evals and len(train) + len(evals) == len(everything) == 24
    assert {r["id"] for r in train}.isdisjoint({r["id"] for r in evals})
    assert all(split_of(r["task_hash"], 0.5) == "train" for r in train)
    assert all(split_of(r["task_hash"], 0.5) == "eval" for r in evals)
    # The default 10% split is stable: the same call gives the same rows.
    once = run_export(session_factory, "rl", filters=ExportFilters(split="eval"))
    assert once == run_export(session_factory, "rl", filters=ExportFilters(split="eval"))
    assert split_of("0" * 64, 0.1) == "eval" and split_of("f" * 64, 0.1) == "train"
    assert split_of("f" * 64, 1.0) == "eval" and split_of("0" * 64, 0.0) == "train"


def test_identical_examples_are_written_once(session_factory: sessionmaker[Session]) -> None:
    for _ in range(3):  # three runs of one task answered identically (greedy decoding)
        record_trajectory(
            session_factory, "What is 6 * 7?", [Try("It is 41.", False), Try("It is 42.", True)]
        )
    record_trajectory(session_factory, "What is 6 * 7?", [Try("It is 40.", False), Try("It is 42.", True)])
    rise = run_export(session_factory, "rise")
    assert [r["completion"][0]["content"] for r in rise].count("It is 41.") == 1
    assert len(rise) == 4  # 41, 42 after 41, 40, 42 after 40
    assert len(run_export(session_factory, "rise", options=ExportOptions(dedup=False))) == 8
    assert len(run_export(session_factory, "rl")) == 1
    assert len(run_export(session_factory, "raw")) == 4  # raw is lossless: never de-duplicated


def test_invalid_parameters_name_the_problem() -> None:
    with pytest.raises(ExportParameterError, match="unknown export format 'nope'"):
        get_format("nope")
    with pytest.raises(ExportParameterError, match="tau"):
        ExportOptions(tau=0.0)
    with pytest.raises(ExportParameterError, match="keep"):
        ExportOptions(keep="best")  # type: ignore[arg-type]
    now = datetime.now(UTC)
    with pytest.raises(ExportParameterError, match="until"):
        ExportFilters(since=now, until=now - timedelta(days=1))
    with pytest.raises(ExportParameterError, match="eval_fraction"):
        ExportFilters(eval_fraction=1.5)
    with pytest.raises(ExportParameterError, match="split"):
        ExportFilters(split="test")  # type: ignore[arg-type]
