"""Batched generation with the model being trained: monitoring, and on-policy RISE rollouts.

RISE (Qu et al. 2024) improves on a model's *own* mistakes: it rolls the current policy out on
training prompts, keeps the attempts that fail, and trains the next attempt (after the feedback) to
be a correct one. Synthetic near-misses teach the format, but a model repairs what it believes to be
true only after seeing its own confident slips; without them it copies the refuted attempt verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import BatchEncoding, GenerationConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from .data import Conversation
from .task import FEEDBACK, Problem, is_correct

__all__ = ["MAX_NEW_TOKENS", "Rollouts", "generate_replies", "greedy_accuracy", "rollout"]

# The longest worked reply (3-digit subtraction or multiplication) is ~50 tokens.
MAX_NEW_TOKENS = 80


def retry_conversation(problem: Problem, attempts: Sequence[str]) -> Conversation:
    """The question, then each refuted attempt followed by the feedback: the state of RISE's MDP."""
    messages: Conversation = [{"role": "user", "content": problem.question}]
    for attempt in attempts:
        messages += [{"role": "assistant", "content": attempt}, {"role": "user", "content": FEEDBACK}]
    return messages


@torch.no_grad()
def generate_replies(
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    conversations: Sequence[Conversation],
    temperature: float = 0.0,
    batch_size: int = 128,
) -> list[str]:
    """One reply per conversation, in left-padded batches (greedy when ``temperature`` is 0)."""
    was_training = model.training
    model.eval()
    replies: list[str] = []
    for i in range(0, len(conversations), batch_size):
        enc = tokenizer.apply_chat_template(
            list(conversations[i : i + batch_size]),
            add_generation_prompt=True,
            padding=True,
            return_tensors="pt",
            return_dict=True,
        )
        assert isinstance(enc, BatchEncoding)
        input_ids: torch.Tensor = enc["input_ids"]
        config = GenerationConfig(
            max_new_tokens=MAX_NEW_TOKENS,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            do_sample=temperature > 0,
            **({"temperature": temperature, "top_k": 0, "top_p": 1.0} if temperature > 0 else {}),
        )
        out = model.generate(  # type: ignore[misc]  # transformers types generate's self too narrowly
            input_ids=input_ids, attention_mask=enc["attention_mask"], generation_config=config
        )
        replies += tokenizer.batch_decode(out[:, input_ids.shape[1] :], skip_special_tokens=True)
    model.train(was_training)
    return replies


def greedy_accuracy(
    model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, problems: Sequence[Problem]
) -> float:
    """Turn-1 greedy accuracy; used to monitor training (on train-split problems), not to select."""
    replies = generate_replies(model, tokenizer, [retry_conversation(p, []) for p in problems])
    right = sum(is_correct(r, p.answer) for r, p in zip(replies, problems, strict=True))
    return right / max(1, len(problems))


@dataclass(frozen=True)
class Rollouts:
    """Problems the policy got wrong, each with its chain of refuted attempts (1..turns)."""

    chains: list[tuple[Problem, list[str]]]
    turn1_accuracy: float
    fixed_per_turn: list[int]  # problems first solved at turn 2, 3, ...


def rollout(
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    problems: Sequence[Problem],
    turns: int = 3,
    temperature: float = 1.0,
) -> Rollouts:
    """Greedy first attempts, then sampled retries after the feedback while they stay wrong.

    The first attempt is greedy because that is what the loop (and the eval) asks first; retries are
    sampled as at inference. A chain ends at the first correct attempt, which is not kept.
    """
    chains: list[list[str]] = [[] for _ in problems]
    active = list(range(len(problems)))
    fixed: list[int] = []
    turn1 = 0
    for turn in range(turns):
        conversations = [retry_conversation(problems[i], chains[i]) for i in active]
        replies = generate_replies(model, tokenizer, conversations, 0.0 if turn == 0 else temperature)
        still_wrong = []
        for i, reply in zip(active, replies, strict=True):
            if is_correct(reply, problems[i].answer):
                if turn == 0:
                    turn1 += 1
                continue
            chains[i].append(reply)
            still_wrong.append(i)
        if turn > 0:
            fixed.append(len(active) - len(still_wrong))
        active = still_wrong
    kept = [(problems[i], chain) for i, chain in enumerate(chains) if chain]
    return Rollouts(kept, turn1 / max(1, len(problems)), fixed)
