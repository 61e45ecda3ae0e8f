"""The running batch of the local model's decoding loop: one KV cache whose rows come and go.

Rows are right-aligned: each row's real tokens end at the cache's last column, with left padding
before them that the attention mask hides. A request joins by a prefill of its prompt alone (no
padding inside a prompt, so nothing padded ever feeds a real position), then it is padded on the
left to the batch's width -- or the batch to its width -- and concatenated along the batch
dimension; ``n`` candidates share one prefill and are copied rows. Rows leave by index selection, and
columns no remaining row reaches are dropped. Every decoding step feeds one token per row with
explicit position ids (a row's own token count), so a row's positions, rotary phases and visible
keys are exactly those it would have alone; only the order of floating-point reductions differs.

Only caches made of transformers' plain ``DynamicLayer`` can be re-aligned this way (no sliding
window, no static or quantised cache): :func:`supports_batching` says whether a model qualifies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel


def supports_batching(model: PreTrainedModel) -> bool:
    """Decoder-only, full attention everywhere: its default cache is all ``DynamicLayer``."""
    config = model.config
    if getattr(config, "is_encoder_decoder", False) or getattr(config, "sliding_window", None):
        return False
    layer_types = getattr(config, "layer_types", None)
    return not layer_types or all(t == "full_attention" for t in layer_types)


class RunningBatch:
    """The rows being decoded: their cache, attention mask, token counts and next-token logits."""

    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model
        self.cache: Any = None
        self.mask: torch.Tensor | None = None  # [B, L], 1 on real tokens
        self.lengths: list[int] = []  # real tokens per row (its next position id)
        self.logits: torch.Tensor | None = None  # [B, V] float32: what each row's next token is drawn from

    @property
    def rows(self) -> int:
        return len(self.lengths)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def join(self, prompt: list[int], copies: int) -> None:
        """Prefill ``prompt`` alone and append it as ``copies`` rows at the end of the batch."""
        import torch
        from transformers.cache_utils import DynamicLayer

        ids = torch.tensor([prompt], device=self.device)
        out = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
        if any(type(layer) is not DynamicLayer for layer in cache.layers):
            raise NotImplementedError("batched decoding needs a cache of plain DynamicLayer layers")
        logits = out.logits[:, -1, :].float()
        if copies > 1:
            cache.batch_repeat_interleave(copies)
            logits = logits.expand(copies, -1)
        mask = torch.ones((copies, len(prompt)), dtype=torch.long, device=self.device)
        if self.cache is None or self.mask is None or self.logits is None:
            self.cache, self.mask, self.logits = cache, mask, logits.contiguous()
            self.lengths = [len(prompt)] * copies
            return
        width, new_width = self.mask.shape[1], mask.shape[1]
        if width < new_width:
            self.mask = _pad_left(self.cache, self.mask, new_width - width)
        elif new_width < width:
            mask = _pad_left(cache, mask, width - new_width)
        for mine, theirs in zip(self.cache.layers, cache.layers, strict=True):
            mine.keys = torch.cat([mine.keys, theirs.keys], dim=0)
            mine.values = torch.cat([mine.values, theirs.values], dim=0)
        self.mask = torch.cat([self.mask, mask], dim=0)
        self.logits = torch.cat([self.logits, logits], dim=0)
        self.lengths += [len(prompt)] * copies

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in that order); drop the columns left of the longest remaining row."""
        import torch

        if not rows:
            self.cache, self.mask, self.logits, self.lengths = None, None, None, []
            return
        if rows == list(range(self.rows)):
            return
        assert self.mask is not None and self.logits is not None
        index = torch.tensor(rows, device=self.device)
        self.cache.batch_select_indices(index)
        self.mask, self.logits = self.mask[index], self.logits[index]
        self.lengths = [self.lengths[r] for r in rows]
        unused = self.mask.shape[1] - max(self.lengths)
        if unused > 0:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, unused:], layer.values[:, :, unused:]
            self.mask = self.mask[:, unused:]

    def advance(self, next_ids: torch.Tensor) -> None:
        """Feed each row its chosen token ``next_ids[B]``; ``logits`` becomes the next step's."""
        import torch

        assert self.mask is not None
        positions = torch.tensor(self.lengths, device=self.device).unsqueeze(1)
        self.mask = torch.cat([self.mask, self.mask.new_ones((self.rows, 1))], dim=1)
        out = self.model(
            input_ids=next_ids.unsqueeze(1),
            attention_mask=self.mask,
            position_ids=positions,
            past_key_values=self.cache,
            use_cache=True,
        )
        self.cache = out.past_key_values
        self.logits = out.logits[:, -1, :].float()
        self.lengths = [n + 1 for n in self.lengths]


def _pad_left(cache: Any, mask: torch.Tensor, width: int) -> torch.Tensor:
    """Prepend ``width`` masked zero columns to every layer of ``cache``; return the widened mask."""
    import torch

    for layer in cache.layers:
        keys, values = layer.keys, layer.values
        layer.keys = torch.cat([keys.new_zeros((*keys.shape[:2], width, keys.shape[3])), keys], dim=2)
        layer.values = torch.cat(
            [values.new_zeros((*values.shape[:2], width, values.shape[3])), values], dim=2
        )
    return torch.cat([mask.new_zeros((mask.shape[0], width)), mask], dim=1)
