"""Start a throwaway PostgreSQL 15 cluster and redis-server on random ports.

PostgreSQL refuses to run as root, so when we are root the cluster is initialised and started as
the ``postgres`` system user (via ``runuser``) in a temp dir that user owns. Failures raise
``ServerStartError`` with the server's log: tests that need a server must fail loudly, never skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/pgsql/bin")


class ServerStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ServerStartError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql-15 "
        f"(looked in {', '.join(PG_BIN_CANDIDATES)} and PATH)"
    )


def _as_postgres_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass
class PostgresServer:
    port: int
    data_dir: Path
    bin_dir: Path
    user: str = "postgres"
    _root: Path = field(default_factory=Path)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"]
            ),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self._root, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start the same cluster (the 'Postgres restart loses nothing' promise)."""
        pg_ctl = str(self.bin_dir / "pg_ctl")
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(self.data_dir), "-m", "fast", "stop"]), check=True
        )
        _pg_start(self.bin_dir, self.data_dir, self.port, self._root)


def _pg_start(bin_dir: Path, data_dir: Path, port: int, root: Path) -> None:
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    log = root / "postgres.log"
    proc = subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l", str(log), "-w", "start"]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise ServerStartError(f"pg_ctl start failed: {proc.stderr.strip()}\n{tail}")


def start_postgres() -> PostgresServer:
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="introspect-pg-"))
    data_dir = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    os.chmod(root, 0o755)
    init = subprocess.run(
        _as_postgres_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise ServerStartError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    port = free_port()
    _pg_start(bin_dir, data_dir, port, root)
    return PostgresServer(port=port, data_dir=data_dir, bin_dir=bin_dir, _root=root)


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def start_redis(port: int | None = None) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerStartError("redis-server not found; install it (apt-get install -y redis-server)")
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(f"redis-server exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return RedisServer(port=port, process=proc)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise ServerStartError("redis-server did not answer PING within 10 s")
