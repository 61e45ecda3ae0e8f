"""A local transformers causal LM that reports exact token statistics for what it writes or reads.

``generate`` samples ``n`` candidates in one batched ``model.generate`` call with a
:class:`~introspect.uncertainty.collector.StatsCollector` attached (O(T) numbers kept, never the
T x V logits). ``score`` teacher-forces any response -- e.g. one written by a remote model -- in one
forward pass and returns the same statistics ``generate`` would have recorded for those tokens.

torch and transformers are imported inside methods, so importing this module stays cheap. Calls
from many worker threads share forward passes: a :class:`~introspect.models.batching.Batcher` decodes
concurrent requests together, token by token (``batching=None`` serialises them behind a lock
instead, through ``model.generate``). We never touch ``torch.set_num_threads``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from introspect.models.base import Generation, Message
from introspect.models.batching import Batcher, BatchSettings
from introspect.models.chat_format import (
    end_of_turn_ids,
    ensure_chat_template,
    fit_to_context,
    fold_system,
    supports_system,
)
from introspect.models.devices import resolve_device, resolve_dtype
from introspect.models.sampling import Sampling
from introspect.models.stops import StopStrings
from introspect.uncertainty.token_stats import TokenStats

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Response = str | Sequence[int]


class LocalModel:
    """A causal LM plus its tokenizer (which must have a chat template)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str | None = None,
        top_alternatives: int = 5,
        weights_sha256: str | None = None,
        chat_template: Path | None = None,
        batching: BatchSettings | None = BatchSettings(),
    ) -> None:
        from transformers import GenerationConfig

        from introspect.models.kv_batch import supports_batching

        self.name = name or str(getattr(model.config, "name_or_path", "") or type(model).__name__)
        ensure_chat_template(tokenizer, self.name, chat_template)
        self.model = model.eval()
        self.tokenizer = tokenizer
        # Which weights produce this model's numbers: every turn records it beside the model's name
        # (statistics' ``weights_hash``), and gate profiles are keyed on both.
        self.weights_hash = weights_sha256 or ""
        self.identity = self.name if not weights_sha256 else f"{self.name}@{weights_sha256[:12]}"
        self.top_alternatives = top_alternatives
        self.eos_token_ids = _eos_ids(model, tokenizer)
        pad = tokenizer.pad_token_id
        self.pad_token_id: int = int(pad) if pad is not None else self.eos_token_ids[0]
        self.supports_system = supports_system(tokenizer)
        self.context_length = _context_length(model, tokenizer)
        # generate() fills every knob left None from model.generation_config -- including logits
        # pre-processors (repetition penalty, suppressed tokens...) that would run *before* the stats
        # collector and distort the "raw" distribution. So generation starts from a clean config; the
        # checkpoint's own is kept for reference.
        self.checkpoint_generation_config = model.generation_config
        self.model.generation_config = GenerationConfig(
            eos_token_id=self.eos_token_ids, pad_token_id=self.pad_token_id
        )
        # Without a batcher: serialises whole calls. With one: only the tokenizer's encoding.
        self._lock = threading.Lock()
        self.batcher = (
            Batcher(self.model, self._score_batch, top_k=top_alternatives, settings=batching)
            if batching is not None and supports_batching(self.model)
            else None
        )

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        device: str = "auto",
        dtype: Any = "auto",
        *,
        name: str | None = None,
        top_alternatives: int = 5,
        gguf_file: str | None = None,
        weights_sha256: str | None = None,
        chat_template: Path | None = None,
        batching: BatchSettings | None = BatchSettings(),
    ) -> LocalModel:
        """Load a local transformers directory, or ``gguf_file`` inside it (dequantised), with no hub
        downloads (``local_files_only``). Device and dtype are checked before any weights load."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, device)
        if gguf_file is not None:
            from introspect.models.gguf import load_gguf

            model, tokenizer = load_gguf(Path(path), gguf_file, torch_dtype)
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch_dtype, local_files_only=True)
        model = model.to(device)
        return cls(
            model,
            tokenizer,
            name=name or Path(path).name,
            top_alternatives=top_alternatives,
            weights_sha256=weights_sha256,
            chat_template=chat_template,
            batching=batching,
        )

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode_prompt(self, messages: Sequence[Message], reserve: int = 0) -> list[int]:
        """Token ids of the chat-formatted conversation, ending with the assistant prompt. System
        text is folded into the first user message where the template has no system role; a
        conversation longer than the context minus ``reserve`` loses its oldest attempts first."""
        dicts = _as_dicts(messages)
        if not self.supports_system:
            dicts = fold_system(dicts)
        if self.context_length is None:
            return self._template_ids(dicts)
        fitted, _ = fit_to_context(dicts, lambda m: len(self._template_ids(m)), self.context_length - reserve)
        return self._template_ids(fitted)

    def _template_ids(self, messages: list[dict[str, Any]]) -> list[int]:
        encoded: Any = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return [int(i) for i in encoded["input_ids"]]

    def generate(
        self,
        messages: Sequence[Message],
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        n: int = 1,
        *,
        top_p: float = 1.0,
        top_k: int = 0,
        min_p: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        **_: Any,
    ) -> list[Generation]:
        """``n`` candidates sampled in one batched call; ``temperature == 0`` is greedy (computed
        once, returned ``n`` times). ``min_p`` (Nguyen et al. 2024) drops tokens less likely than
        ``min_p`` times the top token's probability before sampling. Statistics describe the raw
        distribution, before temperature, top-k, top-p and min-p. ``seed`` seeds this call's own
        generator. ``stop`` sequences end a candidate (its text ends before them) when batching;
        the lock path refuses them."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        from introspect.uncertainty.collector import StatsCollector

        if n < 1:
            raise ValueError("n must be >= 1")
        if self.batcher is not None:
            return self._generate_batched(
                messages, max_new_tokens, n, Sampling(temperature, top_p, top_k, min_p, seed), stop
            )
        if stop:
            raise ValueError("LocalModel does not support stop sequences")
        sample = temperature > 0
        config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=sample,
            num_return_sequences=n if sample else 1,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.pad_token_id,
            **(
                {"temperature": temperature, "top_p": top_p, "top_k": top_k, "min_p": min_p or None}
                if sample
                else {}
            ),
        )
        waiting = time.perf_counter()
        with self._lock:
            lock_wait_ms = (time.perf_counter() - waiting) * 1000
            prompt = self.encode_prompt(messages, reserve=max_new_tokens)
            input_ids = torch.tensor([prompt], device=self.device)
            collector = StatsCollector(top_k=self.top_alternatives)
            with torch.inference_mode(), _seeded(seed, self.device):
                sequences = self.model.generate(
                    input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    generation_config=config,
                    logits_processor=LogitsProcessorList([collector]),
                )
            all_stats = collector.finalize(sequences, self.eos_token_ids)
            generations = [self._generation(stats, len(prompt), lock_wait_ms) for stats in all_stats]
        if not sample:
            generations = [dataclasses.replace(generations[0]) for _ in range(n)]
        return generations

    def _generate_batched(
        self,
        messages: Sequence[Message],
        max_new_tokens: int,
        n: int,
        sampling: Sampling,
        stop: Sequence[str] | None,
    ) -> list[Generation]:
        assert self.batcher is not None
        with self._lock:
            prompt = self.encode_prompt(messages, reserve=max_new_tokens)
        rows = self.batcher.generate(
            prompt,
            copies=1 if sampling.greedy else n,
            max_new_tokens=max_new_tokens,
            sampling=sampling,
            eos=self.eos_token_ids,
            stop=StopStrings(self.tokenizer, stop) if stop else None,
        )
        generations = []
        for row in rows:
            generation = self._generation(row.stats, len(prompt))
            if row.text_before_stop is not None:
                generation = dataclasses.replace(generation, text=row.text_before_stop, finish_reason="stop")
            generations.append(generation)
        if sampling.greedy:
            generations = [dataclasses.replace(generations[0]) for _ in range(n)]
        return generations

    def score(self, messages: Sequence[Message], response: Response, *, add_eos: bool = False) -> TokenStats:
        """Teacher-forced statistics of ``response`` (text or token ids) after ``messages``."""
        return self.score_many(messages, [response], add_eos=add_eos)[0]

    def score_many(
        self,
        messages: Sequence[Message] | Sequence[Sequence[Message]],
        responses: Sequence[Response],
        *,
        add_eos: bool = False,
        batch_size: int = 8,
    ) -> list[TokenStats]:
        """Statistics of many responses, ``batch_size`` per forward pass (right-padded, so causal
        attention leaves each row's numbers unchanged). ``messages`` is one conversation for all
        responses or one per response. Text responses are tokenised without special tokens;
        ``add_eos`` appends the end-of-turn token so its probability is scored too. When batching,
        the batcher's ``max_batch_size`` replaces ``batch_size``."""
        if self.batcher is not None:
            with self._lock:
                conversations = _per_response(messages, len(responses))
                targets = [self._response_ids(r, add_eos) for r in responses]
                pairs = zip(conversations, targets, strict=True)
                prompts = [self.encode_prompt(c, reserve=len(t)) for c, t in pairs]
            return self.batcher.score(prompts, targets)
        with self._lock:
            conversations = _per_response(messages, len(responses))
            targets = [self._response_ids(r, add_eos) for r in responses]
            pairs = zip(conversations, targets, strict=True)
            prompts = [self.encode_prompt(c, reserve=len(t)) for c, t in pairs]
            out: list[TokenStats] = []
            for start in range(0, len(responses), batch_size):
                end = start + batch_size
                out.extend(self._score_batch(prompts[start:end], targets[start:end]))
        return out

    def _response_ids(self, response: Response, add_eos: bool) -> list[int]:
        if isinstance(response, str):
            ids = list(self.tokenizer(response, add_special_tokens=False)["input_ids"])
        else:
            ids = [int(i) for i in response]
        return [*ids, self.eos_token_ids[0]] if add_eos else ids

    def _score_batch(self, prompts: list[list[int]], targets: list[list[int]]) -> list[TokenStats]:
        import torch

        from introspect.uncertainty.logits import finish_stats, row_sums, stats_from_arrays

        seqs = [p + t for p, t in zip(prompts, targets, strict=True)]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for b, s in enumerate(seqs):
            ids[b, : len(s)] = torch.tensor(s)
            mask[b, : len(s)] = 1
        # Row b's response token j sits at position P_b + j and is predicted at P_b + j - 1; keep only
        # the logits from the earliest such position on (no T x V logits for the prompts).
        first = min(len(p) for p in prompts) - 1
        if first < 0:
            raise ValueError("empty prompt: nothing predicts the first response token")
        kwargs: dict[str, Any] = {}
        if "logits_to_keep" in inspect.signature(self.model.forward).parameters:
            kwargs["logits_to_keep"] = width - first
        with torch.inference_mode():
            logits = self.model(
                input_ids=ids.to(self.device), attention_mask=mask.to(self.device), **kwargs
            ).logits
            logits = logits[:, logits.shape[1] - (width - first) :]
            # Next-token targets for every kept position (padding predicts pad; sliced away below).
            nxt = torch.cat([ids[:, first + 1 :], ids.new_full((len(seqs), 1), self.pad_token_id)], dim=1)
            sums = row_sums(logits, top_k=self.top_alternatives)
            arrays = finish_stats(sums, sums.shifted_of(nxt.to(logits.device)))
        out = []
        for b, (p, t) in enumerate(zip(prompts, targets, strict=True)):
            offset = len(p) - 1 - first
            stats = stats_from_arrays(arrays, b, len(t), t, self.top_alternatives, start=offset)
            out.append(self._with_text(stats))
        return out

    def _generation(self, stats: TokenStats, prompt_tokens: int, lock_wait_ms: float = 0.0) -> Generation:
        ids = [] if stats.token_ids is None else stats.token_ids.tolist()
        stopped = bool(ids) and ids[-1] in self.eos_token_ids
        text_ids = ids[:-1] if stopped else ids
        return Generation(
            text=str(self.tokenizer.decode(text_ids, skip_special_tokens=True)),
            token_ids=ids,
            stats=self._with_text(stats),
            finish_reason="stop" if stopped else "length",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(ids),
            model=self.name,
            weights_hash=self.weights_hash or None,
            lock_wait_ms=lock_wait_ms,
        )

    def _with_text(self, stats: TokenStats) -> TokenStats:
        """Attach each token's text and its alternatives' text (for the per-token heatmap)."""
        tokens = None if stats.token_ids is None else self._pieces(stats.token_ids.tolist())
        top_tokens = None
        if stats.top_ids is not None and stats.top_ids.size:
            k = stats.top_ids.shape[1]
            flat = self._pieces(stats.top_ids.reshape(-1).tolist())
            top_tokens = [flat[i : i + k] for i in range(0, len(flat), k)]
        return dataclasses.replace(stats, tokens=tokens, top_tokens=top_tokens)

    def _pieces(self, ids: list[int]) -> list[str]:
        return [str(s) for s in self.tokenizer.batch_decode([[i] for i in ids])]


def _eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Stop ids: the chat template's end-of-turn token first (what ``add_eos`` appends), then the
    tokenizer's EOS, the checkpoint's generation config and model config."""
    ids: list[int] = list(end_of_turn_ids(tokenizer))
    for source in (tokenizer.eos_token_id, model.generation_config.eos_token_id, model.config.eos_token_id):
        for i in source if isinstance(source, list) else [source]:
            if i is not None and int(i) not in ids:
                ids.append(int(i))
    if not ids:
        raise ValueError("the model has no EOS token")
    return ids


def _context_length(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int | None:
    """Tokens the model attends over: the config's position limit, else a real tokenizer limit."""
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(model.config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 10**7 else None


def _as_dicts(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI-style dicts as they are; LangChain messages converted (string content)."""
    if all(isinstance(m, Mapping) for m in messages):
        return [dict(m) for m in messages]
    from langchain_core.messages import convert_to_openai_messages

    return [dict(m) for m in convert_to_openai_messages(list(messages), text_format="string")]


def _per_response(
    messages: Sequence[Message] | Sequence[Sequence[Message]], n: int
) -> list[Sequence[Message]]:
    first = messages[0] if messages else None
    if first is None or isinstance(first, Mapping) or not isinstance(first, Sequence):
        return [messages] * n  # type: ignore[list-item]
    if len(messages) != n:
        raise ValueError(f"{len(messages)} conversations for {n} responses")
    return list(messages)  # type: ignore[arg-type]


@contextlib.contextmanager
def _seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed sampling without leaving the process-wide RNG changed."""
    if seed is None:
        yield
        return
    import torch

    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
