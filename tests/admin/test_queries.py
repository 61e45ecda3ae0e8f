"""The admin's SQL on both backends: filters, full-text search, keyset pages, aggregates, labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from introspect.admin.queries import dashboard
from introspect.admin.queries.detail import UnknownTurnError, add_human_label, load_trajectory
from introspect.admin.queries.inbox import waiting_jobs
from introspect.admin.queries.trajectories import TrajectoryFilters, distinct_values, list_trajectories
from introspect.admin.views.detail import build_detail
from introspect.store.engine import transaction
from introspect.store.repositories import jobs
from introspect.store.repositories.trajectories import create_trajectory, list_rewards
from introspect.store.tables import Trajectory
from tests.admin.seed import seed_revision


def _ids(factory: sessionmaker[Session], **filters: object) -> list[object]:
    with transaction(factory) as s:
        return [r.id for r in list_trajectories(s, TrajectoryFilters(**filters), limit=100)]  # type: ignore[arg-type]


def test_filters_search_and_keyset_pages(session_factory: sessionmaker[Session]) -> None:
    a = seed_revision(session_factory, prompt="What is 17 + 25? apples", graph="self_critique")
    b = seed_revision(
        session_factory, prompt="Capital of France? pears", second="Paris", graph="rag", model="gpt-x"
    )
    c = seed_revision(session_factory, prompt="Unfinished oranges", job_status="waiting_human")
    with transaction(session_factory) as s:
        s.execute(
            update(Trajectory)
            .where(Trajectory.id == c.trajectory_id)
            .values(success=None, stop_reason="escalated")
        )
        # Distinct timestamps make the order deterministic: a oldest, c newest.
        base = datetime(2030, 1, 1, tzinfo=UTC)
        for i, seeded in enumerate((a, b, c)):
            s.execute(
                update(Trajectory)
                .where(Trajectory.id == seeded.trajectory_id)
                .values(created_at=base + timedelta(hours=i))
            )
    assert _ids(session_factory) == [c.trajectory_id, b.trajectory_id, a.trajectory_id]
    assert _ids(session_factory, graph="rag") == [b.trajectory_id]
    assert _ids(session_factory, status="waiting_human") == [c.trajectory_id]
    assert _ids(session_factory, success="unknown") == [c.trajectory_id]
    assert _ids(session_factory, success="yes") == [b.trajectory_id, a.trajectory_id]
    assert _ids(session_factory, stop_reason="escalated") == [c.trajectory_id]
    assert _ids(session_factory, decision="revise") == [c.trajectory_id, b.trajectory_id, a.trajectory_id]
    assert _ids(session_factory, decision="escalate") == []
    assert _ids(session_factory, model="gpt-x") == [b.trajectory_id]
    assert _ids(
        session_factory,
        created_from=datetime(2030, 1, 1, 0, 30, tzinfo=UTC),
        created_to=datetime(2030, 1, 1, 1, 30, tzinfo=UTC),
    ) == [b.trajectory_id]
    # Full-text search covers prompts and final answers; every word must match.
    assert _ids(session_factory, q="pears") == [b.trajectory_id]
    assert _ids(session_factory, q="Paris") == [b.trajectory_id]
    assert _ids(session_factory, q="apples 42") == [a.trajectory_id]
    assert _ids(session_factory, q="apples pears") == []
    assert _ids(session_factory, q='"); DROP TABLE trajectories; --') == []
    # Keyset: the page after b holds only a, the page after a is empty.
    with transaction(session_factory) as s:
        first = list_trajectories(s, TrajectoryFilters(), limit=2)
        assert [r.id for r in first] == [c.trajectory_id, b.trajectory_id]
        after = (first[-1].created_at, first[-1].id)
        assert [r.id for r in list_trajectories(s, TrajectoryFilters(), limit=2, after=after)] == [
            a.trajectory_id
        ]
        assert first[0].turn_count == 2 and first[0].job_status == "waiting_human"
        assert distinct_values(s, "graph") == ["rag", "self_critique"]
        assert distinct_values(s, "model") == ["demo-llama", "gpt-x"]
        assert distinct_values(s, "decision") == ["revise", "stop"]
        assert distinct_values(s, "stop_reason") == ["escalated", "verified"]


def test_dashboard_aggregates(session_factory: sessionmaker[Session]) -> None:
    seed_revision(session_factory)
    seed_revision(session_factory, job_status="waiting_human")
    with transaction(session_factory) as s:
        assert dashboard.jobs_by_status(s) == [("succeeded", 1), ("waiting_human", 1)]
        window = dashboard.recent_window(s, ["mean_entropy", "not_stored"])
        assert len(window.trajectories) == 2 and window.stop_reasons == {"verified": 2}
        assert window.decisions == {"revise": 2, "stop": 2}
        attempts = [[(a.attempt, a.correct) for a in t.attempts] for t in window.trajectories]
        assert attempts == [[(1, False), (2, True)]] * 2
        samples = dashboard.calibration_samples(window.trajectories)
        assert sorted(ok for _, ok in samples) == [False, False, True, True]
        assert set(samples[0][0]) == {"mean_entropy"}
        # The window holds the newest trajectories only.
        assert len(dashboard.recent_window(s, ["gnll"], window=1).trajectories) == 1


def test_a_trajectory_of_a_failed_job_is_not_counted_as_running(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as s:
        job = jobs.create_job(s, graph="self_critique", input={"prompt": "x"}).job
        job.status, job.error, job.attempts = "failed", "RuntimeError: boom", 3
        create_trajectory(s, graph="self_critique", task_prompt="x", job_id=job.id)
    with transaction(session_factory) as s:
        assert dashboard.recent_window(s).stop_reasons == {"(no stop: job failed)": 1}


def test_labels_are_human_rewards_and_shape_the_detail_view(session_factory: sessionmaker[Session]) -> None:
    seeded = seed_revision(session_factory)
    other = seed_revision(session_factory)
    with transaction(session_factory) as s:
        add_human_label(
            s,
            seeded.trajectory_id,
            turn_id=seeded.turn_ids[0],
            value=0.0,
            label=False,
            comment="off by one",
            source="admin:k1",
        )
        add_human_label(
            s, seeded.trajectory_id, turn_id=None, value=1.0, label=True, comment=None, source="admin:k1"
        )
        with pytest.raises(UnknownTurnError):
            add_human_label(
                s,
                seeded.trajectory_id,
                turn_id=other.turn_ids[0],
                value=1.0,
                label=True,
                comment=None,
                source="x",
            )
    with transaction(session_factory) as s:
        rewards = [r for r in list_rewards(s, seeded.trajectory_id) if r.kind == "human"]
        assert [(r.label, r.value, r.source) for r in rewards] == [
            (False, 0.0, "admin:k1"),
            (True, 1.0, "admin:k1"),
        ]
        bundle = load_trajectory(s, seeded.trajectory_id)
        assert bundle is not None
        view = build_detail(bundle.trajectory, bundle.job, bundle.rewards)
        first, second = view.turns
        assert [r.comment for r in first.rewards] == ["off by one"]
        assert len(view.trajectory_rewards) == 1
        assert first.revision is None and second.revision is not None
        assert [s.text for s in second.revision.diff.segments if s.op == "insert"] == ["42"]
        kinds = [(f.kind, f.verdict) for f in second.revision.feedback]
        assert (
            ("verifier", "failed") in kinds
            and ("critique", "incorrect") in kinds
            and ("gate", "revise") in kinds
        )
        assert [g.action for g in view.gate.rows] == ["revise", "stop"]
        assert first.feedback_shown_at == 1 and view.first_correct is False
        # One row per decision; the policy is shown once (both decisions used max_turns 5).
        assert view.gate.thresholds["max_turns"] == 5 and view.gate.varying == []
        deciding = [[c.key for c in g.cells if c.deciding] for g in view.gate.rows]
        assert deciding == [[], ["verified"]]  # "verifier_failed" is no reason the gate gives
        assert first.heatmap is not None and len(first.heatmap.cells) == 4


def test_inbox_lists_waiting_jobs_only(session_factory: sessionmaker[Session]) -> None:
    waiting = seed_revision(session_factory, job_status="waiting_human")
    seed_revision(session_factory, job_status="succeeded")
    with transaction(session_factory) as s:
        items = waiting_jobs(s)
        assert [i.job.id for i in items] == [waiting.job_id]
        assert items[0].trajectory is not None and items[0].trajectory.id == waiting.trajectory_id
