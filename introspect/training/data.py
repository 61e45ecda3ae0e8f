"""``rise`` rows -> token ids with the prompt masked out of the labels, and batches of them.

A row is ``{"prompt": [messages], "completion": [one assistant message], "weight": w}`` (the export's
``rise`` format). The prompt is rendered with the model's own chat template and a generation prompt,
exactly as the local model renders it when it answers, so training and inference see one format.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE = -100


class TrainingDataError(ValueError):
    """A training file that cannot be used; the message names the row."""


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]
    weight: float
    task: str  # the first user message: rows of one task stay on one side of the eval split


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{path} line {number}: not JSON ({exc.msg})") from None
        _check(row, f"{path} line {number}")
        rows.append(row)
    if not rows:
        raise TrainingDataError(f"{path}: no rows")
    return rows


def _check(row: Any, where: str) -> None:
    if not isinstance(row, dict):
        raise TrainingDataError(f"{where}: a row must be an object")
    for key in ("prompt", "completion"):
        value = row.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(m, dict) for m in value):
            raise TrainingDataError(f"{where}: {key!r} must be a non-empty list of chat messages")
    weight = row.get("weight", 1.0)
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not math.isfinite(weight)
        or weight < 0
    ):
        raise TrainingDataError(f"{where}: 'weight' must be a finite number >= 0, not {weight!r}")


def task_of(row: dict[str, Any]) -> str:
    users = [m.get("content", "") for m in row["prompt"] if m.get("role") == "user"]
    return users[0] if users else json.dumps(row["prompt"], sort_keys=True)


def in_eval_split(task: str, fraction: float) -> bool:
    """Deterministic by task, so no task is on both sides."""
    digest = int(hashlib.sha256(task.encode()).hexdigest()[:8], 16)
    return digest < fraction * 16**8


def encode(row: dict[str, Any], tokenizer: Any, max_length: int) -> Example:
    """Prompt + completion ids, prompt masked; a long example loses its oldest prompt tokens, never
    the completion's."""
    prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
    if not (isinstance(prompt, str) and isinstance(full, str) and full.startswith(prompt)):
        raise TrainingDataError(
            "the chat template does not render the prompt as a prefix of the conversation"
        )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(full[len(prompt) :].rstrip("\n"), add_special_tokens=False)["input_ids"]
    completion_ids = completion_ids[:max_length]
    prompt_ids = prompt_ids[max(0, len(prompt_ids) + len(completion_ids) - max_length) :]
    return Example(
        input_ids=prompt_ids + completion_ids,
        labels=[IGNORE] * len(prompt_ids) + completion_ids,
        weight=float(row.get("weight", 1.0)),
        task=task_of(row),
    )


def collate(batch: list[Example], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(x.input_ids) for x in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, x in enumerate(batch):  # right padding: positions stay 0..n-1 for every example
        n = len(x.input_ids)
        ids[i, :n] = torch.tensor(x.input_ids)
        labels[i, :n] = torch.tensor(x.labels)
        mask[i, :n] = 1
    weights = torch.tensor([x.weight for x in batch], dtype=torch.float32)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels, "weights": weights}
