"""execute_job's promises: resume after a crash without repeating work, fencing, cancel, hand-back."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from introspect.runner import create_and_run_inline, execute_job, trajectory_resource
from introspect.store.engine import transaction
from introspect.store.repositories import jobs
from introspect.store.repositories.leases import StaleLeaseError
from introspect.store.tables import Job, Turn
from introspect.store.types import utcnow
from tests.graphs.fakes import CONFIDENT, Crash, FakeProvider, Reply, ScriptedChatModel
from tests.graphs.harness import Harness, actions

TASK = {"prompt": "What is 40 plus 2?", "reference": "42"}
WRONG, RIGHT = Reply("The answer is 41.", CONFIDENT), Reply("The answer is 42.", CONFIDENT)


def expire_lease(harness: Harness, job_id: uuid.UUID) -> None:
    """What a worker's death looks like to the sweeper: the lease runs out."""
    with transaction(harness.session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.lease_expires_at = utcnow() - timedelta(seconds=1)


def turn_versions(harness: Harness, job_id: uuid.UUID) -> list[tuple[int, int | None]]:
    with harness.session_factory() as session:
        rows = session.query(Turn.index, Turn.lease_version).join(Turn.trajectory).filter_by(job_id=job_id)
        return sorted((int(i), v) for i, v in rows)


def test_crash_resumes_from_checkpoint_without_repeating_turns(harness: Harness) -> None:
    local = ScriptedChatModel(script=[WRONG, Reply("", crash=True), RIGHT])
    deps = harness.deps(FakeProvider({"local": local}))
    job_id = harness.create("self_critique", TASK)

    with pytest.raises(Crash):
        harness.execute(job_id, deps)  # dies inside the revise call
    assert harness.job(job_id).status == "running" and len(local.calls) == 1

    expire_lease(harness, job_id)
    outcome = harness.execute(job_id, deps)  # a second worker, a new lease
    assert outcome.status == "succeeded"
    assert len(local.calls) == 2  # the finished first turn was not generated again
    assert turn_versions(harness, job_id) == [(0, 1), (1, 2)]
    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [("generate", "revise", "verifier_rejected"), ("revise", "stop", "verified")]
    finished = [d["index"] for t, d in harness.events(job_id) if t == "turn_finished"]
    assert finished == [0, 1]


def test_stale_worker_writes_nothing(harness: Harness) -> None:
    local = ScriptedChatModel(script=[WRONG])
    job_id = harness.create("self_critique", TASK)

    def take_over(event_job: uuid.UUID, event: dict[str, Any]) -> None:
        if event["type"] == "turn_started":  # the first worker stalls; another claims the job
            expire_lease(harness, job_id)
            harness.claim(job_id, owner="other-worker")

    deps = harness.deps(FakeProvider({"local": local}), notify=take_over)
    with pytest.raises(StaleLeaseError):
        harness.execute(job_id, deps)
    assert turn_versions(harness, job_id) == []
    job = harness.job(job_id)
    assert job.lease_owner == "other-worker" and job.lease_version == 2
    assert [t for t, _ in harness.events(job_id)] == ["status", "turn_started"]


def test_cancel_stops_at_the_next_node_boundary(harness: Harness) -> None:
    local = ScriptedChatModel(script=[WRONG, RIGHT])
    job_id = harness.create("self_critique", TASK)

    def cancel(event_job: uuid.UUID, event: dict[str, Any]) -> None:
        if event["type"] == "turn_finished":
            with transaction(harness.session_factory) as session:
                jobs.request_cancel(session, event_job)

    outcome = harness.execute(job_id, harness.deps(FakeProvider({"local": local}), notify=cancel))
    assert outcome.status == "cancelled"
    assert harness.job(job_id).status == "cancelled"
    assert len(local.calls) == 1 and turn_versions(harness, job_id) == [(0, 1)]
    assert harness.events(job_id)[-1] == ("status", {"status": "cancelled"})


def test_should_stop_hands_back_and_another_run_continues(harness: Harness) -> None:
    local = ScriptedChatModel(script=[WRONG, RIGHT])
    stopping = {"now": False}

    def watch(event_job: uuid.UUID, event: dict[str, Any]) -> None:
        stopping["now"] = stopping["now"] or event["type"] == "turn_finished"

    deps = harness.deps(FakeProvider({"local": local}), notify=watch, should_stop=lambda: stopping["now"])
    job_id = harness.create("self_critique", TASK)
    handed = harness.execute(job_id, deps)
    assert handed.status == "running" and harness.job(job_id).status == "running"
    assert len(local.calls) == 1

    stopping["now"] = False
    expire_lease(harness, job_id)
    done = harness.execute(job_id, harness.deps(FakeProvider({"local": local})))
    assert done.status == "succeeded" and len(local.calls) == 2


def test_waking_a_waiting_job_without_an_answer_keeps_it_waiting(harness: Harness) -> None:
    local = ScriptedChatModel(script=[WRONG, WRONG, WRONG])
    deps = harness.deps(FakeProvider({"local": local}))
    config = {"escalation": "human", "gate": {"escalate_after_failures": 1}}
    job_id = harness.create("self_critique", TASK, config)
    assert harness.execute(job_id, deps).status == "waiting_human"
    with transaction(harness.session_factory) as session:
        assert jobs.set_status(session, job_id, "queued", from_status="waiting_human")
    again = harness.execute(job_id, deps)
    assert again.status == "waiting_human" and again.interrupt is not None
    assert len(local.calls) == 1


def test_create_and_run_inline(harness: Harness) -> None:
    local = ScriptedChatModel(script=[RIGHT])
    deps = harness.deps(FakeProvider({"local": local}))
    job_id, trajectory_id = create_and_run_inline("self_critique", TASK, {}, deps)
    job = harness.job(job_id)
    assert job.status == "succeeded" and job.result is not None
    assert job.result == {
        "answer": "The answer is 42.",
        "stop_reason": "verified",
        "success": True,
        "trajectory_id": str(trajectory_id),
        "turns": 1,
    }
    assert harness.resource(trajectory_id)["job_id"] == str(job_id)
    with harness.session_factory() as session:
        assert trajectory_resource(session, uuid.uuid4()) is None


def test_inline_failure_marks_the_job_failed(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply("", crash=True)])
    with pytest.raises(Crash):
        create_and_run_inline("self_critique", TASK, {}, harness.deps(FakeProvider({"local": local})))
    with harness.session_factory() as session:
        job = session.query(Job).one()
    assert job.status == "failed" and job.error is not None and "crashed" in job.error


def test_notify_runs_after_commit_in_order(harness: Harness) -> None:
    seen: list[dict[str, Any]] = []

    def notify(job_id: uuid.UUID, event: dict[str, Any]) -> None:
        with harness.session_factory() as session:  # committed: visible from another session
            assert session.get(Job, job_id) is not None
        seen.append(event)

    local = ScriptedChatModel(script=[WRONG, RIGHT])
    outcome = harness.run(
        "self_critique", TASK, {}, harness.deps(FakeProvider({"local": local}), notify=notify)
    )
    assert [e["type"] for e in seen] == [t for t, _ in harness.events(outcome.job_id)]
    assert [e["id"] for e in seen] == sorted(e["id"] for e in seen)
    assert seen[-1]["data"] == {"status": "succeeded"}


def test_execute_job_reports_unknown_jobs(harness: Harness) -> None:
    local = ScriptedChatModel(script=[])
    job_id = harness.create("self_critique", TASK)
    lease = harness.claim(job_id)
    with transaction(harness.session_factory) as session:
        session.delete(session.get(Job, job_id))
    with pytest.raises(StaleLeaseError):
        execute_job(job_id, lease, harness.deps(FakeProvider({"local": local})))


def test_cancel_reaches_a_model_call_in_flight(harness: Harness) -> None:
    """The job's cancel check travels into the graph's model calls (introspect.models.cancel); a
    call that stops on it ends the job cancelled, not failed."""
    from introspect.models.cancel import GenerationCancelled, current_cancel_check

    job_id = harness.create("self_critique", TASK)
    seen: list[bool] = []

    class Watch:
        def cancel_requested(self, asked: uuid.UUID) -> bool:
            return asked == job_id  # the node boundary does not look: the lease is not "certain"

        def lease_certain(self, lease: Any) -> bool:
            return False

    class StoppedMidAnswer(ScriptedChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            check = current_cancel_check()
            seen.append(check is not None and check())
            raise GenerationCancelled("cancelled mid-answer")

    deps = harness.deps(FakeProvider({"local": StoppedMidAnswer(script=[WRONG])}), watch=Watch())
    outcome = harness.execute(job_id, deps)
    assert seen == [True]
    assert outcome.status == "cancelled" and harness.job(job_id).status == "cancelled"
