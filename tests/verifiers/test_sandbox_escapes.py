"""The escapes an outside audit found in the python verifier, each of which must now do no harm.

Each check below is hostile: it runs a program, signals the process that started it, reads files and
another process's environment, leaves a process behind, or forks without end. Every one must end as a
failed (or at worst harmless) verification while the process that ran it — the worker — lives on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from introspect.config import Settings
from introspect.verifiers import VerificationResult, VerificationTask
from introspect.verifiers.admission import AdmissionRefused, CheckAdmission
from introspect.verifiers.base import VerifierConfigError
from introspect.verifiers.python_check import PythonOptions, PythonVerifier
from introspect.verifiers.registry import parse_verifier_spec
from introspect.verifiers.sandbox import STARTUP_GRACE_S, CheckSandbox, SandboxPolicy

ROOT = Path(__file__).resolve().parents[2]
TASK = VerificationTask(prompt="p", reference="r")

# Start a program the way subprocess does, below the audit events subprocess and os.fork raise
# (the argument list is CPython 3.11's; the project runs on 3.11).
SPAWN = """
import _posixsubprocess, os, sys
def spawn(argv, setsid=False):
    r, w = os.pipe()
    try:
        return _posixsubprocess.fork_exec(
            [a.encode() for a in argv], [sys.executable.encode()], True, (), None, None,
            -1, -1, -1, -1, -1, -1, r, w, False, setsid, -1, None, None, None, -1, None, False)
    finally:
        os.close(r)
        os.close(w)
"""

pytestmark = pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="fork_exec's 3.11 signature")


def permissive() -> CheckSandbox:
    """Checks may start up to 8 processes (the default is none): what the boundary does with them."""
    return CheckSandbox(SandboxPolicy(max_processes=8), CheckAdmission(4, 8192, 60))


def verify(code: str, sandbox: CheckSandbox | None = None, timeout_s: float = 5.0) -> VerificationResult:
    options = PythonOptions(code=code, timeout_s=timeout_s)
    return PythonVerifier(options, sandbox).verify("answer", TASK)


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def in_stand_in_worker(code: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run one check in a separate process playing the worker (its parent, as in production)."""
    program = textwrap.dedent(
        """
        import json, sys
        from introspect.verifiers import VerificationTask, build_verifier
        verifier = build_verifier({"name": "python", "code": sys.stdin.read()})
        result = verifier.verify("a", VerificationTask("p", "r"))
        print(json.dumps({"passed": result.passed, "message": result.message, "details": result.details}))
        print("worker still alive")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("sandbox", [None, permissive()], ids=["default", "processes-allowed"])
def test_fork_exec_runs_nothing_on_the_host(tmp_path: Path, sandbox: CheckSandbox | None) -> None:
    marker = tmp_path / "ran"
    program = f"open({str(marker)!r}, 'w').write('escaped')"
    code = SPAWN + textwrap.dedent(
        f"""
        def check(answer, reference):
            pid = spawn([sys.executable, "-c", {program!r}])
            os.waitpid(pid, 0)
            return os.path.exists({str(marker)!r})
        """
    )
    result = verify(code, sandbox)
    assert result.passed is False
    assert not marker.exists()


def test_pidfd_kill_of_the_parent_leaves_the_worker_alive() -> None:
    code = textwrap.dedent(
        """
        import os, signal
        def check(answer, reference):
            for pid in (os.getppid(), 1):
                try:
                    signal.pidfd_send_signal(os.pidfd_open(pid), signal.SIGKILL)
                except OSError:
                    pass
            return False
        """
    )
    returncode, output = in_stand_in_worker(code)
    assert returncode == 0 and "worker still alive" in output, output
    assert json.loads(output.splitlines()[0])["passed"] is False


def test_files_outside_the_sandbox_cannot_be_read() -> None:
    repo_file = ROOT / "pyproject.toml"
    assert "[project]" in repo_file.read_text()
    for path in ("/etc/passwd", str(repo_file), f"/proc/{os.getpid()}/cmdline", str(Path.home() / ".bashrc")):
        result = verify(f"def check(answer, reference):\n    return open({path!r}).read() or 'empty'")
        assert result.passed is False
        text = f"{result.message} {result.details}"
        assert "root:" not in text and "[project]" not in text, (path, text)
        assert "No such file" in text or "Permission denied" in text, (path, text)


def test_the_workers_environment_cannot_be_read() -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    code = textwrap.dedent(
        f"""
        import os
        def check(answer, reference):
            seen = [repr(dict(os.environ))]
            for pid in (os.getppid(), 1, {os.getpid()}, "self"):
                try:
                    seen.append(open(f"/proc/{{pid}}/environ").read())
                except OSError as exc:
                    seen.append(repr(exc))
            return " ".join(seen)
        """
    )
    returncode, output = in_stand_in_worker(code, env={"INTROSPECT_TEST_SECRET": secret})
    assert returncode == 0 and "worker still alive" in output, output
    assert secret not in output


def test_a_background_process_does_not_outlive_its_check() -> None:
    marker = f"introspect-bg-{uuid.uuid4().hex}"
    code = SPAWN + textwrap.dedent(
        f"""
        import time
        def check(answer, reference):
            pid = spawn([sys.executable, "-c", "import time; time.sleep(60)", {marker!r}], setsid=True)
            time.sleep(0.3)
            return os.path.exists(f"/proc/{{pid}}")
        """
    )
    # Allowed to start it, the check does; it is gone once the check is over.
    assert verify(code, permissive()).passed is True
    assert processes_with(marker) == []
    # By default a check cannot start one at all.
    assert verify(code).passed is False
    assert processes_with(marker) == []


@pytest.mark.parametrize("sandbox", [None, permissive()], ids=["default", "processes-allowed"])
def test_a_fork_bomb_is_bounded_and_cleaned_up(sandbox: CheckSandbox | None) -> None:
    marker = f"introspect-bomb-{uuid.uuid4().hex}"
    # Each process starts two more, five levels deep (63 in all where nothing stops it), then sleeps;
    # a process gets its own source as argv[1].
    bomb = SPAWN + textwrap.dedent(
        """
        import time
        RUN = "import sys; exec(sys.argv[1])"
        depth = int(sys.argv[2])
        for _ in range(2 if depth < 5 else 0):
            try:
                spawn([sys.executable, "-c", RUN, sys.argv[1], str(depth + 1), sys.argv[3]])
            except OSError:
                pass
        time.sleep(20)
        """
    )
    code = SPAWN + textwrap.dedent(
        f"""
        import time
        def check(answer, reference):
            spawn([sys.executable, "-c", "import sys; exec(sys.argv[1])", {bomb!r}, "0", {marker!r}])
            time.sleep(1.5)
            return False, str(sum(1 for p in os.listdir("/proc") if p.isdigit()))
        """
    )
    started = time.monotonic()
    result = verify(code, sandbox, timeout_s=3.0)
    assert result.passed is False
    assert time.monotonic() - started < 3.0 + STARTUP_GRACE_S + 1.5
    if sandbox is not None:  # the bomb went off, up to the process limit (the check included)
        assert 2 < int(str(result.message)) <= 8, result.message
    assert processes_with(marker) == []
    # The worker can still start processes of its own.
    assert subprocess.run(["true"], check=False).returncode == 0


GOOD = "def check(answer, reference):\n    return True"


def test_without_isolation_the_verifier_refuses_unless_the_operator_opts_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = CheckSandbox(SandboxPolicy(bwrap="/nonexistent/bwrap"), CheckAdmission(2, 1024, 5))
    refused = verify(GOOD, missing)
    assert refused.passed is False and refused.details["status"] == "refused"
    assert "bubblewrap" in str(refused.message)
    assert "INTROSPECT_UNSAFE_PYTHON_CHECKS_WITHOUT_ISOLATION" in str(refused.message)
    # The setting's name (as the operator writes it) opts in to the weaker mode, which says so.
    monkeypatch.setenv("INTROSPECT_UNSAFE_PYTHON_CHECKS_WITHOUT_ISOLATION", "true")
    monkeypatch.setenv("INTROSPECT_PYTHON_CHECK_BWRAP", "/nonexistent/bwrap")
    unsafe = CheckSandbox.from_settings(Settings())
    ran = verify(GOOD, unsafe)
    assert ran.passed is True and ran.details["isolation"][0] == "none"


def test_checks_wait_for_a_slot_within_the_memory_budget() -> None:
    gate = CheckAdmission(max_concurrent=2, memory_budget_mb=300, timeout_s=0.2)
    with gate.slot(200):
        with pytest.raises(AdmissionRefused, match="busy"), gate.slot(200):
            pass
        with gate.slot(100):
            assert (gate.running, gate.memory_mb) == (2, 300)
    with pytest.raises(AdmissionRefused, match="budget"), gate.slot(400):
        pass
    assert (gate.running, gate.memory_mb) == (0, 0)
    # One at a time: a second check waits for the first instead of running beside it.
    one = CheckSandbox(SandboxPolicy(), CheckAdmission(1, 1024, 30))
    sleeper = "import time\ndef check(answer, reference):\n    time.sleep(0.5)\n    return True"
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: verify(sleeper, one), range(2)))
    assert all(r.passed for r in results) and time.monotonic() - started >= 1.0
    # A check whose memory limit alone exceeds the worker's budget is refused with that reason.
    tight = CheckSandbox(SandboxPolicy(), CheckAdmission(1, 128, 1))
    assert "budget" in str(verify(GOOD, tight).message)


def test_the_per_check_memory_limit_is_capped() -> None:
    with pytest.raises(VerifierConfigError, match="memory_mb"):
        parse_verifier_spec({"name": "python", "code": GOOD, "memory_mb": 4096})
