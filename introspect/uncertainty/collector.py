"""Collect token statistics while ``model.generate`` runs, without keeping the T x V logits.

``output_logits=True`` keeps every ``[B, V]`` row (for V = 128k and 1k tokens, half a gigabyte per
sequence). This processor reduces each row as it passes to a handful of numbers per token, so memory is
O(B * T * k) plus the one ``[B, V]`` log-prob row of the step in flight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from transformers import LogitsProcessor

from introspect.uncertainty.logits import Support, finish_stats, row_stats, stats_from_arrays

if TYPE_CHECKING:
    from introspect.uncertainty.token_stats import TokenStats


class StatsCollector(LogitsProcessor):
    """A pass-through ``LogitsProcessor`` that records :class:`TokenStats` during ``generate``.

    What it sees: ``generate`` runs user processors after its own pre-processors (repetition penalty,
    ``min_new_tokens`` EOS masking, bad words, ...) and **before** the sampling warpers (temperature,
    top-k, top-p, min-p, typical). So the statistics describe the model's raw distribution, not the
    temperature-scaled or truncated one we sample from, exactly like ``output_logits=True`` plus
    :func:`~introspect.uncertainty.stats_from_logits` -- as long as no pre-processor is enabled
    (``LocalModel`` enables none). An enabled pre-processor that masks tokens shows up as
    ``self_certainty = +inf`` for that step (see :mod:`introspect.uncertainty.logits`).

    The chosen token of step ``t`` is only known at step ``t + 1`` (it is the last column of
    ``input_ids``) or, for the last step, from the returned sequences: call :meth:`finalize` with them.
    Per step it launches a fixed handful of kernels and never synchronises with the device.
    A collector is for one ``generate`` call; use a new one (or :meth:`reset`) for the next. Greedy and
    sampling only: under beam search rows are re-ordered between steps, which it does not track.
    """

    def __init__(self, top_k: int = 0, support: Support = "full") -> None:
        self.top_k = top_k
        self.support: Support = support
        self.reset()

    def reset(self) -> None:
        self.prompt_length: int | None = None
        self._last_logp: torch.Tensor | None = None
        self._entropy: list[torch.Tensor] = []
        self._varentropy: list[torch.Tensor] = []
        self._self_certainty: list[torch.Tensor] = []
        self._top_values: list[torch.Tensor] = []
        self._top_ids: list[torch.Tensor] = []
        self._chosen: list[torch.Tensor] = []

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
        elif self._last_logp is not None:
            self._chosen.append(self._last_logp.gather(-1, input_ids[:, -1:]).squeeze(-1))
        rs = row_stats(scores, top_k=self.top_k, support=self.support)
        self._last_logp = rs.logp
        self._entropy.append(rs.entropy)
        self._varentropy.append(rs.varentropy)
        self._self_certainty.append(rs.self_certainty)
        self._top_values.append(rs.top_values)
        self._top_ids.append(rs.top_ids)
        return scores

    @property
    def steps(self) -> int:
        return len(self._entropy)

    def retained_bytes(self) -> int:
        """Bytes of tensors this collector holds right now (the figure the benchmark compares)."""
        held: list[torch.Tensor] = [
            *self._entropy, *self._varentropy, *self._self_certainty,
            *self._top_values, *self._top_ids, *self._chosen,
        ]  # fmt: skip
        if self._last_logp is not None:
            held.append(self._last_logp)
        return sum(t.nelement() * t.element_size() for t in held)

    @torch.no_grad()
    def finalize(self, sequences: torch.Tensor, eos_token_ids: list[int] | None = None) -> list[TokenStats]:
        """Per-sequence stats of the ``steps`` generated tokens, cut after the first EOS (kept).

        ``sequences`` is ``generate``'s output ``[B, prompt + steps]``. Releases the last log-prob row.
        """
        if self.prompt_length is None or self._last_logp is None:
            raise RuntimeError("the collector saw no generation step")
        generated = sequences[:, self.prompt_length :]
        if generated.shape[1] != self.steps:
            raise ValueError(
                f"sequences hold {generated.shape[1]} new tokens, the collector saw {self.steps}"
            )
        last = self._last_logp.gather(-1, generated[:, -1:].to(self._last_logp.device)).squeeze(-1)
        self._chosen.append(last)
        self._last_logp = None
        arrays = finish_stats(
            torch.stack(self._entropy, dim=-1),
            torch.stack(self._varentropy, dim=-1),
            torch.stack(self._self_certainty, dim=-1),
            torch.stack(self._top_values, dim=-2),
            torch.stack(self._top_ids, dim=-2),
            torch.stack(self._chosen, dim=-1),
        )
        ids = generated.cpu().numpy()
        lengths = [_length_through_eos(row, eos_token_ids) for row in ids.tolist()]
        return [stats_from_arrays(arrays, b, lengths[b], ids[b], self.top_k) for b in range(ids.shape[0])]


def _length_through_eos(row: list[int], eos_token_ids: list[int] | None) -> int:
    if eos_token_ids:
        eos = set(eos_token_ids)
        for i, tok in enumerate(row):
            if tok in eos:
                return i + 1
    return len(row)
