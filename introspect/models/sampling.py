"""Per-request token choice: each request its own warpers (temperature, top-k, top-p, min-p) and RNG.

The warpers are transformers' own, in the order ``generate`` applies them, so a request samples from
the same truncated distribution it would under ``generate``; the token statistics are taken from the
raw logits before any of them. Each request draws from its own ``torch.Generator`` (seeded from
``seed`` when one is given), so what it samples does not depend on which other requests share its
batch -- the process-wide RNG is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, slots=True)
class Sampling:
    """How one request chooses its tokens; ``temperature <= 0`` is greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


class TokenChooser:
    """One request's token choice over its rows of a step's logits."""

    def __init__(self, sampling: Sampling, device: torch.device) -> None:
        import torch
        from transformers import MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        self.greedy = sampling.greedy
        self._warpers: list[Any] = []
        self._generator: torch.Generator | None = None
        if self.greedy:
            return
        if sampling.temperature != 1.0:
            self._warpers.append(TemperatureLogitsWarper(sampling.temperature))
        if sampling.top_k > 0:
            self._warpers.append(TopKLogitsWarper(top_k=sampling.top_k))
        if sampling.top_p < 1.0:
            self._warpers.append(TopPLogitsWarper(top_p=sampling.top_p))
        if sampling.min_p > 0:
            self._warpers.append(MinPLogitsWarper(min_p=sampling.min_p))
        self._generator = torch.Generator(device=device)
        if sampling.seed is None:
            self._generator.seed()
        else:
            self._generator.manual_seed(sampling.seed)

    def choose(self, logits: torch.Tensor) -> torch.Tensor:
        """Token ids ``[n]`` for ``logits[n, V]`` (the warpers work on copies: ``logits`` is unchanged)."""
        import torch

        if self.greedy:
            return logits.argmax(dim=-1)
        scores = logits
        for warper in self._warpers:
            scores = warper(None, scores)
        probs = torch.softmax(scores, dim=-1)
        return torch.multinomial(probs, num_samples=1, generator=self._generator).squeeze(1)
