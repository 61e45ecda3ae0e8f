"""Lease and heartbeat: a job settled under its own lease keeps its last checkpoint; settings refuse a
heartbeat that is not well below the lease."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from introspect.config import Settings, SettingsError, get_settings
from introspect.runner import execute_job
from introspect.runner.graphs import GRAPHS
from introspect.worker.fenced_checkpointer import FencedCheckpointer
from introspect.worker.leases import LeaseKeeper
from tests.graphs.fakes import CONFIDENT, FakeProvider, Reply, ScriptedChatModel
from tests.graphs.harness import Harness, harness_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def harness(db_url: str, session_factory: sessionmaker[Session]) -> Iterator[Harness]:
    with harness_for(db_url, session_factory) as h:
        yield h


def test_a_job_settled_under_its_own_lease_keeps_its_final_checkpoint(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The heartbeat beats between the finish node settling the job and the node's checkpoint."""
    keeper = LeaseKeeper(harness.session_factory, lease_seconds=60, interval_seconds=5)
    fenced: Any = FencedCheckpointer(harness.checkpointer, harness.session_factory, keeper.lease_for)
    put, put_writes = fenced.put, fenced.put_writes

    def beat_then(write: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            keeper.renew_all()  # a heartbeat before every checkpoint write, the last ones included
            return write(*args, **kwargs)

        return wrapped

    fenced.put, fenced.put_writes = beat_then(put), beat_then(put_writes)
    local = ScriptedChatModel(script=[Reply("The answer is 42.", CONFIDENT)])
    deps = harness.deps(FakeProvider({"local": local}))
    deps.checkpointer = fenced
    job_id = harness.create("self_critique", {"prompt": "What is 40 plus 2?", "reference": "42"})
    lease = harness.claim(job_id)
    keeper.hold(lease)
    with caplog.at_level(logging.INFO):
        outcome = execute_job(job_id, lease, deps)  # today: StaleLeaseError on the last checkpoint
    keeper.drop(lease)
    assert outcome.status == "succeeded"
    snapshot = (
        GRAPHS["self_critique"]
        .compiled(harness.checkpointer)
        .get_state(GRAPHS["self_critique"].run_config(str(job_id)))
    )
    assert snapshot.values.get("result") is not None and snapshot.next == ()
    assert not [r for r in caplog.records if "lost" in r.getMessage() or "taken over" in r.getMessage()]


def test_settings_refuse_a_heartbeat_above_a_third_of_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(lease_seconds=6, heartbeat_seconds=2).heartbeat_seconds == 2
    with pytest.raises(ValidationError, match="at most a third"):
        Settings(lease_seconds=5)  # the default 5 s heartbeat: jobs ran twice
    monkeypatch.setenv("INTROSPECT_LEASE_SECONDS", "5")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as raised:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert "\n" not in str(raised.value)
    assert "INTROSPECT_HEARTBEAT_SECONDS (5)" in str(raised.value) and "INTROSPECT_LEASE_SECONDS (5)" in str(
        raised.value
    )


@pytest.mark.parametrize("env", [{"INTROSPECT_LEASE_SECONDS": "5"}, {"INTROSPECT_HEARTBEAT_SECONDS": "-1"}])
def test_the_cli_says_so_in_one_line_and_exits_2(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "introspect.cli.main", "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("introspect: invalid settings: INTROSPECT_")
