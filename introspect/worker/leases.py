"""Heartbeat: one thread renews every lease this process holds, independent of the node running.

A node may run for a long time (a slow model call); the lease must not expire meanwhile, or another
worker would take the job over. If a renewal fails the lease is lost: the job's next fenced write
fails with StaleLeaseError and the run stops without writing.
"""

from __future__ import annotations

import logging
import threading
import uuid

from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories.jobs import Lease, renew_lease

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, factory: sessionmaker[Session], lease_seconds: float, interval_seconds: float) -> None:
        self._factory = factory
        self._lease_seconds = lease_seconds
        self._interval = interval_seconds
        self._held: set[Lease] = set()
        self._lost: set[Lease] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 5)

    def hold(self, lease: Lease) -> None:
        with self._lock:
            self._held.add(lease)

    def drop(self, lease: Lease) -> None:
        with self._lock:
            self._held.discard(lease)
            self._lost.discard(lease)

    def lease_for(self, job_id: uuid.UUID) -> Lease | None:
        """The live lease this process holds on ``job_id`` (None once dropped or lost)."""
        with self._lock:
            return next((lease for lease in self._held if lease.job_id == job_id), None)

    def is_lost(self, lease: Lease) -> bool:
        with self._lock:
            return lease in self._lost

    def renew_all(self) -> None:
        with self._lock:
            leases = list(self._held)
        for lease in leases:
            try:
                with transaction(self._factory) as session:
                    ok = renew_lease(session, lease, self._lease_seconds)
            except Exception:  # a DB blip: try again next beat, the lease has slack
                log.warning("lease renewal for job %s failed; will retry", lease.job_id, exc_info=True)
                continue
            if not ok:
                log.warning("lease on job %s (version %s) was lost", lease.job_id, lease.version)
                with self._lock:
                    self._lost.add(lease)
                    self._held.discard(lease)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.renew_all()
