"""Export throughput: 200k synthetic turns in a throwaway Postgres, exported as ``rise`` and ``raw``.

Reports turns/s and rows/s per format and the peak RSS growth of the exporting process (each export
runs in a fresh subprocess: the baseline is taken after imports and connecting, the peak is the
kernel's high-water mark of the export). Targets: >= 20k turns/s, RSS growth < 100 MB. On a shared
machine wall time depends on the neighbours, so the CPU seconds of the exporter and of its Postgres
backend are reported too (turns per CPU-second), with the load average.

The data looks like the self-critique graph's: 1-4 attempts per task with a critique turn between
them, Best-of-4 siblings on some first attempts, verifications, attempt/outcome rewards and a few
human labels; loaded with COPY so that generating it takes seconds. Ends with one JSON line.

    python bench/export_throughput.py [--turns 200000] [--formats rise raw]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FEEDBACK = "The answer is incorrect. Please try again."
TARGET_TURNS_PER_S = 20_000
TARGET_RSS_MB = 100.0

_TRAJ_COLS = (
    "id, graph, task_prompt, task_messages, task_hash, reference, final_answer, stop_reason, outcome_reward, "
    "success, models, total_tokens, total_latency_ms, metadata, created_at, finished_at"
)
_TURN_COLS = (
    "id, trajectory_id, index, phase, attempt, messages, output, answer, model, stats, decision, "
    "decision_action, sibling_group, selected, latency_ms, prompt_tokens, completion_tokens, lease_version, "
    "created_at"
)
_VERIFICATION_COLS = "id, turn_id, trajectory_id, verifier, passed, message, details, created_at"
_REWARD_COLS = "id, trajectory_id, turn_id, kind, value, label, comment, source, created_at"


def _stats(rng: random.Random) -> str:
    keys = ("mean_self_certainty", "gnll", "mean_nll", "min_logprob", "mean_entropy", "mean_varentropy")
    return json.dumps({k: round(rng.uniform(0, 5), 4) for k in keys} | {"tokens": rng.randint(10, 60)})


def _decision(rng: random.Random, action: str) -> str:
    inputs = {"self_certainty": round(rng.uniform(0, 5), 3), "entropy": round(rng.uniform(0, 3), 3)}
    return json.dumps(
        {"action": action, "reason": "verifier", "inputs": inputs, "thresholds": {"self_certainty": 2.0}}
    )


def synthesize(target_turns: int, seed: int = 0) -> dict[str, list[tuple[Any, ...]]]:
    """Rows per table (COPY order) until ``target_turns`` turns exist."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows: dict[str, list[tuple[Any, ...]]] = {
        "trajectories": [],
        "turns": [],
        "verifications": [],
        "rewards": [],
    }
    n_turns, n = 0, 0
    while n_turns < target_turns:
        a, b = rng.randint(2, 999), rng.randint(2, 99)
        question = f"A shop sold {a} apples on Monday and {b} on Tuesday. How many in total?"
        tid, created = uuid.uuid4(), start + timedelta(seconds=n)
        task = [{"role": "user", "content": question}]
        state: list[dict[str, str]] = list(task)
        budget = rng.choice((1, 2, 3, 4))
        best_of = 4 if rng.random() < 0.15 else 1
        index, success, final_output = 0, False, ""
        for attempt in range(budget):
            last = attempt == budget - 1
            group = 0 if best_of > 1 and attempt == 0 else None
            outcomes = [rng.random() < 0.35 for _ in range(best_of if group is not None else 1)]
            chosen = outcomes.index(True) if True in outcomes else 0
            for m, correct in enumerate(outcomes):
                value = a + b if correct else a + b + rng.randint(1, 20)
                output = f"{a} + {b} = {value}. The answer is {value}."
                turn_id = uuid.uuid4()
                action = "stop" if correct or last else "revise"
                phase = "generate" if attempt == 0 else "revise"
                selected = (m == chosen) if group is not None else None
                rows["turns"].append(
                    (turn_id, tid, index, phase, attempt, json.dumps(state), output, str(value), "demo",
                     _stats(rng), _decision(rng, action), action, group, selected, rng.uniform(5, 50),
                     40 + 20 * attempt, 20, 1, created)
                )  # fmt: skip
                index += 1
                message = None if correct else f"expected {a + b}"
                rows["verifications"].append(
                    (uuid.uuid4(), turn_id, tid, "numeric", correct, message, "{}", created)
                )
                rows["rewards"].append(
                    (uuid.uuid4(), tid, turn_id, "attempt", float(correct), None, None, "verifier", created)
                )
                if m == chosen:
                    success, final_output = correct, output
                    if rng.random() < 0.02:  # a few admin labels, recorded later
                        label = (uuid.uuid4(), tid, turn_id, "human", 1.0, True, "checked", "admin", created)
                        rows["rewards"].append(label)
            if success or last:
                break
            rows["turns"].append(
                (uuid.uuid4(), tid, index, "critique", None, "[]", FEEDBACK, None, "verifier_feedback",
                 None, None, None, None, None, 1.0, None, None, 1, created)
            )  # fmt: skip
            index += 1
            state = [
                *state,
                {"role": "assistant", "content": final_output},
                {"role": "user", "content": FEEDBACK},
            ]
        digest = hashlib.sha256(json.dumps({"prompt": question, "messages": task}, sort_keys=True).encode())
        rows["trajectories"].append(
            (tid, "self_critique", question, json.dumps(task), digest.hexdigest(), str(a + b), final_output,
             "verified" if success else "budget", float(success), success, '["demo"]', 60 * index,
             30.0 * index, "{}", created, created + timedelta(seconds=1))
        )  # fmt: skip
        outcome = (uuid.uuid4(), tid, None, "outcome", float(success), None, None, "verifier", created)
        rows["rewards"].append(outcome)
        n_turns += index
        n += 1
    return rows


def load(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    import psycopg

    columns = {
        "trajectories": _TRAJ_COLS,
        "turns": _TURN_COLS,
        "verifications": _VERIFICATION_COLS,
        "rewards": _REWARD_COLS,
    }
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for table, table_rows in rows.items():  # parents first: foreign keys hold at every step
            with cur.copy(f"COPY {table} ({columns[table]}) FROM STDIN") as copy:
                for row in table_rows:
                    copy.write_row(row)
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (the Postgres backend serving the export)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, fmt: str, out_dir: str) -> dict[str, Any]:
    """One export in this (fresh) process: time, rows and peak RSS growth over the pre-export RSS.

    The peak is the kernel's high-water mark (VmHWM), reset just before the export starts, so
    neither the imports nor the parent process (ru_maxrss survives exec) count.
    """
    from introspect.export import export_to_file
    from introspect.store.engine import make_engine, make_session_factory

    engine = make_engine(url, pool_size=1, max_overflow=0)  # the export reuses this one backend
    factory = make_session_factory(engine)
    with engine.connect() as connection:
        backend = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    baseline = _status_kib("VmRSS")
    server_cpu, client_cpu = _cpu_seconds(backend), time.process_time()
    started = time.perf_counter()
    manifest = export_to_file(factory, fmt, Path(out_dir) / f"{fmt}.jsonl")
    seconds = time.perf_counter() - started
    client_cpu, server_cpu = time.process_time() - client_cpu, _cpu_seconds(backend) - server_cpu
    peak = _status_kib("VmHWM")
    engine.dispose()
    turns = manifest.stats["turns"]
    return {
        "rows": manifest.row_count,
        "turns": turns,
        "trajectories": manifest.stats["trajectories"],
        "seconds": round(seconds, 3),
        "turns_per_s": round(turns / seconds),
        "rows_per_s": round(manifest.row_count / seconds),
        "rss_growth_mb": round(max(0, peak - baseline) / 1024, 1),
        "file_mb": round(manifest.bytes / 2**20, 1),
        # CPU actually spent, unlike wall time independent of what else runs on the machine.
        "cpu_s": {"exporter": round(client_cpu, 2), "postgres": round(server_cpu, 2)},
        "turns_per_cpu_s": round(turns / (client_cpu + server_cpu)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200_000)
    parser.add_argument("--formats", nargs="+", default=["rise", "raw"])
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run one export in a subprocess
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.url, args.measure, args.out_dir)))
        return

    from introspect.testing.databases import clone_postgres_database, create_postgres_template
    from introspect.testing.servers import start_postgres

    server = start_postgres()
    try:
        create_postgres_template(server)
        url = clone_postgres_database(server)
        started = time.perf_counter()
        rows = synthesize(args.turns)
        counts = {"trajectories": len(rows["trajectories"]), "turns": len(rows["turns"])}
        load(url, rows)
        del rows
        print(f"generated {counts} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        results: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="export-bench-") as out_dir:
            for fmt in args.formats:
                command = [sys.executable, __file__, "--measure", fmt, "--url", url, "--out-dir", out_dir]
                proc = subprocess.run(command, capture_output=True, text=True, check=True)
                results[fmt] = json.loads(proc.stdout.strip().splitlines()[-1])
                print(f"{fmt}: {results[fmt]}", file=sys.stderr)
    finally:
        server.stop()
    ok = all(
        r["turns_per_s"] >= TARGET_TURNS_PER_S and r["rss_growth_mb"] < TARGET_RSS_MB
        for r in results.values()
    )
    summary = {
        "bench": "export_throughput",
        "backend": "postgresql",
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        **counts,
        **results,
        "targets": {"turns_per_s": TARGET_TURNS_PER_S, "rss_growth_mb": TARGET_RSS_MB},
        "targets_met": ok,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
