"""Create, claim and run a job in this process (``introspect run``): the same path a worker takes."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from introspect.runner.deps import RunnerDeps
from introspect.runner.execute import JobOutcome, execute_job
from introspect.runner.spec import parse_job
from introspect.store.engine import transaction
from introspect.store.repositories import jobs, leases
from introspect.store.tables import Job

# Nobody sweeps an inline job's lease, but it must not look expired while this process runs it.
INLINE_LEASE_SECONDS = 24 * 3600.0


def run_inline(graph: str, input: dict[str, Any], config: dict[str, Any], deps: RunnerDeps) -> JobOutcome:
    parse_job(graph, input, config, deps.settings)  # JobValidationError before any row exists
    with transaction(deps.session_factory) as session:
        job_id = jobs.create_job(session, graph=graph, input=input, config=config).job.id
    owner = f"inline:{socket.gethostname()}:{os.getpid()}"
    with transaction(deps.session_factory) as session:
        lease = leases.claim_job(session, job_id, owner, INLINE_LEASE_SECONDS)
    if lease is None:
        raise RuntimeError(f"could not claim the job {job_id} just created")
    try:
        return execute_job(job_id, lease, deps)
    except Exception as exc:
        with transaction(deps.session_factory) as session:
            leases.finish_job(session, lease, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise


def create_and_run_inline(
    graph: str, input: dict[str, Any], config: dict[str, Any], deps: RunnerDeps
) -> tuple[uuid.UUID, uuid.UUID]:
    """(job_id, trajectory_id) of a job run to completion (or to ``waiting_human``) in-process."""
    outcome = run_inline(graph, input, config, deps)
    return outcome.job_id, outcome.trajectory_id


def resume_inline(job_id: uuid.UUID, answer: dict[str, Any], deps: RunnerDeps) -> JobOutcome:
    """Answer a ``waiting_human`` job and run it on in-process (what ``POST /jobs/{id}/resume`` and a
    worker do together); the answer is ``{"answer": "..."}``."""
    with transaction(deps.session_factory) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status != "waiting_human":
            raise ValueError(f"job {job_id} is not waiting for a human answer")
        job.resume_value = answer
        job.status = "queued"
    owner = f"inline:{socket.gethostname()}:{os.getpid()}"
    with transaction(deps.session_factory) as session:
        lease = leases.claim_job(session, job_id, owner, INLINE_LEASE_SECONDS)
    if lease is None:
        raise RuntimeError(f"could not claim the job {job_id}")
    return execute_job(job_id, lease, deps)
