"""The job-running engine shared by ``introspect worker`` and embedded ``introspect serve``.

Postgres (or SQLite) is the source of truth; this engine finds work three ways, so losing Redis never
loses a job: direct ``submit`` (a wake-up from Redis -- the wake list or arq, de-duplicated by wake
id -- or the in-process API right after commit), a poll of queued rows, and a sweeper that re-offers
jobs whose lease expired (their worker died) and fails poison jobs after ``max_attempts``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import autocommit, transaction
from introspect.store.repositories import events, jobs, leases
from introspect.store.repositories.leases import Claim, Lease, StaleLeaseError
from introspect.worker.job_watch import JobWatch
from introspect.worker.leases import LeaseKeeper

log = logging.getLogger(__name__)

_REMEMBERED_WAKEUPS = 10_000

# Runs right after a job is claimed (the claim is one statement, committed) and writes the job's start
# itself; what it returns is handed to the executor. A start that raises counts as a failed attempt.
JobStarter = Callable[[Claim], object]
# Runs a claimed job (with what the starter returned, or None without one); returns True when it
# settled the job (finished it, or parked it waiting for a person) and False when it returned early
# -- asked to stop -- with the job still leased to us.
JobExecutor = Callable[[uuid.UUID, Lease, object], bool]


class WorkerCore:
    def __init__(
        self,
        factory: sessionmaker[Session],
        execute: JobExecutor,
        *,
        owner: str,
        concurrency: int,
        lease_seconds: float,
        heartbeat_seconds: float,
        poll_seconds: float,
        sweep_seconds: float,
        max_attempts: int,
        cancel_poll_seconds: float = 0.1,
        start: JobStarter | None = None,
    ) -> None:
        self._factory = factory
        self._engine = factory.kw["bind"]
        self._execute = execute
        self._start = start
        self.owner = owner
        self._lease_seconds = lease_seconds
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds
        self._max_attempts = max_attempts
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job")
        self._concurrency = concurrency
        self.leases = LeaseKeeper(factory, lease_seconds, heartbeat_seconds)
        self.watch = JobWatch(factory, self.leases)
        self._in_flight: dict[uuid.UUID, Future[None]] = {}
        # Offered jobs not yet taken by a job thread. A job recovered from a dead worker (found by the
        # sweeper) is taken before fresh ones: it has waited a lease already, and was running.
        self._recovered: deque[uuid.UUID] = deque()
        self._fresh: deque[uuid.UUID] = deque()
        # Wake ids already accepted (newest last): the same wake-up comes from the wake list and
        # from arq, and the second must cost nothing. Bounded: a duplicate arrives within seconds.
        self._accepted_wakeups: OrderedDict[str, None] = OrderedDict()
        # Called from a job thread whenever a job ends here (the wake-list consumer's "slot free").
        self.on_slot_free: Callable[[], object] | None = None
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._loop, args=(poll_seconds, self.poll_queued), name="poll", daemon=True
            ),
            threading.Thread(target=self._loop, args=(sweep_seconds, self.sweep), name="sweep", daemon=True),
            threading.Thread(
                target=self._loop, args=(cancel_poll_seconds, self.watch.poll), name="job-watch", daemon=True
            ),
        ]

    # lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.leases.start()
        for thread in self._threads:
            thread.start()

    def shutdown(self, timeout: float = 60.0) -> None:
        """SIGTERM: stop claiming; running jobs stop at their next node boundary and are handed back."""
        self.stopping.set()
        with self._lock:
            futures = list(self._in_flight.values())
        for future in futures:
            with contextlib.suppress(Exception):  # already logged by the job thread
                future.result(timeout=timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = list(self._in_flight.values())
        for future in left:
            future.cancel()  # offered, never taken: nothing ran (its callback takes the lock)
        self.leases.stop()

    # work intake ---------------------------------------------------------------------------------
    def submit(
        self, job_id: uuid.UUID, wake_id: str | None = None, *, recovered: bool = False
    ) -> Future[None] | None:
        """Offer a job; returns the future of its run (the running one if it runs here already), or
        None when stopping, full, or ``wake_id`` -- one dispatch of the job -- was accepted before.
        ``recovered``: a job whose worker died; it goes ahead of every fresh job waiting here (and
        past the cap on waiting work: it is claimed by whichever worker gets to it first)."""
        with self._lock:
            if self.stopping.is_set():
                return None
            existing = self._in_flight.get(job_id)
            if existing is not None or wake_id in self._accepted_wakeups:
                return existing
            if not recovered and len(self._in_flight) >= self._concurrency * 4:
                return None  # the poll will offer it again; don't hoard work other workers could do
            future: Future[None] = Future()
            self._in_flight[job_id] = future
            (self._recovered if recovered else self._fresh).append(job_id)
            if wake_id is not None:
                self._accepted_wakeups[wake_id] = None
                if len(self._accepted_wakeups) > _REMEMBERED_WAKEUPS:
                    self._accepted_wakeups.popitem(last=False)
        future.add_done_callback(lambda _f: self._forget(job_id))
        self._pool.submit(self._run_next)  # one pool task per offered job
        return future

    def _run_next(self) -> None:
        """A job thread's turn: the oldest recovered job if any, else the oldest fresh one."""
        with self._lock:
            job_id = self._recovered.popleft() if self._recovered else self._fresh.popleft()
            future = self._in_flight[job_id]
        if not future.set_running_or_notify_cancel():
            return
        try:
            self._process(job_id)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)

    def has_capacity(self) -> bool:
        """Fewer jobs here than threads to run them: taking one more would not make it wait."""
        return self.in_flight() < self._concurrency

    def _forget(self, job_id: uuid.UUID) -> None:
        with self._lock:
            self._in_flight.pop(job_id, None)
        if self.on_slot_free is not None:
            self.on_slot_free()

    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def poll_queued(self) -> None:
        free = self._concurrency - self.in_flight()
        if free <= 0:
            return
        with transaction(self._factory) as session:
            ids = jobs.queued_job_ids(session, limit=free)
        for job_id in ids:
            self.submit(job_id)

    def sweep(self) -> None:
        """Re-offer jobs with an expired lease; end poison jobs as failed."""
        with transaction(self._factory) as session:
            expired = [(j.id, j.attempts, j.error, j.lease_owner) for j in leases.expired_jobs(session)]
        for job_id, attempts, error, owner in expired:
            if attempts >= self._max_attempts:
                message = error or f"lease expired {attempts} times (last owner {owner}); giving up"
                with transaction(self._factory) as session:
                    if leases.fail_exhausted(session, job_id, self._max_attempts, message):
                        _log_status(session, job_id, "failed", error=message)
                log.warning("job %s failed after %s attempts", job_id, attempts)
            else:
                self.submit(job_id, recovered=True)

    def _loop(self, interval: float, action: Callable[[], None]) -> None:
        while not self.stopping.wait(interval):
            try:
                action()
            except Exception:  # the database may be restarting: keep looping
                log.warning("%s failed; retrying in %.1fs", action.__name__, interval, exc_info=True)

    # one job -------------------------------------------------------------------------------------
    def _process(self, job_id: uuid.UUID) -> None:
        claimed_at = time.monotonic()
        claimed = self._claim_and_start(job_id)
        if claimed is None:
            return
        lease, started = claimed
        self.leases.hold(lease, claimed_at)
        try:
            settled = self._execute(job_id, lease, started)
        except StaleLeaseError:
            log.warning("job %s: lease %s taken over; this run's writes were refused", job_id, lease.version)
            return
        except Exception as exc:
            self._settle_error(lease, exc)
            return
        finally:
            self.leases.drop(lease)
        if not settled:  # a settled job's row is final already: no transaction to hand it back
            self._hand_back(lease)

    def _claim_and_start(self, job_id: uuid.UUID) -> tuple[Lease, object] | None:
        with autocommit(self._engine) as conn:  # the claim is one statement: its own transaction
            claim = leases.claim_job_to_run(conn, job_id, self.owner, self._lease_seconds)
        if claim is None:
            return None
        if self._start is None:
            return claim.lease, None
        try:
            return claim.lease, self._start(claim)
        except Exception as exc:
            # The start failed (a job its graph can no longer parse, say). The claim counted the
            # attempt: settle it as a failed one, so that a poison job ends failed.
            self._settle_error(claim.lease, exc)
            return None

    def _hand_back(self, lease: Lease) -> None:
        """The executor returned with the job still running under our lease: we were asked to stop."""
        with transaction(self._factory) as session:
            handed_back = leases.release_lease(session, lease, refund_attempt=True)
            if handed_back:
                _log_status(session, lease.job_id, "queued", handed_back=True)
        if handed_back:
            log.info("job %s handed back at a node boundary", lease.job_id)

    def _settle_error(self, lease: Lease, exc: BaseException) -> None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.error("job %s attempt failed: %s", lease.job_id, error)
        with transaction(self._factory) as session:
            if leases.attempts_of(session, lease.job_id) >= self._max_attempts:
                if leases.finish_job(session, lease, status="failed", error=error):
                    _log_status(session, lease.job_id, "failed", error=error)
            elif leases.release_lease(session, lease, error=error):
                _log_status(session, lease.job_id, "queued", retry=True, error=error)


def _log_status(session: Session, job_id: uuid.UUID, status: str, **details: object) -> None:
    """A status change the worker makes outside a run goes into the job's event log too (SSE
    clients see a failure or a retry; Redis is not told: streams find it on their next read)."""
    events.append_event(session, job_id, "status", {"status": status, **details})
