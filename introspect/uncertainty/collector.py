"""Collect token statistics while ``model.generate`` runs, without keeping the T x V logits.

``output_logits=True`` keeps every ``[B, V]`` row (for V = 128k and 1k tokens, half a gigabyte per
sequence). This processor reduces each row as it passes to a handful of numbers per token, so memory is
O(B * T * k) plus two ``[B, V]`` rows reused from step to step (see ``RowBuffers``).
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING

import torch
from transformers import LogitsProcessor

from introspect.uncertainty.logits import (
    RowBuffers,
    RowSums,
    Support,
    finish_stats,
    row_sums,
    stats_from_arrays,
)

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
        # transformers' LogitsProcessorList calls inspect.signature(processor.__call__) at every
        # step to see which arguments to pass: ~8 us in a loop, 30-48 us inside generate, where
        # inspect's code is cold -- about 1% of a small model's step. An instance attribute shadows
        # the method for that lookup (calls still go through the class's __call__) and carries its
        # signature ready-made, which inspect returns at once.
        step = functools.partial(type(self).__call__, self)
        step.__signature__ = inspect.signature(step)  # type: ignore[attr-defined]
        self.__call__ = step  # type: ignore[method-assign]

    def reset(self) -> None:
        self.prompt_length: int | None = None
        self._last: RowSums | None = None
        self._buffers = RowBuffers()
        # Each step's sums; their ``shifted`` is the one reused buffer row, so only the [B] and [B, k]
        # tensors take memory per step.
        self._steps: list[RowSums] = []
        self._chosen_z: list[torch.Tensor] = []

    # No @torch.no_grad(): generate already runs without autograd, and the decorator's context
    # costs a little at every step.
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
        elif self._last is not None:
            self._chosen_z.append(self._last.shifted.gather(-1, input_ids[:, -1:]))  # [B, 1]
        sums = row_sums(scores, top_k=self.top_k, support=self.support, buffers=self._buffers)
        self._last = sums
        self._steps.append(sums)
        return scores

    @property
    def steps(self) -> int:
        return len(self._steps)

    def retained_bytes(self) -> int:
        """Bytes of tensors this collector holds right now (the figure the benchmark compares)."""
        held = [t for sums in self._steps for t in sums[1:] if t is not None] + self._chosen_z
        if self._last is not None:
            held.append(self._last.shifted)
        return sum(t.nelement() * t.element_size() for t in held) + self._buffers.scratch_bytes()

    @torch.no_grad()
    def finalize(self, sequences: torch.Tensor, eos_token_ids: list[int] | None = None) -> list[TokenStats]:
        """Per-sequence stats of the ``steps`` generated tokens, cut after the first EOS (kept).

        ``sequences`` is ``generate``'s output ``[B, prompt + steps]``. Releases the last ``[B, V]`` row.
        """
        if self.prompt_length is None or self._last is None:
            raise RuntimeError("the collector saw no generation step")
        generated = sequences[:, self.prompt_length :]
        if generated.shape[1] != self.steps:
            raise ValueError(
                f"sequences hold {generated.shape[1]} new tokens, the collector saw {self.steps}"
            )
        self._chosen_z.append(self._last.shifted.gather(-1, generated[:, -1:].to(self._last.shifted.device)))
        last, self._last = self._last, None
        self._buffers = RowBuffers()
        per_step = zip(*(sums[1:] for sums in self._steps), strict=True)  # one tuple per field
        stacked = {  # [B, T(, k)]
            name: torch.stack(ts, dim=1) for name, ts in zip(RowSums._fields[1:], per_step, strict=True)
            if ts[0] is not None
        }  # fmt: skip
        self._steps = []
        arrays = finish_stats(last._replace(**stacked), torch.cat(self._chosen_z, dim=1))
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
