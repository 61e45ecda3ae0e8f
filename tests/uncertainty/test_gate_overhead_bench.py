"""bench/gate_overhead.py runs end to end (a few tokens) and prints one JSON line of coherent figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_run_prints_one_json_line_with_the_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gate_overhead.py"), "--new-tokens", "6", "--repeats", "1",
         "--threads", "1"],
        capture_output=True, text=True, timeout=300, check=True, cwd=ROOT,
    )  # fmt: skip
    lines = run.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["bench"] == "gate_overhead" and figures["new_tokens"] == 6
    assert figures["vocab"] == 32000 and figures["torch_threads"] == 1
    # output_logits keeps 6 rows of 32k floats; the collector its numbers plus two reused rows.
    assert figures["output_logits_bytes"] == 6 * 32000 * 4
    assert 2 * 32000 * 4 < figures["collector_bytes"] < 3 * 32000 * 4
    assert figures["memory_ratio"] == round(figures["output_logits_bytes"] / figures["collector_bytes"], 1)
    assert figures["time_ratio"] == figures["cpu_time_ratio"] > 0
    assert figures["time_basis"] == "process_cpu"  # on a CPU the headline is this process's CPU time
