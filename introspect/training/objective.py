"""RISE's objective (Qu et al. 2024): reward-weighted regression, ``mean_i(w_i * NLL_i)``.

``NLL_i`` is the mean token NLL of example i's completion (prompt tokens masked), ``w_i`` its
``weight = exp(r / tau)`` from the export; the mean runs over the batch, as the RISE repository's
FastChat trainer averages ``weight * sample_loss``. An example of weight 0 contributes nothing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F
from transformers import Trainer

from introspect.training.data import IGNORE


def weighted_loss(model: Any, inputs: dict[str, torch.Tensor], scale: float = 1.0) -> torch.Tensor:
    logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
    labels = inputs["labels"][:, 1:]
    nll = F.cross_entropy(
        logits[:, :-1].float().transpose(1, 2), labels, ignore_index=IGNORE, reduction="none"
    )
    tokens = (labels != IGNORE).sum(dim=1).clamp(min=1)
    per_example = nll.sum(dim=1) / tokens
    weights = inputs["weights"].to(per_example.device) * scale
    return (weights * per_example).mean()


class WeightedTrainer(Trainer):
    """transformers' Trainer with the RISE objective; ``weight_scale`` divides every weight by the
    data set's mean weight (optional) so the learning rate does not depend on tau."""

    def __init__(self, *args: Any, weight_scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.weight_scale = weight_scale

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> torch.Tensor:
        return weighted_loss(model, inputs, self.weight_scale)

    def prediction_step(
        self, model: Any, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None
    ) -> tuple[torch.Tensor, None, None]:
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = weighted_loss(model, inputs, self.weight_scale)
        return loss.detach(), None, None
