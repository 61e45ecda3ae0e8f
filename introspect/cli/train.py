"""``introspect train --data rise.jsonl --base MODEL --out DIR``: RISE reward-weighted regression.

Writes a model directory that ``INTROSPECT_MODEL_PATH`` loads and ``introspect-train.json`` beside it
(base model, the export manifest's sha256, every hyper-parameter, losses); prints one JSON line.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from introspect.training.data import TrainingDataError


def _base_path(base: str) -> str:
    """A directory as given; ``demo`` names the bundled demo model."""
    if base == "demo":
        from introspect.models.demo import model_path

        return str(model_path())
    if not Path(base).is_dir():
        raise TrainingDataError(f"--base {base}: not a model directory (or 'demo')")
    return base


def train_command(
    data: Path = typer.Option(..., "--data", help="An exported rise .jsonl file."),
    base: str = typer.Option(..., "--base", help="Base model directory (transformers), or 'demo'."),
    out: Path = typer.Option(..., "--out", help="Directory for the trained model and its manifest."),
    steps: int = typer.Option(200, help="Optimizer steps."),
    epochs: float | None = typer.Option(None, help="Train for this many epochs instead of --steps."),
    batch_size: int = typer.Option(8, "--batch-size"),
    grad_accum: int = typer.Option(1, "--grad-accum"),
    lr: float = typer.Option(1e-4, "--lr"),
    scheduler: str = typer.Option("cosine", help="transformers lr_scheduler_type."),
    warmup_ratio: float = typer.Option(0.05, "--warmup-ratio"),
    max_length: int = typer.Option(512, "--max-length", help="Tokens per example (prompt cut first)."),
    max_examples: int | None = typer.Option(None, "--max-examples"),
    eval_fraction: float = typer.Option(
        0.1, "--eval-fraction", help="Share of tasks held out for eval loss."
    ),
    normalize_weights: bool = typer.Option(
        True,
        "--normalize-weights/--raw-weights",
        help="Divide weights by their mean (lr independent of tau).",
    ),
    lora: bool = typer.Option(False, "--lora", help="Train LoRA adapters (peft), merged at the end."),
    lora_r: int = typer.Option(16, "--lora-r"),
    lora_alpha: int = typer.Option(32, "--lora-alpha"),
    lora_dropout: float = typer.Option(0.05, "--lora-dropout"),
    lora_targets: str = typer.Option(
        "all-linear", "--lora-targets", help="'all-linear' or module names, a,b"
    ),
    seed: int = typer.Option(0, "--seed"),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
) -> None:
    """Fine-tune a model on RISE data with the reward-weighted loss (weight honoured, prompt masked)."""
    errors = Console(stderr=True, soft_wrap=True)
    problems = [
        (steps < 1 and epochs is None, "--steps must be at least 1"),
        (batch_size < 1 or grad_accum < 1, "--batch-size and --grad-accum must be at least 1"),
        (not lr > 0, "--lr must be positive"),
        (not 0 <= eval_fraction < 1, "--eval-fraction must be in [0, 1)"),
        (max_length < 8, "--max-length must be at least 8"),
        (device not in (None, "cpu", "cuda"), "--device must be cpu or cuda"),
    ]
    for bad, message in problems:
        if bad:
            errors.print(f"[red]error:[/red] {message}")
            raise typer.Exit(code=2)
    from introspect.training.run import TrainConfig, train

    try:
        config = TrainConfig(
            data=data, base=_base_path(base), out=out, steps=steps, epochs=epochs, batch_size=batch_size,
            grad_accum=grad_accum, lr=lr, scheduler=scheduler, warmup_ratio=warmup_ratio,
            max_length=max_length, max_examples=max_examples, eval_fraction=eval_fraction,
            normalize_weights=normalize_weights, lora=lora, lora_r=lora_r, lora_alpha=lora_alpha,
            lora_dropout=lora_dropout, lora_targets=lora_targets, seed=seed, device=device,
        )  # fmt: skip
        manifest = train(config)
    except TrainingDataError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    summary = {
        k: manifest[k]
        for k in (
            "steps",
            "train_loss_before",
            "train_loss_after",
            "eval_loss_before",
            "eval_loss_after",
            "seconds",
        )
    }
    errors.print(f"[green]trained[/green] {out} ({manifest['examples']['train']} examples)")
    typer.echo(json.dumps({"out": str(out), "base_model": manifest["base_model"], **summary}))
