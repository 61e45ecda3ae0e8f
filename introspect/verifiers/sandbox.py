"""Run a user-supplied Python check in a sandbox: OS isolation, time, memory and process limits.

A python check is code a job submitter wrote, so it is hostile by default. The security boundary is
the operating system, not the interpreter (an audit-hook blocklist in the same interpreter cannot be
complete: ``_posixsubprocess.fork_exec``, ``os.pidfd_open`` + ``signal.pidfd_send_signal`` and plain
``open`` raise no event it could refuse):

* bubblewrap (``introspect.verifiers.isolation``): its own mount, pid, network, ipc and uts
  namespaces, a root holding only the Python runtime read-only, a private /tmp and /proc, an empty
  environment, a new session, no capabilities, an unprivileged uid when the worker is root;
* rlimits set by the child before the check's code exists: ``RLIMIT_AS`` (memory), ``RLIMIT_CPU``,
  ``RLIMIT_NPROC`` (1 by default: no other process or thread), ``RLIMIT_FSIZE``, ``RLIMIT_NOFILE``,
  ``RLIMIT_CORE = 0``; an interval timer for a clear timeout message, a wall-clock kill in the parent;
* no descriptor of the worker (``close_fds``, nothing passed), and at the end — always, not only on a
  timeout — SIGKILL to the sandbox's process group while its leader is still unreaped; with bubblewrap
  the pid namespace dies with it, taking every process the check started (``setsid`` or not);
* a per-process admission gate (``introspect.verifiers.admission``): at most N checks at once within a
  memory budget.

Without bubblewrap the verifier refuses (a failed verification that says why) unless the operator set
``INTROSPECT_UNSAFE_PYTHON_CHECKS_WITHOUT_ISOLATION``; then a check runs as the worker's user with the
rlimits and the audit hook below only. The audit hook stays in both modes as a courtesy — it turns
ordinary socket or subprocess use into a clear "not allowed" message — not as the boundary.

The result travels as one JSON line on the child's stdout; the check's own prints go to a bounded
in-memory buffer.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from introspect.config import Settings, get_settings
from introspect.verifiers.admission import AdmissionRefused, CheckAdmission
from introspect.verifiers.isolation import Isolation, IsolationUnavailable, probe, unisolated

Status = Literal["ok", "error", "timeout", "memory", "crash", "refused"]
_MAX_READ = 64 * 1024
STARTUP_GRACE_S = 2.0
_TEARDOWN_S = 5.0
_PAST_TIME = "the check ran past its time limit"
UNSAFE_SETTING = "INTROSPECT_UNSAFE_PYTHON_CHECKS_WITHOUT_ISOLATION"

# The child program. It receives {"code", "args", "limits"} on stdin and prints one JSON object.
_BOOTSTRAP = r"""
import os, sys
DROP = __DROP__
if DROP is not None:
    # Root worker: leave root (and the two capabilities bwrap left) before reading the check.
    os.setgroups([])
    os.setgid(DROP)
    os.setuid(DROP)
    if 0 in os.getresuid() or 0 in os.getresgid():
        raise SystemExit("could not drop root")
    # The uid change cleared bwrap's parent-death signal: set it again (PR_SET_PDEATHSIG, SIGKILL).
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)
    for name in [m for m in sys.modules if m.split(".")[0] in ("ctypes", "_ctypes")]:
        del sys.modules[name]
import io, json, resource, signal
payload = json.loads(sys.stdin.read())
limits = payload["limits"]
mem = limits["memory_mb"] * 1024 * 1024
resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_s"], limits["cpu_s"]))
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
BLOCKED = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
           "os.forkpty", "os.kill", "os.killpg", "pty.", "ctypes.", "resource.setrlimit",
           "resource.prlimit", "sys.addaudithook", "signal.pthread_kill", "webbrowser.")
def _hook(event, args):
    if event.startswith(BLOCKED):
        raise PermissionError(f"{event} is not allowed in a verifier check")
class _Timeout(BaseException):
    pass
def _alarm(signum, frame):
    raise _Timeout()
class _Sink(io.StringIO):
    def write(self, s):
        return super().write(s[: max(0, 10000 - self.tell())]) if self.tell() < 10000 else len(s)
out = sys.stdout
sys.stdout = sys.stderr = _Sink()
signal.signal(signal.SIGALRM, _alarm)
sys.addaudithook(_hook)
def result(**kw):
    kw["printed"] = sys.stdout.getvalue()[-2000:]
    out.write(json.dumps(kw, default=repr) + "\n")
    out.flush()
try:
    signal.setitimer(signal.ITIMER_REAL, limits["timeout_s"])
    namespace = {"__name__": "__check__"}
    exec(compile(payload["code"], "<check>", "exec"), namespace)
    value = namespace[payload["function"]](*payload["args"])
    signal.setitimer(signal.ITIMER_REAL, 0)
    plain = isinstance(value, (bool, str, int, float, list, tuple, dict, type(None)))
    result(status="ok", value=value if plain else repr(value))
except _Timeout:
    result(status="timeout", message="the check ran past its time limit")
except MemoryError:
    signal.setitimer(signal.ITIMER_REAL, 0)
    result(status="memory", message="the check ran out of memory")
except AssertionError as exc:
    signal.setitimer(signal.ITIMER_REAL, 0)
    result(status="ok", value=[False, str(exc) or "assertion failed"])
except BaseException as exc:
    signal.setitimer(signal.ITIMER_REAL, 0)
    result(status="error", message=f"{type(exc).__name__}: {exc}")
"""


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 5.0
    memory_mb: int = 256


@dataclass(frozen=True)
class SandboxOutcome:
    status: Status
    value: Any = None
    message: str | None = None
    printed: str = ""
    isolation: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SandboxPolicy:
    """The operator's choices (``Settings.python_check_*``) that apply to every check."""

    bwrap: str = "bwrap"
    allow_unisolated: bool = False
    uid: int = 65534
    max_processes: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxPolicy:
        return cls(
            bwrap=settings.python_check_bwrap,
            allow_unisolated=settings.unsafe_python_checks_without_isolation,
            uid=settings.python_check_uid,
            max_processes=settings.python_check_max_processes,
        )


class CheckSandbox:
    """One per worker process (``shared_sandbox``): the policy plus the admission gate all its jobs'
    checks pass through."""

    def __init__(self, policy: SandboxPolicy, admission: CheckAdmission) -> None:
        self.policy = policy
        self.admission = admission

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckSandbox:
        admission = CheckAdmission(
            settings.python_check_max_concurrent,
            settings.python_check_memory_budget_mb,
            settings.python_check_queue_timeout_s,
        )
        return cls(SandboxPolicy.from_settings(settings), admission)

    def isolation(self) -> Isolation:
        try:
            return probe(self.policy.bwrap, self.policy.uid)
        except IsolationUnavailable as exc:
            if self.policy.allow_unisolated:
                return unisolated()
            raise IsolationUnavailable(
                f"python checks run only under OS isolation and this worker has none ({exc}); install "
                f"bubblewrap, or set {UNSAFE_SETTING}=true to run them without isolation (unsafe)"
            ) from exc

    def run(self, code: str, function: str, args: list[Any], limits: SandboxLimits) -> SandboxOutcome:
        try:
            isolation = self.isolation()
        except IsolationUnavailable as exc:
            return SandboxOutcome("refused", message=str(exc))
        # Every process of the check may use the whole memory limit: charge the budget for all.
        try:
            with self.admission.slot(limits.memory_mb * self.policy.max_processes):
                return _run(isolation, self.policy, code, function, args, limits)
        except AdmissionRefused as exc:
            return SandboxOutcome("refused", message=str(exc), isolation=[isolation.kind])


@lru_cache(maxsize=1)
def shared_sandbox() -> CheckSandbox:
    """The worker process's sandbox, built from settings on first use (never at import)."""
    return CheckSandbox.from_settings(get_settings())


def run_python(
    code: str,
    function: str,
    args: list[Any],
    limits: SandboxLimits = SandboxLimits(),
    sandbox: CheckSandbox | None = None,
) -> SandboxOutcome:
    """Define ``code`` in a fresh sandboxed interpreter and call ``function(*args)`` there."""
    return (sandbox or shared_sandbox()).run(code, function, args, limits)


def _run(
    isolation: Isolation,
    policy: SandboxPolicy,
    code: str,
    function: str,
    args: list[Any],
    limits: SandboxLimits,
) -> SandboxOutcome:
    labels = [isolation.kind, "rlimits", "audit_hook"]
    payload = {
        "code": code,
        "function": function,
        "args": args,
        "limits": {
            "timeout_s": limits.timeout_s,
            "cpu_s": int(limits.timeout_s) + 1,
            "memory_mb": limits.memory_mb,
            "processes": policy.max_processes,
        },
    }
    bootstrap = _BOOTSTRAP.replace("__DROP__", repr(isolation.drop_to))
    command = [*isolation.command, isolation.executable, "-I", "-S", "-c", bootstrap]
    with tempfile.TemporaryDirectory(prefix="introspect-check-") as tmp:
        work = Path(tmp)
        stdout_path, stderr_path, cwd = work / "stdout", work / "stderr", work / "cwd"
        cwd.mkdir()
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            # Unisolated, the check's working directory is a private temporary one; under bwrap it
            # is the sandbox's own /tmp and this directory (the result files) is not visible to it.
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                env={"LC_ALL": "C.UTF-8"},
                start_new_session=True,
                close_fds=True,
                pass_fds=(),
            )
            # Startup (interpreter, namespaces) is not the check's time: allow a fixed grace.
            finished = _feed_and_wait(proc, json.dumps(payload).encode(), limits.timeout_s + STARTUP_GRACE_S)
            _kill_group(proc)
            if not finished:
                return SandboxOutcome("timeout", message=_PAST_TIME, isolation=labels)
        raw = stdout_path.read_bytes()[:_MAX_READ].decode("utf-8", "replace").strip()
        err = stderr_path.read_bytes()[:_MAX_READ].decode("utf-8", "replace")
    if proc.returncode != 0 or not raw:
        return _died(proc.returncode, err, labels)
    try:
        data = json.loads(raw.splitlines()[-1])
    except json.JSONDecodeError:
        return SandboxOutcome("crash", message="the check wrote over its result channel", isolation=labels)
    return SandboxOutcome(
        status=data["status"],
        value=data.get("value"),
        message=data.get("message"),
        printed=data.get("printed", ""),
        isolation=labels,
    )


def _feed_and_wait(proc: subprocess.Popen[bytes], payload: bytes, timeout_s: float) -> bool:
    """Send the payload and wait for the sandbox's leader to exit, without reaping it (so that its
    process group id cannot be reused before ``_kill_group``). False on a timeout."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    pidfd = os.pidfd_open(proc.pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(timeout_s * 1000))
    finally:
        os.close(pidfd)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL whatever is left of the check's session, reap its leader, and wait for the sandbox.

    Under bubblewrap the leader is bwrap and the check is its pid namespace's init, in a session of
    its own: it gets SIGKILL here (and from bwrap's death, ``--die-with-parent``), and the namespace's end
    kills every process the check started, whatever session or group it moved to. That teardown is
    asynchronous, so the init's exit (a pidfd on it) is waited for too."""
    inits = _children_pidfds(proc.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for pidfd in inits:
        with contextlib.suppress(OSError):  # already gone
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            poller.poll(_TEARDOWN_S * 1000)
        finally:
            os.close(pidfd)


def _children_pidfds(pid: int) -> list[int]:
    """Pidfds on a process's children (taken while it is alive or an unreaped zombie)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    pidfds = []
    for child in listed:
        try:
            pidfds.append(os.pidfd_open(int(child)))
        except OSError:
            continue
    return pidfds


def _signal_of(returncode: int) -> int | None:
    """The signal that ended the check: negative from Popen, 128 + n as bwrap reports its child's."""
    if returncode < 0:
        return -returncode
    return returncode - 128 if 128 < returncode < 128 + 65 else None


def _died(returncode: int, stderr: str, isolation: list[str]) -> SandboxOutcome:
    signum = _signal_of(returncode)
    if signum in (signal.SIGXCPU, signal.SIGKILL):
        return SandboxOutcome("timeout", message=_PAST_TIME, isolation=isolation)
    if "MemoryError" in stderr or signum in (signal.SIGSEGV, signal.SIGABRT):
        return SandboxOutcome("memory", message="the check ran out of memory", isolation=isolation)
    tail = stderr.strip().splitlines()[-1:] or [f"exit status {returncode}"]
    return SandboxOutcome("crash", message=f"the check crashed: {tail[0]}", isolation=isolation)
