"""Run one claimed job: the single entry point the worker and the CLI call.

A job's LangGraph thread is its id and every step is checkpointed synchronously (durability
"sync"), so a run after a crash -- another worker, a new lease -- continues from the last finished
node: no finished turn is written or generated twice. A pending human answer (``jobs.resume_value``)
resumes an ``interrupt()`` with ``Command(resume=...)``. Every write is fenced by the lease.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from langgraph.types import Command
from sqlalchemy.orm import Session

from introspect.models.cancel import GenerationCancelled, cancel_scope
from introspect.runner.assemble import build_context, initial_input
from introspect.runner.deps import RunnerDeps
from introspect.runner.errors import RunCancelled, RunHandedBack
from introspect.runner.graphs import GRAPHS
from introspect.runner.recorder import DbRecorder, event_payload, job_result
from introspect.runner.spec import JobSpec, parse_job
from introspect.store.engine import autocommit, is_postgres, transaction
from introspect.store.repositories import events, jobs, leases, trajectories
from introspect.store.repositories.fenced_start import start_job_fenced
from introspect.store.repositories.leases import Claim, Lease


@dataclass(frozen=True)
class JobOutcome:
    job_id: uuid.UUID
    status: str  # succeeded | waiting_human | cancelled | running (handed back)
    trajectory_id: uuid.UUID
    result: dict[str, Any] | None = None
    interrupt: dict[str, Any] | None = None

    @property
    def settled(self) -> bool:
        """The run wrote the job's outcome; False: it stopped early and the caller hands it back."""
        return self.status != "running"


@dataclass(frozen=True)
class Started:
    """A job logged as running (or found cancelled) with its trajectory, ready for its graph to run.
    ``running_event`` is published once the transaction that wrote it has committed."""

    spec: JobSpec
    trajectory_id: uuid.UUID
    resume_value: Any
    cancel_requested: bool
    running_event: dict[str, Any] | None


def _first_run(lease: Lease) -> bool:
    """The job's first claim ever: no earlier run can have left a trajectory or a checkpoint (both
    are written under a lease, and every claim bumps its version)."""
    return lease.version == 1


def start_claimed(claim: Claim, deps: RunnerDeps) -> Started:
    """``_prepare`` for a job just claimed (the claim read its fields, and no cancel request was
    pending): on Postgres a first run starts in one fenced statement (``fenced_start``), else in one
    fenced transaction."""
    lease = claim.lease
    engine = deps.session_factory.kw["bind"]
    if _first_run(lease) and is_postgres(engine):
        spec = parse_job(claim.graph, dict(claim.input), dict(claim.config or {}), deps.settings)
        row = _trajectory_row(spec, lease.job_id, claim.config)
        with autocommit(engine) as conn:
            event = start_job_fenced(conn, lease, row)
        running = event_payload(event, prev=claim.last_event_id)
        return Started(spec, row["id"], claim.resume_value, False, running)
    with transaction(deps.session_factory) as session:
        leases.fence(session, lease)
        started = _start(
            session, lease, claim.graph, claim.input, claim.config, claim.resume_value, False, deps
        )
    if started.running_event is not None and claim.last_event_id is not None:
        started.running_event["prev"] = claim.last_event_id  # see event_payload
    return started


def _prepare(job_id: uuid.UUID, lease: Lease, deps: RunnerDeps) -> Started:
    """Parse the job, find (or create) its trajectory and, unless it is to be cancelled, log it as
    running -- in one fenced transaction (a fast job's cost is mostly its transactions)."""
    with transaction(deps.session_factory) as session:
        leases.fence(session, lease)
        job = jobs.run_fields(session, job_id)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        return _start(
            session, lease, job.graph, job.input, job.config, job.resume_value, job.cancel_requested, deps
        )


def _start(
    session: Session,
    lease: Lease,
    graph: str,
    input: dict[str, Any],
    config: dict[str, Any] | None,
    resume_value: Any,
    cancel_requested: bool,
    deps: RunnerDeps,
) -> Started:
    job_id = lease.job_id
    spec = parse_job(graph, dict(input), dict(config or {}), deps.settings)
    existing = None if _first_run(lease) else trajectories.trajectory_for_job(session, job_id)
    if existing is not None:
        trajectory_id = existing.id
    else:
        trajectory_id = trajectories.insert_trajectory_row(session, _trajectory_row(spec, job_id, config))
    running = None
    if not cancel_requested:
        running = event_payload(events.append_event(session, job_id, "status", {"status": "running"}))
    return Started(spec, trajectory_id, resume_value, cancel_requested, running)


def _trajectory_row(spec: JobSpec, job_id: uuid.UUID, config: dict[str, Any] | None) -> dict[str, Any]:
    return trajectories.trajectory_row(
        graph=spec.graph,
        task_prompt=spec.prompt,
        job_id=job_id,
        task_messages=spec.messages or [],
        reference=spec.reference,
        verifier=None if spec.verifier is None else spec.verifier.to_json(),
        meta={"config": dict(config or {})},
    )


def _finish(
    deps: RunnerDeps, lease: Lease, status: str, result: dict[str, Any] | None, prev_event: int | None
) -> None:
    """Settle the job; ``prev_event``: the id of the last event the run published (see event_payload)."""
    with transaction(deps.session_factory) as session:
        leases.fence(session, lease)
        if not leases.finish_job(session, lease, status=status, result=result):
            return  # settled already (the finish node did, in a run that crashed before its checkpoint)
        event = events.append_event(session, lease.job_id, "status", {"status": status})
    if deps.notify is not None:
        deps.notify(lease.job_id, event_payload(event, prev=prev_event))


def _result(values: dict[str, Any], trajectory_id: uuid.UUID) -> dict[str, Any]:
    final = values.get("result") or {}
    turns = int(values.get("next_index", len(values.get("history") or [])))
    answer, reason, success = final.get("answer"), final.get("stop_reason"), final.get("success")
    return job_result(answer, reason, success, trajectory_id, turns)


# Invoke with None: LangGraph then continues the thread from its last checkpoint.
_CONTINUE = object()


def _first_input(snapshot: Any, spec: JobSpec, resume_value: Any) -> Any:
    """What to invoke the graph with, from its thread's last checkpoint; None: nothing to run.

    Whenever the thread has a checkpoint the run continues from it (``invoke(None)``), even when
    ``snapshot.next`` is empty: ``get_state`` leaves out a task whose writes were saved, so a crash
    between a node's ``put_writes`` and the next checkpoint shows no next task and no result. The
    initial input is for a thread without any checkpoint only: given to an existing thread it would
    start the task again at turn 0 and redo every finished turn."""
    if snapshot.interrupts:
        return None if resume_value is None else Command(resume=resume_value)
    if snapshot.values.get("result") is not None and not snapshot.next:
        return None  # finished before a crash; only the job row was not updated
    if snapshot.created_at is not None:
        return _CONTINUE  # a crashed or handed-back run: continue from the last checkpoint
    return initial_input(spec)


def execute_job(
    job_id: uuid.UUID, lease: Lease, deps: RunnerDeps, started: Started | None = None
) -> JobOutcome:
    """Run (or continue, or resume) a job whose lease the caller holds; see the module docstring.
    ``started``: what ``start_claimed`` returned in the claim's transaction (None: start it here).

    Returns the status written with ``leases.finish_job`` (succeeded, waiting_human, cancelled), or
    ``running`` when ``deps.should_stop()`` ended the run at a node boundary (nothing is written:
    the caller hands the lease back). ``StaleLeaseError`` propagates having written nothing; any
    other error propagates for the worker to count the attempt, the checkpoint keeping the progress.
    """
    prepared = started or _prepare(job_id, lease, deps)
    if prepared.running_event is not None and deps.notify is not None:
        deps.notify(job_id, prepared.running_event)
    spec, trajectory_id = prepared.spec, prepared.trajectory_id
    running_id = None if prepared.running_event is None else int(prepared.running_event["id"])
    if prepared.cancel_requested:
        _finish(deps, lease, "cancelled", None, running_id)
        return JobOutcome(job_id, "cancelled", trajectory_id)
    recorder = DbRecorder(
        deps.session_factory,
        lease,
        trajectory_id,
        deps.notify,
        deps.should_stop,
        deps.watch,
        settle_job=True,
        last_event_id=running_id,
    )
    entry = GRAPHS[spec.graph]
    graph = entry.compiled(deps.checkpointer)
    config: Any = entry.run_config(str(job_id))
    if _first_run(lease) and prepared.resume_value is None:
        run_input = initial_input(spec)  # no checkpoint to read back
    else:
        run_input = _first_input(graph.get_state(config), spec, prepared.resume_value)
    output: Any = None
    if run_input is not None:
        # A local model call in flight stops at its next token when the job is cancelled (the
        # watch's cancel set, refreshed every cancel_poll_seconds), not only at the next node.
        watch = deps.watch
        scope = cancel_scope(lambda: watch.cancel_requested(job_id)) if watch else contextlib.nullcontext()
        try:
            with scope:
                output = graph.invoke(
                    None if run_input is _CONTINUE else run_input,
                    config,
                    context=build_context(spec, deps, recorder),
                    durability="sync",
                )
        except (RunCancelled, GenerationCancelled):
            _finish(deps, lease, "cancelled", None, recorder.last_event_id)
            return JobOutcome(job_id, "cancelled", trajectory_id)
        except RunHandedBack:
            return JobOutcome(job_id, "running", trajectory_id)
    if recorder.settled_result is not None:  # the graph's finish node settled the job
        return JobOutcome(job_id, "succeeded", trajectory_id, recorder.settled_result)
    if isinstance(output, dict) and output.get("result") is not None and "__interrupt__" not in output:
        # A run that finished returns the final state: no need to read the checkpoint back.
        result = _result(output, trajectory_id)
        _finish(deps, lease, "succeeded", result, recorder.last_event_id)
        return JobOutcome(job_id, "succeeded", trajectory_id, result)
    snapshot = graph.get_state(config)
    if snapshot.interrupts:
        value = snapshot.interrupts[0].value
        waiting = {"interrupt": value, "trajectory_id": str(trajectory_id)}
        _finish(deps, lease, "waiting_human", waiting, recorder.last_event_id)
        return JobOutcome(job_id, "waiting_human", trajectory_id, waiting, value)
    result = _result(dict(snapshot.values), trajectory_id)
    _finish(deps, lease, "succeeded", result, recorder.last_event_id)
    return JobOutcome(job_id, "succeeded", trajectory_id, result)
