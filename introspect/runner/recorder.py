"""The runner's recorder: every node outcome becomes rows in one fenced transaction, then a notify.

Each transaction starts with ``leases.fence(session, lease)``: the UPDATE both proves that our lease
is still the current one and locks the job row until commit, so a worker whose lease was taken over
(paused, partitioned) raises ``StaleLeaseError`` and writes nothing. Turn writes are idempotent on
(trajectory, index) and events are appended only for turns that were actually inserted, so a node
replayed after a crash leaves the log as if it had run once. ``notify`` (the lead's Redis publisher)
runs only after commit: a subscriber never hears of a row it cannot read.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.runner.context import FinishData
from introspect.runner.deps import JobWatch
from introspect.runner.errors import RunCancelled, RunHandedBack
from introspect.store.engine import autocommit, is_postgres, transaction
from introspect.store.repositories import events, leases, trajectories
from introspect.store.repositories.fenced_settle import settle_job_fenced
from introspect.store.repositories.fenced_turn import record_turn_fenced
from introspect.store.repositories.leases import Lease, StaleLeaseError
from introspect.store.repositories.trajectories import RewardData, TrajectoryOutcome, TurnData
from introspect.store.tables import Job

Notify = Callable[[uuid.UUID, dict[str, Any]], None]


def event_payload(event: Any, prev: int | None = None) -> dict[str, Any]:
    """What is published for a committed event. ``prev`` -- the id of the job's event published just
    before it by the same run -- lets an SSE stream that delivered exactly that one pass this one on
    without reading the log (see ``introspect.api.routes.events``)."""
    payload = {
        "id": event.id,
        "type": event.type,
        "data": event.data,
        "created_at": event.created_at.isoformat(),
    }
    if prev is not None:
        payload["prev"] = prev
    return payload


def turn_finished_data(turn: TurnData) -> dict[str, Any]:
    decision = turn.decision or None
    return {
        "index": turn.index,
        "phase": turn.phase,
        "decision": None
        if decision is None
        else {"action": decision["action"], "reason": decision["reason"]},
        "stats": turn.stats,
    }


def job_result(
    answer: str | None, stop_reason: str | None, success: bool | None, trajectory_id: uuid.UUID, turns: int
) -> dict[str, Any]:
    """A succeeded job's ``result``."""
    return {
        "answer": answer,
        "stop_reason": stop_reason,
        "success": success,
        "trajectory_id": str(trajectory_id),
        "turns": turns,
    }


class DbRecorder:
    """With ``settle_job`` the graph's last node (``finish``) also marks the job succeeded, in the
    transaction that finishes its trajectory: one transaction and one event less per job, and the
    client hears of the result before the final checkpoint is written. ``settled_result`` is then
    the job's result (None until then, or when an earlier run had finished the trajectory)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        lease: Lease,
        trajectory_id: uuid.UUID,
        notify: Notify | None = None,
        should_stop: Callable[[], bool] | None = None,
        watch: JobWatch | None = None,
        *,
        settle_job: bool = False,
        last_event_id: int | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.lease = lease
        self.job_id = lease.job_id
        self.trajectory_id = trajectory_id
        self.notify = notify
        self.should_stop = should_stop
        self.watch = watch
        self.settle_job = settle_job
        self.settled_result: dict[str, Any] | None = None
        # The id of the last event this run published (``last_event_id``: the 'running' event the
        # run started with). Nodes of one step may run in parallel threads: a write and its publish
        # happen under one lock, so the ids the payloads chain through are in commit order.
        self.last_event_id = last_event_id
        self._events_lock = threading.Lock()
        self._engine = session_factory.kw["bind"]
        # Postgres writes each turn or event as one self-fencing statement (fenced_turn,
        # leases.append_event_fenced); SQLite in a fenced transaction.
        self._single_statement_writes = is_postgres(self._engine)

    def _publish(self, committed: Sequence[Any]) -> None:
        """Publish committed events in order, each naming the one published before it."""
        for event in committed:
            payload = event_payload(event, prev=self.last_event_id)
            self.last_event_id = event.id
            if self.notify is not None:
                self.notify(self.job_id, payload)

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise RunHandedBack(f"job {self.job_id}: the worker is stopping")
        if self.watch is not None and self.watch.lease_certain(self.lease):
            if self.watch.cancel_requested(self.job_id):
                raise RunCancelled(f"job {self.job_id} was cancelled")
            return
        # One light Core query per node boundary (no ORM identity map): cancel is honoured at the
        # very next boundary, and a lost lease stops the run before it computes anything more.
        with self.session_factory() as session:
            row = session.execute(
                select(Job.lease_version, Job.cancel_requested).where(Job.id == self.job_id)
            ).first()
        if row is None or row.lease_version != self.lease.version:
            raise StaleLeaseError.of(self.lease)
        if row.cancel_requested:
            raise RunCancelled(f"job {self.job_id} was cancelled")

    def append(self, type: str, data: dict[str, Any]) -> None:
        with self._events_lock:
            if self._single_statement_writes:
                with autocommit(self._engine) as conn:
                    event = leases.append_event_fenced(conn, self.lease, type, data)
            else:
                with transaction(self.session_factory) as session:
                    leases.fence(session, self.lease)
                    event = events.append_event(session, self.job_id, type, data)
            self._publish([event])

    def turn_started(self, index: int, phase: str) -> None:
        self.append("turn_started", {"index": index, "phase": phase})

    def record_turns(self, turns: Sequence[TurnData]) -> None:
        with self._events_lock:
            self._publish(self._record_turns(turns))

    def _record_turns(self, turns: Sequence[TurnData]) -> list[Any]:
        if self._single_statement_writes:
            # A statement per turn: each is idempotent, so a crash between two leaves a replay to
            # write only the rest, as the single transaction would have.
            with autocommit(self._engine) as conn:
                written = [
                    record_turn_fenced(
                        conn, self.lease, self.trajectory_id, turn, "turn_finished", turn_finished_data(turn)
                    )
                    for turn in turns
                ]
            return [event for event in written if event is not None]
        committed: list[Any] = []
        with transaction(self.session_factory) as session:
            leases.fence(session, self.lease)
            for turn in turns:
                if trajectories.record_turn(session, self.trajectory_id, turn, self.lease.version) is None:
                    continue  # replayed node: already written by an earlier run
                data = turn_finished_data(turn)
                committed.append(events.append_event(session, self.job_id, "turn_finished", data))
        return committed

    def finish(self, data: FinishData) -> None:
        with self._events_lock:
            self._publish(self._finish(data))

    def _finish(self, data: FinishData) -> list[Any]:
        result = None
        if self.settle_job:
            result = job_result(
                data.final_answer, data.stop_reason, data.success, self.trajectory_id, data.turns
            )
        if result is not None and self._single_statement_writes:
            return self._settle_in_one_statement(data, result)
        return self._finish_in_transaction(data, result)

    def _settle_in_one_statement(self, data: FinishData, result: dict[str, Any]) -> list[Any]:
        """Postgres: see ``fenced_settle``."""
        with autocommit(self._engine) as conn:
            settled = settle_job_fenced(
                conn, self.lease, self.trajectory_id, result, _outcome(data), _rewards(data)
            )
        if settled.event is None:
            return []  # a replayed finish node: the job was settled by its first run
        self.settled_result = result
        return [settled.event]

    def _finish_in_transaction(self, data: FinishData, result: dict[str, Any] | None) -> list[Any]:
        committed: list[Any] = []
        with transaction(self.session_factory) as session:
            if result is not None:
                # finish_job is fenced itself (lease version, still running) and locks the job row,
                # so here it is the fence: the job settles with its trajectory, no extra statement.
                if not leases.finish_job(session, self.lease, status="succeeded", result=result):
                    if not leases.settled_under(session, self.lease):
                        raise StaleLeaseError.of(self.lease)
                    return []  # a replayed finish node: the job was settled by its first run
                committed.append(events.append_event(session, self.job_id, "status", {"status": "succeeded"}))
            else:
                leases.fence(session, self.lease)
            # False: finished by an earlier run of this node, whose rewards exist already.
            if trajectories.finish_trajectory_with(session, self.trajectory_id, _outcome(data)):
                turn_ids = trajectories.turn_ids_by_index(session, self.trajectory_id)
                rewards = [
                    (reward, None if index is None else turn_ids[index])
                    for reward, index in _rewards(data)
                    if index is None or index in turn_ids
                ]
                trajectories.add_rewards(session, self.trajectory_id, rewards)
        self.settled_result = result  # only now: committed
        return committed


def _outcome(data: FinishData) -> TrajectoryOutcome:
    return TrajectoryOutcome(
        final_answer=data.final_answer,
        stop_reason=data.stop_reason,
        success=data.success,
        outcome_reward=data.outcome_reward,
        models=data.models,
        total_tokens=data.total_tokens,
        total_latency_ms=data.total_latency_ms,
    )


def _rewards(data: FinishData) -> list[tuple[RewardData, int | None]]:
    """The finished run's rewards, each with the index of its turn (None: the whole trajectory)."""
    rewards: list[tuple[RewardData, int | None]] = [
        (RewardData(kind="attempt", value=value, label=value >= 1.0, source="verifier"), index)
        for index, value in data.attempt_rewards
    ]
    if data.outcome_reward is not None:
        outcome = RewardData(kind="outcome", value=data.outcome_reward, label=data.success, source="verifier")
        rewards.append((outcome, None))
    return rewards
