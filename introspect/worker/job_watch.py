"""What a worker knows about the jobs it runs, so that a node boundary costs no database query.

At every node boundary a run must stop if its lease was lost or its job was cancelled. Asking the
database each time is a round trip per node (eleven for a two-turn self-critique job), most of a
fast job's overhead. The worker already knows the first answer -- the heartbeat renewed the lease
recently or it did not (``LeaseKeeper.lease_for``) -- and learns the second here: one query every
``cancel_poll_seconds`` for all the jobs it holds. A cancelled job therefore stops at its first node
boundary after the next poll. When the lease is not certainly ours the recorder still asks the
database, exactly as it does without a watch.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories import jobs
from introspect.store.repositories.leases import Lease
from introspect.worker.leases import LeaseKeeper


class JobWatch:
    """Polled by the WorkerCore every ``cancel_poll_seconds`` (its loop logs and retries failures)."""

    def __init__(self, factory: sessionmaker[Session], leases: LeaseKeeper) -> None:
        self._factory = factory
        self._leases = leases
        self._cancelled: frozenset[uuid.UUID] = frozenset()

    def lease_certain(self, lease: Lease) -> bool:
        held = self._leases.lease_for(lease.job_id)
        return held is not None and held[0] == lease and held[1]

    def cancel_requested(self, job_id: uuid.UUID) -> bool:
        return job_id in self._cancelled  # a frozenset swapped whole: no lock needed to read it

    def poll(self) -> None:
        held = self._leases.held_job_ids()
        if not held:
            self._cancelled = frozenset()
            return
        with transaction(self._factory) as session:
            self._cancelled = frozenset(jobs.cancel_requested_among(session, held))
