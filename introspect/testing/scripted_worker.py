"""``python -m introspect.testing.scripted_worker``: a real worker process with a scripted model.

Tests start it as a subprocess (to SIGKILL / SIGSTOP it); settings come from INTROSPECT_* variables
and the script from INTROSPECT_TEST_SCRIPT.
"""

from __future__ import annotations

import logging

from introspect.config import Settings
from introspect.testing.scripted_models import Script, ScriptedProvider
from introspect.worker.arq_consumer import run_worker
from introspect.worker.processes import run_worker_processes


def main() -> None:
    run_worker_processes(run_one, Settings().worker_processes)


def run_one() -> None:
    """One worker process (each ``INTROSPECT_WORKER_PROCESSES`` child reads the same environment)."""
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(Settings(), models=ScriptedProvider(Script.from_env()))


if __name__ == "__main__":
    main()
