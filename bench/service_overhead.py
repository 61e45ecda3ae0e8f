"""Service overhead: API → queue → worker → graph → Postgres vs a bare LangGraph invoke.

Both sides run the same self-critique graph on the same instant scripted model (two turns per job:
a wrong answer, then the right one), side by side in one run on throwaway Postgres and Redis:

* bare: ``graph.invoke`` with LangGraph's Postgres checkpointer (durability "sync"), the service's
  run config for the graph (``GraphEntry.run_config``: its thread-pool size) and an in-memory
  recorder — what LangGraph alone costs per turn;
* service (sequential): POST /v1/jobs to the API (its own uvicorn process, as deployed), one
  ``introspect worker`` process (wake-up list + arq, leases, fenced writes of turns, events,
  rewards), follow the job's SSE stream to ``succeeded`` — the per-turn cost a user sees;
* service (throughput): 50 concurrent clients against one worker process → jobs/s and turns/s;
  then the same against one worker running one process per core (``introspect worker --processes``).

Targets (issue 6): overhead ratio (service per-turn / bare per-turn) <= 2.0; >= 100 turns/s per worker.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from introspect.config import Settings  # noqa: E402
from introspect.runner import GRAPHS, RunnerDeps, make_checkpointer, parse_job  # noqa: E402
from introspect.runner.assemble import build_context, initial_input  # noqa: E402
from introspect.runner.memory import MemoryRecorder  # noqa: E402
from introspect.store.engine import make_engine, make_session_factory  # noqa: E402
from introspect.testing.databases import clone_postgres_database, create_postgres_template  # noqa: E402
from introspect.testing.scripted_models import SCRIPT_ENV, Script, ScriptedProvider  # noqa: E402
from introspect.testing.servers import free_port, start_postgres, start_redis  # noqa: E402

JOB_INPUT = {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"}
SCRIPT = Script(answers=["The answer is 41.", "The answer is 42."])
TURNS_PER_JOB = 2


def cpu_seconds_by_pid(pids: list[int]) -> dict[int, float]:
    """user + system CPU seconds of each live process, from /proc (empty where there is none)."""
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited (a closed database connection) or no /proc
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def postgres_pids(data_dir: Path) -> list[int]:
    """The postmaster and its backends: where the database's share of the CPU goes."""
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except (OSError, ValueError, IndexError):
        return []
    return [postmaster, *(int(p) for p in children)]


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def bare_per_turn(db_url: str, runs: int) -> tuple[float, float]:
    """(median wall seconds per turn, median CPU seconds of this process per job)."""
    settings = Settings(database_url=db_url)
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    spec = parse_job("self_critique", JOB_INPUT, {}, settings)
    with make_checkpointer(db_url) as checkpointer:
        deps = RunnerDeps(factory, checkpointer, ScriptedProvider(SCRIPT), settings)
        entry = GRAPHS["self_critique"]
        graph = entry.load().compile(checkpointer=checkpointer)
        timings, cpu = [], []
        for i in range(runs + 3):
            context = build_context(spec, deps, MemoryRecorder())
            # The service's own run config (thread pool size included): both sides run LangGraph
            # the same way, so the ratio is what the service adds.
            config: Any = entry.run_config(f"bare-{uuid.uuid4()}")
            started, cpu_started = time.perf_counter(), time.process_time()
            graph.invoke(initial_input(spec), config, context=context, durability="sync")
            if i >= 3:  # warm-up runs excluded
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
    engine.dispose()
    return statistics.median(timings) / TURNS_PER_JOB, statistics.median(cpu)


def service_env(db_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment a service process (worker or API) of this bench starts with."""
    env = dict(os.environ)
    env.update(
        {
            "INTROSPECT_DATABASE_URL": db_url,
            "INTROSPECT_REDIS_URL": redis_url,
            "INTROSPECT_LOG_LEVEL": "WARNING",
            **settings,
        }
    )
    return env


def start_worker(
    db_url: str, redis_url: str, concurrency: int, processes: int = 1
) -> subprocess.Popen[bytes]:
    env = service_env(
        db_url,
        redis_url,
        INTROSPECT_WORKER_CONCURRENCY=str(concurrency),
        INTROSPECT_WORKER_PROCESSES=str(processes),
        **{SCRIPT_ENV: SCRIPT.to_env()},
    )
    return subprocess.Popen([sys.executable, "-m", "introspect.testing.scripted_worker"], cwd=ROOT, env=env)


def start_api(db_url: str, redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """The API in its own process, as deployed (``uvicorn`` on the app factory): in a thread of this
    process it would share one GIL with the 50 client threads measuring it."""
    port = free_port()
    env = service_env(db_url, redis_url, INTROSPECT_RATE_LIMIT_PER_MINUTE=str(10**9))
    command = [sys.executable, "-m", "uvicorn", "introspect.api.app:create_app", "--factory"]
    api = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and api.poll() is None:
        try:
            if httpx.get(f"{base}/v1/healthz", timeout=1).status_code == 200:
                return api, base
        except httpx.HTTPError:
            time.sleep(0.1)
    api.kill()
    raise RuntimeError("the API did not start")


def run_job(http: httpx.Client) -> float:
    """Seconds from POST to the terminal status event, followed the way a client would: over SSE
    (a tight GET poll would mostly measure the poller's own load on a 2-core machine)."""
    started = time.perf_counter()
    job = http.post("/v1/jobs", json={"graph": "self_critique", "input": JOB_INPUT}).json()
    event, final = "", None
    with http.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event == "status":
                final = json.loads(line.removeprefix("data:"))["status"]
                if final in ("succeeded", "failed", "cancelled"):
                    break
    elapsed = time.perf_counter() - started
    status = http.get(f"/v1/jobs/{job['id']}").json()
    if status["status"] != "succeeded" or status["turn_count"] != TURNS_PER_JOB:
        raise RuntimeError(f"unexpected job outcome: {status} (last event: {final})")
    return elapsed


def submit(http: httpx.Client) -> None:
    response = http.post("/v1/jobs", json={"graph": "self_critique", "input": JOB_INPUT})
    response.raise_for_status()


def worker_pids(worker: subprocess.Popen[bytes]) -> list[int]:
    """The worker and, with --processes, its children."""
    try:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    except OSError:
        children = []
    return [worker.pid, *(int(p) for p in children)]


def throughput(
    http: httpx.Client,
    engine: Any,
    processes: dict[str, subprocess.Popen[bytes]],
    pg_dir: Path,
    jobs: int,
    clients: int,
) -> dict[str, float]:
    """``jobs`` jobs from ``clients`` concurrent clients: jobs/s and the CPU each process group spent.

    Completion is watched in the database, not by 50 pollers, so the API's time goes to the requests
    being measured."""
    with engine.connect() as conn:
        done_before = conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()
    pids = {name: worker_pids(process) for name, process in processes.items()}
    pids["postgres"] = postgres_pids(pg_dir)
    cpu_before = {name: cpu_seconds_by_pid(p) for name, p in pids.items()}
    started, clients_cpu_started = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(lambda _: submit(http), range(jobs)))
    wait_all_succeeded(engine, done_before + jobs)
    elapsed = time.perf_counter() - started
    clients_cpu = time.process_time() - clients_cpu_started
    pids["postgres"] = postgres_pids(pg_dir)
    cpu = {name: cpu_used(cpu_before[name], cpu_seconds_by_pid(p)) for name, p in pids.items()}
    return {
        "jobs_per_s": jobs / elapsed,
        "worker_cpu_ms_per_job": cpu["worker"] * 1000 / jobs,
        "postgres_cpu_ms_per_job": cpu["postgres"] * 1000 / jobs,
        "api_cpu_ms_per_job": cpu["api"] * 1000 / jobs,
        "clients_cpu_ms_per_job": clients_cpu * 1000 / jobs,
    }


def wait_all_succeeded(engine: Any, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    query = text("SELECT count(*) FROM jobs WHERE status IN ('succeeded', 'failed')")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() >= total:
                return
        time.sleep(0.02)
    raise RuntimeError("jobs did not finish in time")


def stop(worker: subprocess.Popen[bytes] | None) -> None:
    if worker is not None and worker.poll() is None:
        worker.terminate()
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=60, help="sequential jobs per side")
    parser.add_argument("--jobs", type=int, default=600, help="jobs in each throughput phase")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients in the throughput phase")
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=Settings().worker_concurrency,
        help="jobs each worker process runs at once (default: the service's own default)",
    )
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes of the one worker in the second throughput phase (default: one per core)",
    )
    args = parser.parse_args()

    pg = start_postgres()
    redis_server = start_redis()
    worker: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None
    try:
        create_postgres_template(pg)
        bare, bare_cpu = bare_per_turn(clone_postgres_database(pg), args.runs)

        db_url = clone_postgres_database(pg)
        worker = start_worker(db_url, redis_server.url, args.worker_concurrency)
        api, base = start_api(db_url, redis_server.url)
        engine = make_engine(db_url)
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(3):
                run_job(http)  # warm-up: worker start, connections, first graph compile
            sequential = [run_job(http) for _ in range(args.runs)]
            service = statistics.median(sequential) / TURNS_PER_JOB
            one_process = throughput(
                http, engine, {"worker": worker, "api": api}, pg.data_dir, args.jobs, args.clients
            )

            # The same worker command with one process per core (``introspect worker --processes``).
            stop(worker)
            worker = start_worker(db_url, redis_server.url, args.worker_concurrency, args.worker_processes)
            for _ in range(3):
                run_job(http)  # warm-up of the new processes
            processes = throughput(
                http, engine, {"worker": worker, "api": api}, pg.data_dir, args.jobs, args.clients
            )
        engine.dispose()
    finally:
        stop(worker)
        stop(api)
        redis_server.stop()
        pg.stop()

    def rounded(figures: dict[str, float], suffix: str = "") -> dict[str, float]:
        out = {f"throughput_jobs_per_s{suffix}": round(figures["jobs_per_s"], 1)}
        out[f"throughput_turns_per_s{suffix}"] = round(figures["jobs_per_s"] * TURNS_PER_JOB, 1)
        for name in ("worker", "postgres", "api", "clients"):
            name = f"{name}_cpu_ms_per_job"
            out[f"{name}{suffix}"] = round(figures[name], 2)
        return out

    figures = {
        "bench": "service_overhead",
        "bare_ms_per_turn": round(bare * 1000, 2),
        "service_ms_per_turn": round(service * 1000, 2),
        "overhead_ratio": round(service / bare, 2),
        "clients": args.clients,
        "worker_concurrency": args.worker_concurrency,
        # One worker process, then one worker with --processes: on a 2-core machine the CPU per job
        # (worker, Postgres, API and clients) bounds jobs/s whatever the queue does.
        **rounded(one_process),
        "worker_processes": args.worker_processes,
        **rounded(processes, "_processes"),
        "bare_cpu_ms_per_job": round(bare_cpu * 1000, 2),
        "cpus": os.cpu_count(),
        "targets": {"overhead_ratio_max": 2.0, "turns_per_s_min": 100},
    }
    print(f"bare LangGraph + Postgres checkpointer: {figures['bare_ms_per_turn']} ms/turn")
    print(f"API → arq → worker → graph → Postgres:  {figures['service_ms_per_turn']} ms/turn")
    print(f"overhead ratio: {figures['overhead_ratio']}")
    print(
        f"throughput at {args.clients} clients, one worker process: "
        f"{figures['throughput_jobs_per_s']} jobs/s, {figures['throughput_turns_per_s']} turns/s"
    )
    print(
        f"throughput at {args.clients} clients, one worker of {args.worker_processes} processes: "
        f"{figures['throughput_jobs_per_s_processes']} jobs/s, "
        f"{figures['throughput_turns_per_s_processes']} turns/s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
