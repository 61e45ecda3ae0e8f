"""Run a user-supplied Python check in a subprocess with a time limit, a memory limit and no network.

Layers, each of which alone blocks the network in a different way:

* a fresh network namespace (``unshare -rn``: only a down loopback) when the kernel allows one;
* a PEP 578 audit hook installed before the user's code runs, refusing socket creation and
  connection, process creation (subprocess, fork, exec, spawn), ctypes and rlimit changes; Python
  code cannot remove an audit hook once added;
* ``-I`` isolated mode, an empty environment and a private temporary working directory.

Limits: ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` and an interval timer in the child, a wall-clock kill
in the parent, ``RLIMIT_FSIZE`` on anything written (the child's stdout/stderr are files for that
reason), ``RLIMIT_NOFILE``. The result travels as one JSON line on the child's stdout; the check's own
prints go to a bounded in-memory buffer.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "memory", "crash"]
_MAX_READ = 64 * 1024
STARTUP_GRACE_S = 2.0

# The child program. It receives {"code", "args", "limits"} on stdin and prints one JSON object.
_BOOTSTRAP = r"""
import io, json, resource, signal, sys
payload = json.loads(sys.stdin.read())
limits = payload["limits"]
mem = limits["memory_mb"] * 1024 * 1024
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


@lru_cache(maxsize=1)
def network_namespace_prefix() -> tuple[str, ...]:
    """``unshare -rn`` (a new user + network namespace) when this kernel lets us create one."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return ()
    for prefix in ((unshare, "-rn"), (unshare, "-n")):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def run_python(
    code: str, function: str, args: list[Any], limits: SandboxLimits = SandboxLimits()
) -> SandboxOutcome:
    """Define ``code`` in a fresh sandboxed interpreter and call ``function(*args)`` there."""
    prefix = network_namespace_prefix()
    isolation = ["audit_hook", "rlimits", *(["netns"] if prefix else [])]
    payload = {
        "code": code,
        "function": function,
        "args": args,
        "limits": {
            "timeout_s": limits.timeout_s,
            "cpu_s": int(limits.timeout_s) + 1,
            "memory_mb": limits.memory_mb,
        },
    }
    command = [*prefix, sys.executable, "-I", "-c", _BOOTSTRAP]
    with tempfile.TemporaryDirectory(prefix="introspect-check-") as tmp:
        work = Path(tmp)
        stdout_path, stderr_path = work / "stdout", work / "stderr"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=stderr,
                cwd=work,
                env={"LC_ALL": "C.UTF-8"},
                start_new_session=True,
            )
            try:
                # Startup (interpreter, namespace) is not the check's time: allow a fixed grace.
                proc.communicate(json.dumps(payload).encode(), timeout=limits.timeout_s + STARTUP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return SandboxOutcome(
                    "timeout", message="the check ran past its time limit", isolation=isolation
                )
        raw = stdout_path.read_bytes()[:_MAX_READ].decode("utf-8", "replace").strip()
        err = stderr_path.read_bytes()[:_MAX_READ].decode("utf-8", "replace")
    if proc.returncode != 0 or not raw:
        return _died(proc.returncode, err, isolation)
    try:
        data = json.loads(raw.splitlines()[-1])
    except json.JSONDecodeError:
        return SandboxOutcome("crash", message="the check wrote over its result channel", isolation=isolation)
    return SandboxOutcome(
        status=data["status"],
        value=data.get("value"),
        message=data.get("message"),
        printed=data.get("printed", ""),
        isolation=isolation,
    )


def _died(returncode: int, stderr: str, isolation: list[str]) -> SandboxOutcome:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return SandboxOutcome("timeout", message="the check ran past its time limit", isolation=isolation)
    if "MemoryError" in stderr or returncode == -signal.SIGSEGV:
        return SandboxOutcome("memory", message="the check ran out of memory", isolation=isolation)
    tail = stderr.strip().splitlines()[-1:] or [f"exit status {returncode}"]
    return SandboxOutcome("crash", message=f"the check crashed: {tail[0]}", isolation=isolation)
