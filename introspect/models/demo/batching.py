"""Token ids, loss masks and length-bucketed batches of training conversations."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import torch
from transformers import PreTrainedTokenizerFast

from .data import Conversation
from .tokenizer import ASSISTANT, EOS

__all__ = ["IGNORE", "batches", "encode_episode"]

IGNORE = -100  # the label transformers' causal-LM loss skips


def _token_id(tokenizer: PreTrainedTokenizerFast, token: str) -> int:
    value = tokenizer.convert_tokens_to_ids(token)
    assert isinstance(value, int)
    return value


def encode_episode(tokenizer: PreTrainedTokenizerFast, messages: Conversation) -> tuple[list[int], list[int]]:
    """Token ids and labels of one conversation rendered by the chat template.

    Labels cover the final assistant message and its ``<|end|>`` (so the model learns to stop) and
    nothing else: earlier (wrong) attempts are context, never targets. The template's trailing newline
    is dropped; generation stops at ``<|end|>`` anyway.
    """
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert isinstance(text, str)
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    end_id, assistant_id = _token_id(tokenizer, EOS), _token_id(tokenizer, ASSISTANT)
    while ids and ids[-1] != end_id:
        ids.pop()
    start = len(ids) - 1 - ids[::-1].index(assistant_id) + 2  # skip "<|assistant|>" and its "\n"
    labels = [IGNORE] * start + ids[start:]
    return ids, labels


def batches(
    tokenizer: PreTrainedTokenizerFast,
    next_conversation: Callable[[], Conversation],
    batch_size: int,
    rng: random.Random,
    pool: int = 8,
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless right-padded batches of ``next_conversation()``.

    Episodes are bucketed by length (``pool`` batches at a time, sorted, then the batch order
    shuffled): retry episodes are 2-4x longer than single-turn ones, and padding every batch to its
    longest episode would waste most of the CPU budget.
    """
    pad = tokenizer.pad_token_id
    assert pad is not None
    while True:
        encoded = sorted(
            (encode_episode(tokenizer, next_conversation()) for _ in range(batch_size * pool)),
            key=lambda pair: len(pair[0]),
        )
        chunks = [encoded[i : i + batch_size] for i in range(0, len(encoded), batch_size)]
        rng.shuffle(chunks)
        for chunk in chunks:
            width = max(len(ids) for ids, _ in chunk)
            fill = [width - len(ids) for ids, _ in chunk]
            yield {
                "input_ids": torch.tensor([ids + [pad] * n for (ids, _), n in zip(chunk, fill, strict=True)]),
                "attention_mask": torch.tensor([[1] * (width - n) + [0] * n for n in fill]),
                "labels": torch.tensor([lab + [IGNORE] * n for (_, lab), n in zip(chunk, fill, strict=True)]),
            }
