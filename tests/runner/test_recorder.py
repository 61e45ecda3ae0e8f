"""The recorder's writes: fenced, idempotent on (trajectory, index), finished once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from introspect.runner.context import FinishData
from introspect.runner.errors import RunCancelled
from introspect.runner.recorder import DbRecorder
from introspect.store.engine import transaction
from introspect.store.repositories import jobs, trajectories
from introspect.store.repositories.leases import StaleLeaseError
from introspect.store.repositories.trajectories import TurnData, VerificationData
from tests.graphs.harness import Harness


def setup(harness: Harness, notify: Any = None) -> tuple[DbRecorder, uuid.UUID]:
    job_id = harness.create("self_critique", {"prompt": "q"})
    lease = harness.claim(job_id)
    with transaction(harness.session_factory) as session:
        trajectory = trajectories.create_trajectory(
            session, graph="self_critique", task_prompt="q", job_id=job_id
        )
    return DbRecorder(harness.session_factory, lease, trajectory.id, notify), trajectory.id


def turn(index: int, passed: bool) -> TurnData:
    decision = {"action": "stop", "reason": "verified", "inputs": {}, "thresholds": {}}
    return TurnData(
        index=index,
        phase="generate",
        output="a",
        decision=decision,
        stats={"mean_self_certainty": 5.0},
        verifications=[VerificationData(verifier="numeric", passed=passed)],
    )


def test_replayed_turns_write_nothing_twice(harness: Harness) -> None:
    published: list[dict[str, Any]] = []
    recorder, trajectory_id = setup(harness, lambda job, event: published.append(event))
    recorder.record_turns([turn(0, False)])
    recorder.record_turns([turn(0, False), turn(1, True)])  # node replayed after a crash
    assert [(e["type"], e["data"]["index"]) for e in published] == [
        ("turn_finished", 0),
        ("turn_finished", 1),
    ]
    assert published[0]["data"] == {
        "index": 0,
        "phase": "generate",
        "decision": {"action": "stop", "reason": "verified"},
        "stats": {"mean_self_certainty": 5.0},
    }
    finish = FinishData("a", "verified", True, 1.0, [(0, 0.0), (1, 1.0)], ["local"], 30, 12.5, 2)
    recorder.finish(finish)
    recorder.finish(finish)  # replayed finish node: rewards are not duplicated
    resource = harness.resource(trajectory_id)
    assert [len(t["rewards"]) for t in resource["turns"]] == [1, 1]
    assert len(resource["rewards"]) == 1 and resource["total_tokens"] == 30
    assert resource["rewards"][0]["label"] is True and resource["turns"][0]["rewards"][0]["label"] is False


def test_settling_recorder_finishes_the_job_with_its_trajectory(harness: Harness) -> None:
    published: list[dict[str, Any]] = []
    recorder, trajectory_id = setup(harness, lambda job, event: published.append(event))
    recorder.settle_job = True
    recorder.record_turns([turn(0, True)])
    recorder.finish(FinishData("The answer is 42.", "verified", True, 1.0, [(0, 1.0)], ["local"], 5, 1.0, 1))
    expected = {
        "answer": "The answer is 42.",
        "stop_reason": "verified",
        "success": True,
        "trajectory_id": str(trajectory_id),
        "turns": 1,
    }
    assert recorder.settled_result == expected
    with transaction(harness.session_factory) as session:
        job = jobs.get_job(session, recorder.job_id)
        assert job is not None
        assert (job.status, job.result, job.lease_owner, job.finished_at is not None) == (
            "succeeded",
            expected,
            None,
            True,
        )
    assert [(e["type"], e["data"]) for e in published][-1] == ("status", {"status": "succeeded"})
    # A replayed finish node settles nothing twice: no second status event.
    recorder.finish(FinishData("x", "verified", True, 1.0, [], [], 0, 0.0, 1))
    statuses = [data for type, data in harness.events(recorder.job_id) if type == "status"]
    assert statuses.count({"status": "succeeded"}) == 1


def test_published_events_name_the_one_published_before(harness: Harness) -> None:
    published: list[dict[str, Any]] = []
    recorder, _ = setup(harness, lambda job, event: published.append(event))
    recorder.settle_job, recorder.last_event_id = True, 7  # 7: the run's 'running' event
    recorder.turn_started(0, "generate")
    recorder.record_turns([turn(0, True)])
    recorder.record_turns([turn(0, True)])  # replayed: nothing written, nothing published
    recorder.finish(FinishData("a", "verified", True, 1.0, [(0, 1.0)], ["local"], 5, 1.0, 1))
    assert [e["type"] for e in published] == ["turn_started", "turn_finished", "status"]
    assert [e["prev"] for e in published] == [7, published[0]["id"], published[1]["id"]]
    assert recorder.last_event_id == published[-1]["id"]


def test_a_stale_lease_refuses_every_write(harness: Harness) -> None:
    recorder, trajectory_id = setup(harness)
    job_id = recorder.job_id
    with transaction(harness.session_factory) as session:
        from introspect.store.tables import Job

        job = session.get(Job, job_id)
        assert job is not None
        job.lease_version += 1  # another worker took the job over
    settling = DbRecorder(harness.session_factory, recorder.lease, trajectory_id, settle_job=True)
    for write in (
        lambda: recorder.record_turns([turn(0, True)]),
        lambda: recorder.turn_started(0, "generate"),
        lambda: recorder.check(),
        lambda: recorder.finish(FinishData(None, "x", None, None, [], [], 0, 0.0, 0)),
        lambda: settling.finish(FinishData(None, "x", None, None, [], [], 0, 0.0, 0)),
    ):
        with pytest.raises(StaleLeaseError):
            write()
    assert harness.resource(trajectory_id)["turns"] == [] and harness.events(job_id) == []


class FakeWatch:
    def __init__(self, certain: bool, cancelled: bool) -> None:
        self.certain, self.cancelled = certain, cancelled

    def lease_certain(self, lease: Any) -> bool:
        return self.certain

    def cancel_requested(self, job_id: uuid.UUID) -> bool:
        return self.cancelled


def test_a_certain_lease_lets_the_boundary_trust_the_watch(harness: Harness) -> None:
    recorder, _ = setup(harness)
    with transaction(harness.session_factory) as session:
        jobs.request_cancel(session, recorder.job_id)
    recorder.watch = FakeWatch(certain=True, cancelled=False)
    recorder.check()  # no query: the watch has not seen the cancel yet
    recorder.watch = FakeWatch(certain=True, cancelled=True)
    with pytest.raises(RunCancelled):
        recorder.check()


def test_an_uncertain_lease_makes_the_boundary_ask_the_database(harness: Harness) -> None:
    recorder, _ = setup(harness)
    recorder.watch = FakeWatch(certain=False, cancelled=False)
    recorder.check()
    with transaction(harness.session_factory) as session:
        jobs.request_cancel(session, recorder.job_id)
    with pytest.raises(RunCancelled):
        recorder.check()
