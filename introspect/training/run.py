"""One training run: read, encode, split, train (optionally LoRA, merged at the end), save, manifest."""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import introspect
from introspect.training.data import Example, TrainingDataError, collate, encode, in_eval_split, read_rows

MANIFEST_NAME = "introspect-train.json"


@dataclass(frozen=True)
class TrainConfig:
    data: Path
    base: str
    out: Path
    steps: int = 200
    epochs: float | None = None  # instead of steps
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 1e-4
    scheduler: str = "cosine"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_length: int = 512
    max_examples: int | None = None
    eval_fraction: float = 0.1
    normalize_weights: bool = True
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: str = "all-linear"
    seed: int = 0
    device: str | None = None  # None: cuda when available, else cpu
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def hyper_parameters(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("data", "out", "progress", "extra"):
            out.pop(key)
        out["base"] = str(self.base)
        return out


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_manifest_of(data: Path) -> dict[str, Any] | None:
    """The export's manifest beside the data file (``<file>.manifest.json``), if any, with its sha256."""
    path = data.with_name(data.name + ".manifest.json")
    if not path.exists():
        return None
    raw = path.read_bytes()
    try:
        content = json.loads(raw)
    except json.JSONDecodeError:
        content = None
    return {"path": str(path), "sha256": hashlib.sha256(raw).hexdigest(), "content": content}


def split_examples(examples: list[Example], fraction: float) -> tuple[list[Example], list[Example]]:
    evals = [x for x in examples if in_eval_split(x.task, fraction)] if fraction > 0 else []
    train = [x for x in examples if not (fraction > 0 and in_eval_split(x.task, fraction))]
    if not train:  # a tiny file whose every task landed in eval: train on all, evaluate on all
        return examples, examples
    return train, evals


def _dataset_loss(trainer: Any, examples: list[Example]) -> float | None:
    if not examples:
        return None
    value = trainer.evaluate(eval_dataset=examples)["eval_loss"]
    return float(value)


def train(config: TrainConfig) -> dict[str, Any]:
    """Train and save; returns the manifest (also written to ``out/introspect-train.json``)."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainingArguments

    from introspect.training.objective import WeightedTrainer

    started = time.perf_counter()
    rows = read_rows(config.data)
    if config.max_examples is not None:
        rows = rows[: config.max_examples]
    transformers.set_seed(config.seed)
    random.seed(config.seed)
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.base)
    except (OSError, ValueError) as exc:
        raise TrainingDataError(f"cannot load the base model's tokenizer from {config.base}: {exc}") from None
    if getattr(tokenizer, "chat_template", None) is None:
        raise TrainingDataError(f"the tokenizer at {config.base} has no chat template")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    examples = [encode(row, tokenizer, config.max_length) for row in rows]
    train_set, eval_set = split_examples(examples, config.eval_fraction)
    mean_weight = sum(x.weight for x in train_set) / len(train_set)
    scale = 1.0 / mean_weight if config.normalize_weights and mean_weight > 0 else 1.0

    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model: Any = AutoModelForCausalLM.from_pretrained(config.base, dtype=torch.float32)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        targets: Any = (
            config.lora_targets if config.lora_targets == "all-linear" else config.lora_targets.split(",")
        )
        model = get_peft_model(
            model,
            LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=targets,
                task_type="CAUSAL_LM",
            ),
        )
    config.out.mkdir(parents=True, exist_ok=True)
    args = TrainingArguments(
        output_dir=str(config.out / "checkpoints"),
        max_steps=config.steps if config.epochs is None else -1,
        num_train_epochs=config.epochs or 1.0,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float below 1 is a share of the steps
        weight_decay=config.weight_decay,
        logging_steps=max(1, (config.steps or 50) // 10),
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        remove_unused_columns=False,  # the weights must reach compute_loss
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        seed=config.seed,
        data_seed=config.seed,
        disable_tqdm=not config.progress,
    )
    trainer = WeightedTrainer(
        model=model,
        args=args,
        train_dataset=train_set,  # a list is a map-style dataset
        data_collator=lambda batch: collate(batch, pad_id),
        weight_scale=scale,
    )
    eval_before = _dataset_loss(trainer, eval_set)
    train_before = _dataset_loss(trainer, train_set[:256])
    result = trainer.train()
    eval_after = _dataset_loss(trainer, eval_set)
    train_after = _dataset_loss(trainer, train_set[:256])
    final: Any = trainer.model
    if config.lora:
        final = final.merge_and_unload()  # a plain transformers model: INTROSPECT_MODEL_PATH loads it
    final.save_pretrained(str(config.out), safe_serialization=True)
    tokenizer.save_pretrained(str(config.out))
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    manifest = {
        "kind": "introspect-train",
        "objective": "rise-reward-weighted-regression",
        "code_version": introspect.__version__,
        "base_model": str(config.base),
        "data": {"path": str(config.data), "sha256": sha256_of(config.data), "rows": len(rows)},
        "export_manifest": export_manifest_of(config.data),
        "hyper_parameters": config.hyper_parameters(),
        "examples": {"train": len(train_set), "eval": len(eval_set)},
        "mean_weight": mean_weight,
        "weight_scale": scale,
        "steps": trainer.state.global_step,
        "train_loss": float(result.training_loss) if math.isfinite(result.training_loss) else None,
        "logged_losses": losses,
        "train_loss_before": train_before,
        "train_loss_after": train_after,
        "eval_loss_before": eval_before,
        "eval_loss_after": eval_after,
        "device": device,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (config.out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
