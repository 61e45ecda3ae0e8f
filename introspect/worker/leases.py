"""Heartbeat: one thread renews every lease this process holds, independent of the node running.

A node may run for a long time (a slow model call); the lease must not expire meanwhile, or another
worker would take the job over. If a renewal fails the lease is lost: the job's next fenced write
fails with StaleLeaseError and the run stops without writing.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories.leases import Lease, renew_lease, settled_under

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, factory: sessionmaker[Session], lease_seconds: float, interval_seconds: float) -> None:
        self._factory = factory
        self._lease_seconds = lease_seconds
        self._interval = interval_seconds
        # Lease -> monotonic time until which no other worker can have claimed it (see lease_for).
        self._held: dict[Lease, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 5)

    def _safe_until(self, started: float) -> float:
        # A renewal issued at `started` keeps the job ours until started + lease_seconds by the
        # claimer's clock; a fifth of the lease is left as slack for clock skew between machines.
        return started + self._lease_seconds * 0.8

    def hold(self, lease: Lease, claimed_at: float | None = None) -> None:
        """``claimed_at``: time.monotonic() taken just before the claim statement was sent."""
        with self._lock:
            self._held[lease] = self._safe_until(time.monotonic() if claimed_at is None else claimed_at)

    def drop(self, lease: Lease) -> None:
        with self._lock:
            self._held.pop(lease, None)

    def lease_for(self, job_id: uuid.UUID) -> tuple[Lease, bool] | None:
        """The lease this process holds on ``job_id`` and whether it is certainly still ours.

        Certain means: renewed recently enough that no other worker can have claimed the job, so
        a write may skip the database check. After a pause (SIGSTOP, a long GC) it is not certain,
        and the caller must compare lease versions in the database before writing.
        """
        now = time.monotonic()
        with self._lock:
            for lease, safe_until in self._held.items():
                if lease.job_id == job_id:
                    return lease, now < safe_until
        return None

    def held_job_ids(self) -> list[uuid.UUID]:
        with self._lock:
            return [lease.job_id for lease in self._held]

    def renew_all(self) -> None:
        with self._lock:
            leases = list(self._held)
        for lease in leases:
            started = time.monotonic()
            try:
                with transaction(self._factory) as session:
                    ok = renew_lease(session, lease, self._lease_seconds)
                    # A renewal between the job's settling and its run's return finds the job
                    # settled under this very lease: not lost.
                    settled = not ok and settled_under(session, lease)
            except Exception:  # a DB blip: try again next beat, the lease has slack
                log.warning("lease renewal for job %s failed; will retry", lease.job_id, exc_info=True)
                continue
            if settled:
                # The finish node settles the job before its last checkpoint is written and the run
                # drops the lease: keep it held (the run drops it), no longer certain, so that the
                # final checkpoint goes ahead after comparing lease versions in the database.
                with self._lock:
                    if lease in self._held:
                        self._held[lease] = 0.0
                continue
            if not ok:
                with self._lock:
                    still_held = self._held.pop(lease, None) is not None
                if still_held:
                    log.warning("lease on job %s (version %s) was lost", lease.job_id, lease.version)
                continue
            with self._lock:
                if lease in self._held:
                    self._held[lease] = self._safe_until(started)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.renew_all()
