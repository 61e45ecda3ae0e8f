"""The python verifier runs user code in a sandbox: no network, bounded time and memory."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from introspect.critics import RISE_FEEDBACK, CritiqueInput, VerifierFeedbackCritic
from introspect.verifiers import VerificationResult, VerificationTask, build_verifier
from introspect.verifiers.isolation import probe
from introspect.verifiers.sandbox import STARTUP_GRACE_S

TASK = VerificationTask(prompt="Write a palindrome.", reference="level")


def check(code: str, answer: str = "level", **options: object) -> VerificationResult:
    return build_verifier({"name": "python", "code": code, **options}).verify(answer, TASK)


@pytest.fixture
def listener() -> Iterator[int]:
    """A local TCP server that accepts connections: reachable from this process, not from checks."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_verdicts_and_feedback() -> None:
    assert check("def check(answer, reference):\n    return answer == answer[::-1]").passed is True
    failed = check("def check(answer, reference):\n    assert answer == 'x', 'not the word x'")
    assert failed.passed is False and failed.message == "not the word x"
    as_text = check("def check(answer, reference):\n    return 'too short'")
    assert as_text.passed is False and as_text.message == "too short"
    pair = check("def check(answer, reference):\n    return (answer == reference, 'differs')", answer="noon")
    assert pair.passed is False and pair.message == "differs"
    crashed = check("def check(answer, reference):\n    return 1 / 0")
    assert crashed.passed is False and "ZeroDivisionError" in crashed.message
    missing = check("x = 1")
    assert missing.passed is False and "KeyError" in missing.message
    # Its failure message becomes the next attempt's feedback, after RISE's fixed sentence.
    item = CritiqueInput("Write a palindrome.", "abc", verified=False, verifier_message=failed.message)
    assert VerifierFeedbackCritic().critique(item).feedback == f"{RISE_FEEDBACK} not the word x"


def test_prints_do_not_break_the_result_channel() -> None:
    noisy = check("def check(answer, reference):\n    print('x' * 100000)\n    return True")
    assert noisy.passed is True and len(noisy.details["printed"]) <= 2000


def test_network_is_unreachable(listener: int) -> None:
    # Control: the port is reachable from outside the sandbox.
    socket.create_connection(("127.0.0.1", listener), timeout=2).close()
    for code in (
        f"import socket\ndef check(a, r):\n    socket.create_connection(('127.0.0.1', {listener}))",
        f"import urllib.request as u\ndef check(a, r):\n    u.urlopen('http://127.0.0.1:{listener}/')",
        "import _socket\ndef check(a, r):\n    _socket.socket()",
        "import socket\ndef check(a, r):\n    socket.getaddrinfo('example.com', 80)",
        "import subprocess\ndef check(a, r):\n    subprocess.run(['true'])",
        "import os\ndef check(a, r):\n    os.system('true')",
        "import ctypes\ndef check(a, r):\n    return True",
    ):
        result = check(code)
        assert result.passed is False, code
        assert "not allowed" in result.message, (code, result.message)


def test_bubblewrap_alone_blocks_the_network(listener: int) -> None:
    """The boundary is the OS: without the audit hook, a program under the sandbox cannot connect."""
    isolation = probe("bwrap", 65534)
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {listener}), timeout=2)"
    command = [*isolation.command, isolation.executable, "-c", code]
    inside = subprocess.run(command, capture_output=True, timeout=30)
    outside = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert outside.returncode == 0
    assert inside.returncode != 0 and b"Error" in inside.stderr


@pytest.mark.parametrize(
    "body",
    [
        "    while True:\n        pass",  # interrupted by the interval timer
        "    return sum(range(10 ** 12))",  # one long C call: RLIMIT_CPU
        # The timer ignored: the parent's wall-clock kill.
        "    import signal, time\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    time.sleep(60)",
    ],
)
def test_time_limit(body: str) -> None:
    started = time.monotonic()
    result = check(f"def check(answer, reference):\n{body}", timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert result.passed is False
    assert "time limit" in result.message
    assert elapsed < 0.5 + STARTUP_GRACE_S + 1.5


def test_memory_limit() -> None:
    result = check(
        "def check(answer, reference):\n    blob = bytearray(1024 ** 3)\n    return True", memory_mb=128
    )
    assert result.passed is False and "memory" in result.message
    # The same check passes with room to spare: the limit, not the code, made it fail.
    small = check(
        "def check(answer, reference):\n    blob = bytearray(1024 ** 2)\n    return True", memory_mb=128
    )
    assert small.passed is True
