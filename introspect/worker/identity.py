"""A worker's lease-owner name: host, pid and a random suffix (pids repeat across containers)."""

from __future__ import annotations

import os
import secrets
import socket


def worker_identity(kind: str = "worker") -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
