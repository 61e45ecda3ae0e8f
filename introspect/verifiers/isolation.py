"""The OS boundary around a python check: a bubblewrap (``bwrap``) command line, and whether it works here.

Why bubblewrap: it is a small, audited, unprivileged sandbox (Flatpak's), a Debian/Ubuntu package,
and it builds exactly what a check needs from Linux namespaces in one exec — no daemon, no image, no
cgroup delegation: a new mount namespace whose root is an empty tmpfs holding only read-only binds of
the Python runtime and the shared libraries, a private ``/tmp`` (bounded tmpfs, also the working
directory), a private ``/proc`` and minimal ``/dev``, new pid, network, ipc and uts namespaces (no
network at all: not even a loopback that is up), an empty environment, a new session (no terminal
injection), ``PR_SET_NO_NEW_PRIVS``, no capabilities, the check as its pid namespace's init (all it
started dies with it), and death of the whole sandbox with its parent.
Nothing of the worker is in there: not ``/work`` or ``/app``, not ``/root``, not ``/etc``, not the
worker's processes (``/proc/<worker pid>/environ`` does not exist for it), not its descriptors.

Two ways to run it:

* worker running as root: bwrap (root, no user namespace) keeps only CAP_SETUID/CAP_SETGID for the
  child, whose first act (before it reads the check) is to drop to an unprivileged uid/gid
  (``nobody``) — a real uid change on the host, not only inside a namespace;
* worker not root (the Docker image runs as uid 10001): an unprivileged user namespace in which the
  check is uid/gid 65534 with no capabilities; the kernel must allow unprivileged user namespaces.

Whether the chosen command works is probed once per process by running it on a trivial program.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Library directories the interpreter and its extension modules load from (bound read-only).
_LIBRARY_DIRS = ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32")
SANDBOX_TMP_MB = 16
UNPRIVILEGED_ID = 65534


@dataclass(frozen=True)
class Runtime:
    """The interpreter a check runs on: the base installation under a virtualenv (the venv itself,
    with the service's packages, is not bound: checks get the standard library only)."""

    executable: str
    prefix: str


def python_runtime() -> Runtime:
    prefix = os.path.realpath(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(prefix) / "bin" / version, Path(prefix) / "bin" / "python3"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return Runtime(str(candidate), prefix)
    return Runtime(os.path.realpath(sys.executable), prefix)


@dataclass(frozen=True)
class Isolation:
    """A way to start a check: ``command`` is the prefix before the interpreter's own arguments;
    ``drop_to`` is the uid/gid the check must switch to first (root workers), else None."""

    kind: str  # "bwrap-root", "bwrap-userns" or "none"
    command: tuple[str, ...]
    executable: str
    drop_to: int | None


def _ro_bind(path: str) -> list[str]:
    """Bind ``path`` read-only, its parent directories made traversable first: bwrap creates missing
    parents as root with mode 0700, so the dropped uid could not reach the stdlib under them."""
    args: list[str] = []
    for parent in reversed(Path(path).parents[:-1]):
        args += ["--perms", "0755", "--dir", str(parent)]
    return [*args, "--ro-bind", path, path]


def _library_args() -> list[str]:
    args: list[str] = []
    for path in _LIBRARY_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += _ro_bind(path)
    return args


def bwrap_isolation(bwrap: str, uid: int, as_root: bool | None = None) -> Isolation:
    """The bubblewrap command for this machine (not yet probed)."""
    runtime = python_runtime()
    as_root = os.geteuid() == 0 if as_root is None else as_root
    if as_root:
        # No user namespace: the child drops to ``uid`` itself with the two capabilities it keeps.
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        namespaces.append("--unshare-cgroup-try")
        identity = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        namespaces = ["--unshare-all", "--unshare-user"]
        identity = ["--uid", str(UNPRIVILEGED_ID), "--gid", str(UNPRIVILEGED_ID), "--cap-drop", "ALL"]
    command = [
        bwrap,
        *namespaces,
        *identity,
        # The check is the pid namespace's init: when it exits the kernel kills every process left in
        # the namespace before bwrap sees it exit (bwrap's own init would report the exit first).
        "--as-pid-1",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv", "LC_ALL", "C.UTF-8",
        *_ro_bind(runtime.prefix),
        *_library_args(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--perms", "1777", "--size", str(SANDBOX_TMP_MB * 1024 * 1024), "--tmpfs", "/tmp",
        "--chdir", "/tmp",
    ]  # fmt: skip
    return Isolation(
        kind="bwrap-root" if as_root else "bwrap-userns",
        command=tuple(command),
        executable=runtime.executable,
        drop_to=uid if as_root else None,
    )


def unisolated() -> Isolation:
    """The operator's unsafe opt-in: the worker's own interpreter, its user, rlimits only."""
    return Isolation(kind="none", command=(), executable=python_runtime().executable, drop_to=None)


class IsolationUnavailable(RuntimeError):
    pass


@lru_cache(maxsize=8)
def probe(bwrap: str, uid: int) -> Isolation:
    """The working bubblewrap isolation, or IsolationUnavailable saying why there is none."""
    if not sys.platform.startswith("linux"):
        raise IsolationUnavailable("bubblewrap needs Linux")
    path = shutil.which(bwrap)
    if path is None:
        raise IsolationUnavailable(f"{bwrap!r} (bubblewrap) is not installed")
    isolation = bwrap_isolation(path, uid)
    drop = isolation.drop_to or UNPRIVILEGED_ID
    program = (
        f"import os\nif os.getuid() == 0:\n os.setgroups([]); os.setgid({drop}); os.setuid({drop})\n"
        "print(os.getuid())"
    )
    try:
        done = subprocess.run(
            [*isolation.command, isolation.executable, "-I", "-S", "-c", program],
            capture_output=True,
            timeout=30,
            check=False,
            env={},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise IsolationUnavailable(f"bubblewrap could not start: {exc}") from exc
    if done.returncode != 0 or done.stdout.strip() != str(drop).encode():
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise IsolationUnavailable(
            f"bubblewrap cannot create its namespaces here: {(reason or [f'exit {done.returncode}'])[0]}"
        )
    return isolation
