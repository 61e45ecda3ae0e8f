"""Train the bundled demo model: a tiny Llama on arithmetic word problems plus RISE retry episodes.

    python -m introspect.models.demo.train --out introspect/models/demo/weights

Seeded and deterministic for a given seed, step count and thread count (data, init and order all come
from the seed; CPU kernels are deterministic at a fixed thread count). ``--budget-seconds`` is only a
safety cap: if it cuts training short the report says so, because the result then depends on the
machine's speed.

Writes config.json, generation_config.json, model.safetensors, the tokenizer files and
training_report.json into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from .batching import batches
from .data import SYSTEM_PROMPTS, Conversation, make_episode
from .rollout import MAX_NEW_TOKENS, greedy_accuracy, rollout
from .task import FEEDBACK, Problem, iter_problems, make_problems
from .tokenizer import build_tokenizer

__all__ = ["EpisodeSource", "TrainConfig", "build_model", "main", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Every knob that changes the result; stored verbatim in training_report.json."""

    seed: int = 0
    steps: int = 1300
    batch_size: int = 32
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 150
    weight_decay: float = 0.01
    p_retry: float = 0.3  # synthetic near-miss retry episodes
    p_onpolicy: float = 0.45  # episodes built on the policy's own refuted attempts, once rolled out
    rollout_at: tuple[float, ...] = (0.35, 0.5, 0.6, 0.7, 0.8, 0.9)  # when to roll out (share of steps)
    rollout_problems: int = 2000
    rollout_turns: int = 3
    rollout_temperature: float = 1.0
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 352
    vocab_size: int = 512
    threads: int = 2
    bf16: bool = True
    p_system: float = 0.1
    budget_seconds: float | None = None
    monitor_every: int = 0  # 0: monitor once, at the end
    monitor_problems: int = 200
    extra: dict[str, str] = field(default_factory=dict)


def _tokenizer_corpus(seed: int) -> list[str]:
    """Text the BPE merges are learnt from: what the model will read and write."""
    stream = iter_problems(random.Random(seed), "train")
    corpus: list[str] = []
    for _ in range(4000):
        problem = next(stream)
        corpus += [problem.question, problem.solution]
    corpus += [FEEDBACK] * 200 + list(SYSTEM_PROMPTS) * 20
    return corpus


def build_model(cfg: TrainConfig, tokenizer: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=1024,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config)


class EpisodeSource:
    """Training conversations: fresh problems (single-turn or synthetic retries) and, once rollouts
    exist, RISE episodes built on the policy's own refuted attempts."""

    def __init__(self, cfg: TrainConfig, rng: random.Random) -> None:
        self.cfg, self.rng = cfg, rng
        self.stream = iter_problems(rng, "train")
        self.chains: list[tuple[Problem, list[str]]] = []

    def __call__(self) -> Conversation:
        cfg, rng = self.cfg, self.rng
        if self.chains and rng.random() < cfg.p_onpolicy:
            problem, chain = rng.choice(self.chains)
            wrong = chain[: rng.randint(1, len(chain))]
            return make_episode(rng, problem, p_system=cfg.p_system, wrong_replies=wrong).messages
        return make_episode(rng, next(self.stream), cfg.p_retry, cfg.p_system).messages


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _clock(started: float, cpu_started: float) -> dict[str, float]:
    return {
        "elapsed_s": round(time.monotonic() - started, 1),
        "cpu_s": round(time.process_time() - cpu_started, 1),
    }


def train(out: Path, cfg: TrainConfig, log: bool = True) -> dict[str, object]:
    """Train into ``out`` and return the training report (also written as training_report.json)."""
    started, cpu_started = time.monotonic(), time.process_time()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)

    tokenizer = build_tokenizer(_tokenizer_corpus(cfg.seed), vocab_size=cfg.vocab_size)
    model = build_model(cfg, tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, cfg))
    # Monitoring uses a slice of the *train* split: the eval split stays untouched until bench/.
    monitor = make_problems(cfg.monitor_problems, seed=cfg.seed + 1, split="train")

    history: list[dict[str, Any]] = []
    source = EpisodeSource(cfg, rng)
    stream = batches(tokenizer, source, cfg.batch_size, rng)
    rollout_steps = {max(1, round(f * cfg.steps)) for f in cfg.rollout_at if cfg.rollout_problems > 0}
    model.train()
    step = 0
    stopped_by_budget = False
    loss_ema = float("nan")
    for step in range(1, cfg.steps + 1):
        if step in rollout_steps:
            # Fresh problems each time (seeded), so the policy is rolled out on prompts it has not
            # just been trained on.
            problems = make_problems(cfg.rollout_problems, seed=cfg.seed * 1000 + step, split="train")
            rolled = rollout(model, tokenizer, problems, cfg.rollout_turns, cfg.rollout_temperature)
            source.chains = rolled.chains
            point: dict[str, Any] = {"step": step, "rollout_turn1_accuracy": rolled.turn1_accuracy}
            point |= {"rollout_wrong": len(rolled.chains), "rollout_fixed_per_turn": rolled.fixed_per_turn}
            point |= _clock(started, cpu_started)
            history.append(point)
            if log:
                print(json.dumps(point), flush=True)
        batch = next(stream)
        # bf16 autocast: ~3x faster matmuls on CPUs with AVX512-BF16/AMX; weights and the optimiser
        # state stay fp32, and the saved checkpoint is fp32.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        value = float(loss.item())
        loss_ema = value if math.isnan(loss_ema) else 0.98 * loss_ema + 0.02 * value
        if step == cfg.steps or (cfg.monitor_every and step % cfg.monitor_every == 0):
            acc = greedy_accuracy(model, tokenizer, monitor)
            point = {"step": step, "loss": round(loss_ema, 4), "monitor_accuracy": acc}
            point |= _clock(started, cpu_started)
            history.append(point)
            if log:
                print(json.dumps(point), flush=True)
        if cfg.budget_seconds is not None and time.monotonic() - started > cfg.budget_seconds:
            stopped_by_budget = step < cfg.steps
            break

    out.mkdir(parents=True, exist_ok=True)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
        max_new_tokens=MAX_NEW_TOKENS,
    )
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    report: dict[str, object] = {
        "config": asdict(cfg),
        "steps_done": step,
        "stopped_by_budget": stopped_by_budget,
        "parameters": n_params,
        "final_loss_ema": round(loss_ema, 4),
        "history": history,
        "train_seconds": round(time.monotonic() - started, 1),
        # CPU seconds over all threads: on a shared machine, cpu_seconds / threads approximates the
        # wall time the same run takes on an idle machine with that many cores.
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    (out / "training_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _parse(argv: Sequence[str] | None) -> tuple[Path, TrainConfig]:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m introspect.models.demo.train", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output model directory")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--budget-seconds", type=float, default=None, help="safety cap on wall time")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--p-retry", type=float, default=defaults.p_retry)
    parser.add_argument("--p-onpolicy", type=float, default=defaults.p_onpolicy)
    parser.add_argument("--rollout-problems", type=int, default=defaults.rollout_problems)
    parser.add_argument("--hidden-size", type=int, default=defaults.hidden_size)
    parser.add_argument("--num-layers", type=int, default=defaults.num_layers)
    parser.add_argument("--num-heads", type=int, default=defaults.num_heads)
    parser.add_argument("--intermediate-size", type=int, default=defaults.intermediate_size)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=defaults.bf16)
    parser.add_argument("--monitor-every", type=int, default=defaults.monitor_every)
    parser.add_argument("--monitor-problems", type=int, default=defaults.monitor_problems)
    args = parser.parse_args(argv)
    warmup = min(defaults.warmup_steps, max(1, args.steps // 10))
    return args.out, TrainConfig(
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=warmup,
        p_retry=args.p_retry,
        p_onpolicy=args.p_onpolicy,
        rollout_problems=args.rollout_problems,
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        intermediate_size=args.intermediate_size,
        threads=args.threads,
        bf16=args.bf16,
        budget_seconds=args.budget_seconds,
        monitor_every=args.monitor_every,
        monitor_problems=args.monitor_problems,
    )


def main(argv: Sequence[str] | None = None) -> int:
    out, cfg = _parse(argv)
    report = train(out, cfg)
    keys = ("steps_done", "stopped_by_budget", "parameters", "train_seconds", "cpu_seconds")
    summary = {k: report[k] for k in keys}
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
