"""Local model throughput: the lock (one call at a time) vs continuous batching, side by side.

Runs the self-critique graph (generate -> score -> verify -> critique -> gate -> revise ...) on word
problems with the local model, jobs run by a pool of ``concurrency`` threads as a worker runs them
(LangGraph's in-memory checkpointer and recorder, so the model is nearly all of a job's time). For
each model and each concurrency (1, 4, 8 by default) the same jobs run twice, alternately: through
``LocalModel(batching=None)`` (``model.generate`` behind the lock, as before issue 20) and through
the batcher; both share one copy of the weights. Greedy decoding, so both sides do the same work.

Per side: jobs/s, generated tokens/s, p50/p95 job latency (a job's run time in its thread), CPU
seconds per job (all threads of this process), the peak RSS growth while the side ran, and the
batcher's mean/max rows per decoding step. ``cpu_ratio`` (lock / batching CPU per job) is what the
throughput ratio would be with the cores to ourselves; on a machine shared with other busy processes
wall-clock ratios drift with their load, so read both. Per model:
``stats_max_diff``, the largest difference in any token-statistics field between requests run
alone and the same requests run together (target <= 1e-4), and ``same_outputs`` (every job's final
answer equal on both sides). Ratios batching / lock side by side.

Targets (issue 20, 2 CPU cores): at concurrency 8, throughput >= 3x the lock's for SmolLM2-135M-
Instruct, p95 latency no worse. The machine may be shared: the JSON line carries the load average
before and after. Ends with one JSON line.

    nice -n 10 python bench/local_batching.py --model-path /work/cache/smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from introspect.config import Settings  # noqa: E402
from introspect.models.batching import BatchSettings  # noqa: E402
from introspect.models.chat import LocalChatModel  # noqa: E402
from introspect.models.demo import make_problems, model_path  # noqa: E402
from introspect.models.local import LocalModel  # noqa: E402
from introspect.runner import GRAPHS, RunnerDeps, parse_job  # noqa: E402
from introspect.runner.assemble import build_context, initial_input  # noqa: E402
from introspect.runner.memory import MemoryRecorder  # noqa: E402

STATS_FIELDS = ("logprob", "entropy", "varentropy", "self_certainty", "margin", "top1_logprob")


class CountingModel:
    """The provider's view of one LocalModel, counting the tokens it generates."""

    def __init__(self, model: LocalModel) -> None:
        self.model = model
        self.tokens = 0
        self._lock = threading.Lock()
        generate = model.generate

        def counted(*args: Any, **kwargs: Any) -> Any:
            out = generate(*args, **kwargs)
            with self._lock:
                self.tokens += sum(g.completion_tokens for g in out)
            return out

        model.generate = counted  # type: ignore[method-assign]

    def chat_model(self, name: str) -> LocalChatModel:
        return LocalChatModel(local_model=self.model)

    def scorer(self) -> LocalModel:
        return self.model


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Peak resident memory while the block runs (sampled every 5 ms), minus what it was before."""

    def __enter__(self) -> PeakRss:
        self.base = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return round((self.peak - self.base) / 2**20, 1)


def run_jobs(
    provider: CountingModel, jobs: Sequence[dict[str, Any]], config: dict[str, Any], concurrency: int
) -> dict[str, Any]:
    settings = Settings()
    deps = RunnerDeps(None, InMemorySaver(), provider, settings)  # type: ignore[arg-type]
    entry = GRAPHS["self_critique"]
    graph = entry.compiled(deps.checkpointer)
    answers: list[str | None] = [None] * len(jobs)

    def one(i: int) -> float:
        spec = parse_job("self_critique", jobs[i], config, settings)
        started = time.perf_counter()
        out = graph.invoke(
            initial_input(spec),
            entry.run_config(f"bench-{uuid.uuid4()}"),
            context=build_context(spec, deps, MemoryRecorder()),
            durability="exit",
        )
        answers[i] = str((out.get("result") or {}).get("final_answer"))
        return time.perf_counter() - started

    batcher = provider.model.batcher
    if batcher is not None:
        batcher.steps = batcher.row_steps = batcher.max_rows = 0
    provider.tokens = 0
    with PeakRss() as memory, ThreadPoolExecutor(concurrency) as pool:
        started, cpu_started = time.perf_counter(), time.process_time()
        latencies = list(pool.map(one, range(len(jobs))))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    result: dict[str, Any] = {
        "jobs_per_s": round(len(jobs) / wall, 3),
        "tokens_per_s": round(provider.tokens / wall, 1),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(float(np.percentile(latencies, 95)), 3),
        "peak_rss_growth_mb": memory.growth_mb,
        "cpu_s_per_job": round(cpu / len(jobs), 3),
        "tokens": provider.tokens,
        "wall_s": round(wall, 2),
    }
    if batcher is not None and batcher.steps:
        result["mean_rows"] = round(batcher.row_steps / batcher.steps, 2)
        result["max_rows"] = batcher.max_rows
    result["_answers"] = answers
    return result


def stats_max_diff(model: LocalModel, questions: Sequence[str], max_new_tokens: int) -> float:
    """Largest |difference| in any statistics field: each request alone vs all of them together,
    mixed temperatures (greedy, sampled, Best-of-3)."""
    specs: list[dict[str, Any]] = [
        {"temperature": 0.0},
        {"temperature": 0.8, "seed": 1},
        {"temperature": 1.2, "seed": 2, "n": 3},
        {"temperature": 0.0},
    ]
    calls: list[Callable[[], Any]] = [
        lambda q=q, s=s: model.generate([{"role": "user", "content": q}], max_new_tokens=max_new_tokens, **s)
        for q, s in zip(questions, specs, strict=False)
    ]
    alone = [call() for call in calls]
    barrier = threading.Barrier(len(calls))

    def together(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        batched = list(pool.map(together, calls))
    worst = 0.0
    for one, many in zip(alone, batched, strict=True):
        for a, b in zip(one, many, strict=True):
            if a.token_ids != b.token_ids:
                return float("inf")
            for field in (*STATS_FIELDS, "top_logprobs"):
                x, y = getattr(a.stats, field), getattr(b.stats, field)
                finite = np.isfinite(x) & np.isfinite(y)
                if not np.array_equal(np.isfinite(x), np.isfinite(y)):
                    return float("inf")
                if finite.any():
                    worst = max(worst, float(np.max(np.abs(x[finite] - y[finite]))))
    return worst


def bench_model(
    path: Path, label: str, jobs: int, concurrencies: Sequence[int], max_tokens: int, batch: BatchSettings
) -> dict[str, Any]:
    batched = LocalModel.from_pretrained(path, device="cpu", dtype="float32", name=label, batching=batch)
    locked = LocalModel(batched.model, batched.tokenizer, name=label, batching=None)
    problems = make_problems(jobs, seed=20)
    tasks = [{"prompt": p.question, "reference": str(p.answer), "verifier": "numeric"} for p in problems]
    # No database here: the gate runs on its default policy, not a stored per-model profile.
    config = {"max_tokens": max_tokens, "max_turns": 2, "gate_profile": False}
    sides = {"lock": CountingModel(locked), "batching": CountingModel(batched)}
    for provider in sides.values():  # warm-up: first-call costs out of the timings
        run_jobs(provider, tasks[:2], config, 2)
    out: dict[str, Any] = {"model": label, "jobs": jobs, "max_tokens": max_tokens, "by_concurrency": {}}
    same = True
    for c in concurrencies:
        row: dict[str, Any] = {}
        order = ("lock", "batching") if c % 2 else ("batching", "lock")  # alternate who goes first
        for side in order:
            row[side] = run_jobs(sides[side], tasks, config, c)
            print(f"{label} c={c} {side}: {row[side]['jobs_per_s']} jobs/s", file=sys.stderr, flush=True)
        same = same and row["lock"].pop("_answers") == row["batching"].pop("_answers")
        row["throughput_ratio"] = round(row["batching"]["jobs_per_s"] / row["lock"]["jobs_per_s"], 2)
        row["tokens_per_s_ratio"] = round(row["batching"]["tokens_per_s"] / row["lock"]["tokens_per_s"], 2)
        # CPU seconds per job, lock / batching: what the throughput ratio is on a machine of
        # our own (this process's cores busy), and far less noisy than wall time on a shared one.
        row["cpu_ratio"] = round(row["lock"]["cpu_s_per_job"] / row["batching"]["cpu_s_per_job"], 2)
        row["p95_ratio"] = round(row["batching"]["p95_s"] / row["lock"]["p95_s"], 2)
        out["by_concurrency"][str(c)] = row
    out["same_outputs"] = same
    out["stats_max_diff"] = stats_max_diff(batched, [t["prompt"] for t in tasks[:4]], max_tokens)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-path", type=Path, action="append", default=[], help="extra model dirs")
    parser.add_argument("--no-demo", action="store_true", help="skip the bundled demo model")
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--demo-jobs", type=int, default=32)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--max-batch-size", type=int, default=BatchSettings().max_batch_size)
    parser.add_argument("--max-wait-ms", type=float, default=BatchSettings().max_wait_s * 1000)
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="intra-op threads (default: torch's). On a machine shared with other busy processes, "
        "use 1: OpenMP teams of 2+ threads stall at every barrier when a member is descheduled",
    )
    args = parser.parse_args()
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    batch = BatchSettings(args.max_batch_size, args.max_wait_ms / 1000)
    load_before = os.getloadavg()
    models: list[dict[str, Any]] = []
    if not args.no_demo:
        demo = Path(model_path())
        models.append(bench_model(demo, "demo", args.demo_jobs, args.concurrency, args.max_tokens, batch))
    for path in args.model_path:
        models.append(bench_model(path, path.name, args.jobs, args.concurrency, args.max_tokens, batch))
    top = str(max(args.concurrency))

    def at_top(key: str) -> dict[str, Any]:
        return {m["model"]: m["by_concurrency"][top][key] for m in models}

    summary = {
        "bench": "local_batching",
        "device": "cpu",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "max_batch_size": batch.max_batch_size,
        "max_wait_ms": args.max_wait_ms,
        f"throughput_ratio_at_{top}": at_top("throughput_ratio"),
        f"cpu_ratio_at_{top}": at_top("cpu_ratio"),
        f"p95_ratio_at_{top}": at_top("p95_ratio"),
        "models": models,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
