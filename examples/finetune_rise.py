"""Fine-tune a causal LM on an exported ``rise`` file with RISE's reward-weighted loss.

    introspect export --format rise --out rise.jsonl
    python examples/finetune_rise.py --data rise.jsonl --steps 50 --out finetuned/

Each row's prompt (task + earlier attempts + feedback) is context; the completion (the attempt) is the
target, and its token loss is multiplied by the row's ``weight = exp(r / tau)``: reward-weighted
regression as in RISE (Qu et al. 2024), whose FastChat trainer averages ``weight * sample_loss`` over
the batch, as ``WeightedTrainer.compute_loss`` does here. The default model is the bundled demo model.

Prints one JSON line: steps, examples, and the weighted loss over the data before and after training.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import datasets
import torch
from torch.nn import functional as F
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)

IGNORE = -100


def encode(row: dict[str, Any], tokenizer: PreTrainedTokenizerBase, max_length: int) -> dict[str, Any]:
    """Token ids of prompt + completion, with the prompt masked out of the labels."""
    prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
    assert isinstance(prompt, str) and isinstance(full, str)
    if not full.startswith(prompt):
        raise ValueError("the chat template does not render the prompt as a prefix of the conversation")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    # Keep the completion whole: cut the prompt from the left when the example is too long.
    prompt_ids = prompt_ids[max(0, len(prompt_ids) + len(completion_ids) - max_length) :]
    ids = (prompt_ids + completion_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + completion_ids)[:max_length]
    return {"input_ids": ids, "labels": labels, "weight": float(row["weight"])}


def collate(batch: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(x["input_ids"]) for x in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, x in enumerate(batch):  # right padding: positions stay 0..n-1 for every example
        n = len(x["input_ids"])
        ids[i, :n] = torch.tensor(x["input_ids"])
        labels[i, :n] = torch.tensor(x["labels"])
        mask[i, :n] = 1
    weights = torch.tensor([x["weight"] for x in batch], dtype=torch.float32)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels, "weights": weights}


def weighted_loss(model: PreTrainedModel, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """mean_i( w_i * mean token NLL of completion i ): RISE's CustomTrainer objective."""
    logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
    labels = inputs["labels"][:, 1:]
    nll = F.cross_entropy(
        logits[:, :-1].float().transpose(1, 2), labels, ignore_index=IGNORE, reduction="none"
    )
    tokens = (labels != IGNORE).sum(dim=1).clamp(min=1)
    per_example = nll.sum(dim=1) / tokens
    return (inputs["weights"].to(per_example.device) * per_example).mean()


class WeightedTrainer(Trainer):
    def compute_loss(  # type: ignore[override]
        self,
        model: PreTrainedModel,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> torch.Tensor:
        return weighted_loss(model, inputs)


@torch.no_grad()
def dataset_loss(model: PreTrainedModel, examples: list[dict[str, Any]], pad_id: int) -> float:
    model.eval()
    total = 0.0
    for start in range(0, len(examples), 8):
        batch = examples[start : start + 8]
        total += float(weighted_loss(model, collate(batch, pad_id))) * len(batch)
    return total / len(examples)


def default_model() -> str:
    from introspect.models.demo import model_path

    return str(model_path())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="an exported rise .jsonl file")
    parser.add_argument("--model", default=None, help="model directory (default: the demo model)")
    parser.add_argument("--out", type=Path, default=None, help="where to save the fine-tuned model")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    model_dir = args.model or default_model()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    rows = datasets.load_dataset("json", data_files=str(args.data), split="train")
    if args.max_examples is not None:
        rows = rows.select(range(min(args.max_examples, len(rows))))
    examples = [encode(row, tokenizer, args.max_length) for row in rows]
    if not examples:
        raise SystemExit(f"{args.data} holds no rows")

    before = dataset_loss(model, examples, pad_id)
    started = time.perf_counter()
    scratch = tempfile.TemporaryDirectory(prefix="finetune-rise-")
    training_args = TrainingArguments(
        output_dir=str(args.out or scratch.name),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        logging_steps=max(1, args.steps // 5),
        save_strategy="no",
        report_to=[],
        remove_unused_columns=False,  # the weights column must reach compute_loss
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        seed=args.seed,
        disable_tqdm=True,
    )
    trainer = WeightedTrainer(
        model=model,
        args=training_args,
        train_dataset=examples,  # a list is a map-style dataset
        data_collator=lambda batch: collate(batch, pad_id),
    )
    trainer.train()
    scratch.cleanup()
    after = dataset_loss(model, examples, pad_id)
    if args.out is not None:
        trainer.save_model(str(args.out))
        tokenizer.save_pretrained(str(args.out))
    report = {
        "model": model_dir,
        "examples": len(examples),
        "steps": trainer.state.global_step,
        "mean_weight": sum(x["weight"] for x in examples) / len(examples),
        "weighted_loss_before": before,
        "weighted_loss_after": after,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if not (math.isfinite(before) and math.isfinite(after)):
        raise SystemExit(f"non-finite loss: {report}")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
