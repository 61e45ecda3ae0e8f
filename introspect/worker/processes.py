"""One ``introspect worker`` as several processes, supervised (``--processes``).

A worker process spends its CPU in Python -- graph steps, SQL, checkpoints -- under one GIL, so with
fast models one process keeps about one core busy however many jobs it runs at once. Like Celery's
prefork pool or Dramatiq's worker processes, ``--processes N`` starts N worker processes (each
with its own connections, threads and leases); the parent only supervises: a child that dies is
started again, and SIGTERM/SIGINT is passed on so every child hands its running jobs back.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger(__name__)

# A child that keeps dying (bad settings, database unreachable) is restarted at this pace, not spun.
RESTART_DELAY_SECONDS = 1.0


def run_worker_processes(target: Callable[[], None], processes: int, *, stop_timeout: float = 90.0) -> None:
    """Run ``target`` (a picklable, module-level callable: children are spawned, not forked, so no
    parent thread or connection leaks into them) in ``processes`` processes until SIGTERM/SIGINT.
    One process is ``target`` itself, run here: there is nothing to supervise."""
    if processes == 1:
        target()
        return
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    children: list[BaseProcess] = []
    try:
        for _ in range(processes):
            children.append(_start(context, target))
        log.info("worker supervisor: %s processes %s", processes, [c.pid for c in children])
        while not stopping.wait(RESTART_DELAY_SECONDS):
            for i, child in enumerate(children):
                if not child.is_alive() and not stopping.is_set():
                    log.warning("worker process %s exited (%s); starting another", child.pid, child.exitcode)
                    children[i] = _start(context, target)
    finally:
        for child in children:
            if child.is_alive():
                # SIGTERM, whichever signal stopped us: the child hands its running jobs back.
                child.terminate()
        for child in children:
            child.join(stop_timeout)
            if child.is_alive():
                log.warning("worker process %s did not stop in %.0fs; killing it", child.pid, stop_timeout)
                child.kill()
                child.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start(context: multiprocessing.context.SpawnContext, target: Callable[[], None]) -> BaseProcess:
    child = context.Process(target=_child_main, args=(target,), name="introspect-worker")
    child.start()
    return child


def _child_main(target: Callable[[], None]) -> None:
    """A child runs ``target`` and stops as if sent SIGTERM -- handing its running jobs back -- when
    its supervisor is gone without stopping it (SIGKILL, the OOM killer): an orphaned worker would
    run on unsupervised, and a ``kill -9`` of the command would not stop the worker."""
    supervisor = multiprocessing.parent_process()
    if supervisor is not None:
        watch = threading.Thread(
            target=_stop_when_gone, args=(supervisor.sentinel,), name="supervisor-watch", daemon=True
        )
        watch.start()
    target()


def _stop_when_gone(supervisor_sentinel: int) -> None:
    multiprocessing.connection.wait([supervisor_sentinel])
    log.warning("worker supervisor is gone; stopping this worker process")
    os.kill(os.getpid(), signal.SIGTERM)
