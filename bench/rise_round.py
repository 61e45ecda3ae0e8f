"""One RISE round, measured: on-policy trajectories -> export -> train -> eval, base vs trained.

    nice -n 5 python bench/rise_round.py --base /path/to/model --workdir bench/results/rise_round

Stages, each a user-facing command run as a subprocess, each skipped when its output exists (so an
interrupted round continues where it stopped; every stage is itself resumable too):

1. ``data``: training problems (the reference task's train split + two-digit ``What is A + B?`` /
   ``What is A × B?``) and held-out problems of both kinds (the reference task's eval split; operand
   pairs never seen in training), as JSONL with references;
2. ``collect``: ``introspect run --dataset train.jsonl`` -- the base model's own attempts (on-policy)
   with the numeric verifier as the oracle, up to ``--turns`` turns each;
3. ``export``: ``introspect export --format rise --keep improved --tau T --batch <collect batch>``;
4. ``train``: ``introspect train --lora`` on that file;
5. ``eval``: ``introspect eval --model BASE --model TRAINED`` on each held-out set.

Prints the table of both models per held-out set and ends with one JSON line, with the issue's
targets checked: p1@t5 and m1@t5 at least 5 points above the base model's, turn-1 accuracy at most 2
points below, and the trained model's accuracy rising from turn 1 to the last turn.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from introspect.models.demo import make_problems, model_path  # noqa: E402


def arithmetic(n: int, seed: int, exclude: set[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    rng = random.Random(seed)
    out: list[tuple[int, str, int]] = []
    while len(out) < n:
        a, b, op = rng.randint(10, 99), rng.randint(10, 99), rng.choice("+×")
        if (a, op, b) in exclude:
            continue
        exclude.add((a, op, b))
        out.append((a, op, b))
    return out


def arithmetic_rows(triples: list[tuple[int, str, int]], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i}",
            "prompt": f"What is {a} {op} {b}?",
            "reference": str(a + b if op == "+" else a * b),
            "metadata": {"set": "arith"},
        }
        for i, (a, op, b) in enumerate(triples)
    ]


def task_rows(n: int, split: str, prefix: str) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "prompt": p.question, "reference": str(p.answer), "metadata": {"set": "task"}}
        for i, p in enumerate(make_problems(n, split=split))  # type: ignore[arg-type]
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def introspect(args: list[str], env: dict[str, str], log: Path) -> str:
    """Run an ``introspect`` command; its stdout is returned, stderr (progress bars) goes to ``log``."""
    command = [sys.executable, "-m", "introspect.cli.main", *args]
    print(f"$ introspect {' '.join(args)}", flush=True)
    with log.open("a") as err:
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=err, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"introspect {args[0]} failed ({done.returncode}); see {log}")
    return done.stdout


def last_json(stdout: str) -> dict[str, Any]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="demo", help="base model directory, or 'demo'")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "results" / "rise_round")
    parser.add_argument("--train-task", type=int, default=40, help="reference-task training problems")
    parser.add_argument("--train-arith", type=int, default=40, help="two-digit training problems")
    parser.add_argument("--held-task", type=int, default=30)
    parser.add_argument("--held-arith", type=int, default=30)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--tau", type=float, default=0.4)
    parser.add_argument("--keep", default="improved")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    base = str(model_path()) if args.base == "demo" else str(Path(args.base).resolve())
    log = work / "round.log"
    env = {
        **os.environ,
        "INTROSPECT_DATABASE_URL": f"sqlite:///{(work / 'round.db').resolve()}",
        "INTROSPECT_MODEL_PATH": base,
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
    }
    env.pop("INTROSPECT_REDIS_URL", None)
    seconds: dict[str, float] = {}

    # 1. data
    train_file, held_task, held_arith = (
        work / "train.jsonl",
        work / "held_task.jsonl",
        work / "held_arith.jsonl",
    )
    if not train_file.exists():
        seen: set[tuple[int, str, int]] = set()
        train_pairs = arithmetic(args.train_arith, args.seed, seen)
        held_pairs = arithmetic(args.held_arith, args.seed + 1, seen)  # never a training pair
        write_jsonl(held_task, task_rows(args.held_task, "eval", "ht"))
        write_jsonl(held_arith, arithmetic_rows(held_pairs, "ha"))
        write_jsonl(train_file, task_rows(args.train_task, "train", "t") + arithmetic_rows(train_pairs, "a"))

    # 2. collect: on-policy attempts with the verifier as the oracle
    collect_out = work / "collect.json"
    started = time.perf_counter()
    if not collect_out.exists():
        config = json.dumps({"max_tokens": args.max_tokens})
        out = introspect(
            [
                "run",
                "--dataset",
                str(train_file),
                "--name",
                "round-collect",
                "--max-turns",
                str(args.turns),
                "--config",
                config,
                "--concurrency",
                str(args.concurrency),
                "--json",
            ],
            env,
            log,
        )
        collect_out.write_text(json.dumps(last_json(out)) + "\n")
        seconds["collect"] = round(time.perf_counter() - started, 1)
    collected = json.loads(collect_out.read_text())

    # 3. export
    rise_file = work / "rise.jsonl"
    if not rise_file.exists():
        introspect(
            [
                "export",
                "--format",
                "rise",
                "--keep",
                args.keep,
                "--tau",
                str(args.tau),
                "--batch",
                "round-collect",
                "-o",
                str(rise_file),
            ],
            env,
            log,
        )
    rows = [json.loads(line) for line in rise_file.read_text().splitlines() if line.strip()]

    # 4. train
    trained = work / "trained"
    started = time.perf_counter()
    if not (trained / "introspect-train.json").exists():
        introspect(
            [
                "train",
                "--data",
                str(rise_file),
                "--base",
                base,
                "--out",
                str(trained),
                "--lora",
                "--lora-r",
                str(args.lora_r),
                "--steps",
                str(args.steps),
                "--lr",
                str(args.lr),
                "--batch-size",
                str(args.batch_size),
                "--max-length",
                str(args.max_length),
                "--seed",
                str(args.seed),
            ],
            env,
            log,
        )
        seconds["train"] = round(time.perf_counter() - started, 1)
    training = json.loads((trained / "introspect-train.json").read_text())

    # 5. eval, per held-out set
    evals: dict[str, Any] = {}
    for name, held in (("task", held_task), ("arith", held_arith)):
        out_dir = work / f"eval_{name}"
        started = time.perf_counter()
        if not (out_dir / "eval.json").exists():
            introspect(
                [
                    "eval",
                    "--model",
                    base,
                    "--model",
                    str(trained),
                    "--dataset",
                    str(held),
                    "--out",
                    str(out_dir),
                    "--turns",
                    str(args.turns),
                    "--max-tokens",
                    str(args.max_tokens),
                    "--concurrency",
                    str(args.concurrency),
                ],
                env,
                log,
            )
            seconds[f"eval_{name}"] = round(time.perf_counter() - started, 1)
        report = json.loads((out_dir / "eval.json").read_text())
        base_label, trained_label = list(report["models"])
        evals[name] = {
            "base": report["models"][base_label],
            "trained": report["models"][trained_label],
            "problems": report["problems"],
        }

    return report_round(args, base, collected, rows, training, evals, seconds)


def _pooled(evals: dict[str, Any], side: str, key: str) -> float | None:
    total = sum(e["problems"] for e in evals.values())
    values = [(e[side].get(key), e["problems"]) for e in evals.values()]
    if total == 0 or any(v is None for v, _ in values):
        return None
    return sum(v * n for v, n in values) / total


def _pooled_turns(evals: dict[str, Any], side: str) -> list[float]:
    total = sum(e["problems"] for e in evals.values())
    turns = min(len(e[side]["accuracy_per_turn"]) for e in evals.values())
    return [
        sum(e[side]["accuracy_per_turn"][k] * e["problems"] for e in evals.values()) / total
        for k in range(turns)
    ]


def _cells(r: dict[str, Any], pct: Any) -> str:
    return f"{pct(r['turn1']):>7} {pct(r['p1_at_t']):>7} {pct(r['m1_at_t']):>7}"


def report_round(
    args: argparse.Namespace,
    base: str,
    collected: dict[str, Any],
    rows: list[dict[str, Any]],
    training: dict[str, Any],
    evals: dict[str, Any],
    seconds: dict[str, float],
) -> dict[str, Any]:
    pct = lambda v: "-" if v is None else f"{100 * v:5.1f}"  # noqa: E731
    print(
        f"\nRISE round on {base}: {collected['rows']} training problems, {len(rows)} rise rows "
        f"({sum(r['reward'] > 0 for r in rows)} rewarded), {training['steps']} LoRA steps"
    )
    header = f"{'held-out set':<12} {'model':<8} {'turn-1':>7} {'p1@t5':>7} {'m1@t5':>7}  accuracy per turn"
    print(header)
    for name, e in evals.items():
        for side in ("base", "trained"):
            r = e[side]
            per_turn = " ".join(pct(a) for a in r["accuracy_per_turn"])
            print(f"{name:<12} {side:<8} {_cells(r, pct)}  {per_turn}")
    pooled: dict[str, dict[str, Any]] = {
        side: {k: _pooled(evals, side, k) for k in ("turn1", "p1_at_t", "m1_at_t")}
        | {"accuracy_per_turn": _pooled_turns(evals, side)}
        for side in ("base", "trained")
    }
    for side in ("base", "trained"):
        r = pooled[side]
        per_turn = " ".join(pct(a) for a in r["accuracy_per_turn"])
        print(f"{'pooled':<12} {side:<8} {_cells(r, pct)}  {per_turn}")

    def gain(key: str) -> float | None:
        b, t = pooled["base"][key], pooled["trained"][key]
        return None if b is None or t is None else 100 * (t - b)

    trained_turns = pooled["trained"]["accuracy_per_turn"]
    targets = {
        "p1_gain_pts": gain("p1_at_t"),
        "m1_gain_pts": gain("m1_at_t"),
        "turn1_change_pts": gain("turn1"),
        "p1_target_met": (gain("p1_at_t") or 0) >= 5,
        "m1_target_met": (gain("m1_at_t") or 0) >= 5,
        "turn1_target_met": (gain("turn1") or 0) >= -2,
        "rising_target_met": bool(trained_turns) and trained_turns[-1] > trained_turns[0],
    }
    result = {
        "bench": "rise_round",
        "base": base,
        "sizes": {
            "train_problems": collected["rows"],
            "rise_rows": len(rows),
            "held_task": evals["task"]["problems"],
            "held_arith": evals["arith"]["problems"],
        },
        "recipe": {
            "turns": args.turns,
            "max_tokens": args.max_tokens,
            "tau": args.tau,
            "keep": args.keep,
            "steps": training["steps"],
            "lr": args.lr,
            "lora_r": args.lora_r,
            "max_length": args.max_length,
        },
        "train": {
            k: training.get(k)
            for k in (
                "train_loss_before",
                "train_loss_after",
                "eval_loss_before",
                "eval_loss_after",
                "seconds",
            )
        },
        "pooled": pooled,
        "per_set": {
            name: {
                side: {
                    k: e[side].get(k)
                    for k in (
                        "turn1",
                        "p1_at_t",
                        "m1_at_t",
                        "accuracy_per_turn",
                        "mean_turns",
                        "tokens_per_solved",
                        "seconds_per_job",
                    )
                }
                for side in ("base", "trained")
            }
            for name, e in evals.items()
        },
        "auroc_base": {name: e["base"].get("auroc") for name, e in evals.items()},
        "targets": targets,
        "seconds": seconds,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
