"""A job whose python check attacks its worker ends with a failed verification; the worker serves on.

The check tries what an outside audit did to a 3-worker deployment (one API call killed all three):
SIGKILL the process that started it through a pidfd, run a program below the audit hooks, and read
the worker's environment. A normal job submitted afterwards must be served by the same worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.tables import Trajectory, Verification
from introspect.testing.scripted_models import Script
from tests.worker.harness import job_status, start_worker, wait_for

SECRET = "worker-secret-7f3a"
MARKER = Path("/tmp") / f"introspect-hostile-{os.getpid()}"
HOSTILE = textwrap.dedent(
    f"""
    import os, signal, _posixsubprocess, sys
    def check(answer, reference):
        seen = []
        for path in ("/etc/passwd", {str(MARKER)!r}):
            try:
                seen.append(open(path, "a+").read() if path == {str(MARKER)!r} else open(path).read())
            except OSError as exc:
                seen.append(repr(exc))
        for pid in (os.getppid(), 1):
            try:
                seen.append(open(f"/proc/{{pid}}/environ").read())
            except OSError as exc:
                seen.append(repr(exc))
        try:
            r, w = os.pipe()
            _posixsubprocess.fork_exec(
                [b"/bin/sh", b"-c", b"kill -9 $PPID"], [b"/bin/sh"], True, (), None, None,
                -1, -1, -1, -1, -1, -1, r, w, False, True, -1, None, None, None, -1, None, False)
        except OSError as exc:
            seen.append(repr(exc))
        for pid in (os.getppid(), 1):
            try:
                signal.pidfd_send_signal(os.pidfd_open(pid), signal.SIGKILL)
            except OSError as exc:
                seen.append(repr(exc))
        return " ".join(seen) or "nothing seen"
    """
)


@pytest.fixture
def worker(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = tmp_path / "worker.log"
    os.environ["INTROSPECT_TEST_SECRET"] = SECRET
    try:
        proc = start_worker(pg_url, redis_url, Script(answers=["The answer is 42."]), log)
    finally:
        del os.environ["INTROSPECT_TEST_SECRET"]
    yield proc, log
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def test_a_hostile_check_fails_its_job_and_the_worker_serves_the_next(
    pg_url: str, redis_url: str, worker: tuple[subprocess.Popen[bytes], Path]
) -> None:
    proc, log = worker
    app = create_app(Settings(database_url=pg_url, redis_url=redis_url), bound_host="127.0.0.1")
    factory = make_session_factory(make_engine(pg_url))
    with TestClient(app) as api:
        hostile = api.post(
            "/v1/jobs",
            json={
                "graph": "self_critique",
                "input": {"prompt": "What is 6 * 7?", "verifier": {"name": "python", "code": HOSTILE}},
                "config": {"max_turns": 1},
            },
        ).json()["id"]
        wait_for(lambda: job_status(factory, hostile) in ("succeeded", "failed"), 90, "the hostile job", log)
        assert proc.poll() is None, log.read_text()[-3000:]
        normal = api.post(
            "/v1/jobs",
            json={
                "graph": "self_critique",
                "input": {"prompt": "What is 6 * 7?", "reference": "42", "verifier": "numeric"},
                "config": {"max_turns": 1},
            },
        ).json()["id"]
        wait_for(lambda: job_status(factory, normal) == "succeeded", 90, "the normal job", log)
    assert proc.poll() is None
    with transaction(factory) as session:
        rows = session.execute(
            select(Trajectory.job_id, Verification.passed, Verification.message, Verification.details).join(
                Verification, Verification.trajectory_id == Trajectory.id
            )
        ).all()
    by_job = {str(job_id): (passed, message, details) for job_id, passed, message, details in rows}
    passed, message, details = by_job[hostile]
    assert passed is False and SECRET not in f"{message} {details}"
    assert "root:" not in f"{message} {details}" and not MARKER.exists()
    assert by_job[normal][0] is True
    assert job_status(factory, hostile) == "succeeded"  # ran once to its end: no retry, no kill
