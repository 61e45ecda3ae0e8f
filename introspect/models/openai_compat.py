"""Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp, OpenAI) as a backend with token stats.

We ask for ``logprobs`` and the top ``k <= 20`` alternatives per token and turn them into approximate
:class:`~introspect.uncertainty.TokenStats` (``exact=False``): chosen log-probs and margins are exact,
entropy is bracketed (see :mod:`introspect.uncertainty.bracket`), self-certainty is unavailable.
Whether those log-probs describe the raw or the temperature-scaled distribution is the server's
choice (vLLM: raw by default, see its ``logprobs_mode``). For exact stats of a remote answer, score it
with :meth:`introspect.models.local.LocalModel.score`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from introspect.models.base import FinishReason, Generation, Message
from introspect.uncertainty.bracket import stats_from_top_logprobs
from introspect.uncertainty.token_stats import TokenStats

if TYPE_CHECKING:
    import openai

# OpenAI caps top_logprobs at 20 and reports tokens outside the top 20 with this placeholder.
MAX_TOP_LOGPROBS = 20
SENTINEL_LOGPROB = -9999.0
# The entropy upper bound only grows with V, so an overestimate keeps it valid: 2^18 covers Llama 3
# (128k), Qwen (152k), o200k (200k) and Gemma (262k) vocabularies.
DEFAULT_VOCAB_SIZE = 262_144


class OpenAICompatModel:
    """Chat completions with log-probs from ``base_url`` (``None``: the ``openai`` package default)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: openai.OpenAI | None = None,
        http_client: Any = None,  # an httpx.Client or httpx2.Client (e.g. with a MockTransport)
        top_logprobs: int = MAX_TOP_LOGPROBS,
        vocab_size: int = DEFAULT_VOCAB_SIZE,
        timeout: float = 120.0,
        max_retries: int = 2,
        name: str | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if not 0 <= top_logprobs <= MAX_TOP_LOGPROBS:
            raise ValueError(f"top_logprobs must be in 0..{MAX_TOP_LOGPROBS}")
        if client is None:
            import openai

            # Local servers ignore the key, but the client refuses to start without one.
            client = openai.OpenAI(
                base_url=base_url,
                api_key=api_key or "not-needed",
                http_client=http_client,
                timeout=timeout,
                max_retries=max_retries,
            )
        self.client = client
        self.model = model
        self.name = name or model
        self.top_logprobs = top_logprobs
        self.vocab_size = vocab_size
        self.extra_body = extra_body

    def generate(
        self,
        messages: Sequence[Message],
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        n: int = 1,
        *,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        top_p: float | None = None,
        **_: Any,
    ) -> list[Generation]:
        """``n`` candidates; servers that ignore ``n`` (Ollama, llama.cpp) are asked again until we
        have ``n``, each re-ask with its own seed (``seed + k``; a random base when none is given) --
        the same seed would make a seeded sampler return the same answer N times."""
        if n < 1:
            raise ValueError("n must be >= 1")
        out: list[Generation] = []
        base_seed = seed
        if base_seed is None and n > 1 and temperature > 0:
            base_seed = secrets.randbelow(2**31 - n)
        asks = 0
        while len(out) < n:
            ask_seed = None if base_seed is None else base_seed + asks
            asks += 1
            request: dict[str, Any] = {
                "model": self.model,
                "messages": [dict(m) for m in messages],
                "max_tokens": max_new_tokens,
                "temperature": temperature,
                "n": n - len(out),
                "logprobs": True,
            }
            if self.top_logprobs:
                request["top_logprobs"] = self.top_logprobs
            optional = {"stop": list(stop) if stop else None, "seed": ask_seed, "top_p": top_p}
            request.update({k: v for k, v in optional.items() if v is not None})
            if self.extra_body:
                request["extra_body"] = self.extra_body
            response = self.client.chat.completions.create(**request)
            if not response.choices:
                raise RuntimeError(f"{self.name}: the server returned no choices")
            prompt_tokens = response.usage.prompt_tokens if response.usage else 0
            choices = sorted(response.choices, key=lambda c: c.index)
            counts = completion_counts(choices, response.usage)
            for choice, count in zip(choices, counts, strict=True):
                out.append(self._generation(choice, prompt_tokens, count))
        return out[:n]

    def _generation(self, choice: Any, prompt_tokens: int, completion_tokens: int) -> Generation:
        content = choice.logprobs.content if choice.logprobs is not None else None
        stats = None if not content else self.stats_from_content(content)
        reason: FinishReason = "length" if choice.finish_reason == "length" else "stop"
        return Generation(
            text=choice.message.content or "",
            token_ids=None,
            stats=stats,
            finish_reason=reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            model=self.name,
        )

    def stats_from_content(self, content: Sequence[Any]) -> TokenStats:
        """Approximate stats from ``choice.logprobs.content`` (``ChatCompletionTokenLogprob`` list)."""
        tops = [[alt for alt in tok.top_logprobs if alt.logprob > SENTINEL_LOGPROB] for tok in content]
        return stats_from_top_logprobs(
            [tok.logprob for tok in content],
            [[alt.logprob for alt in row] for row in tops],
            self.vocab_size,
            chosen_in_top=[
                any(alt.token == tok.token for alt in row) for tok, row in zip(content, tops, strict=True)
            ],
            tokens=[tok.token for tok in content],
            top_tokens=[[alt.token for alt in row] for row in tops],
        )


def completion_counts(choices: Sequence[Any], usage: Any) -> list[int]:
    """Completion tokens per choice, from the server's ``usage`` (what budgets must count): one
    choice gets all of it; several share it in proportion to their log-prob counts, else evenly.
    Without ``usage`` the number of log-prob entries is the best count there is."""
    by_logprobs = [len(c.logprobs.content or []) if c.logprobs is not None else 0 for c in choices]
    total = getattr(usage, "completion_tokens", None) if usage is not None else None
    if not isinstance(total, int) or total < 0:
        return by_logprobs
    if len(choices) == 1:
        return [total]
    weights = by_logprobs if sum(by_logprobs) > 0 else [1] * len(choices)
    shares = [total * w // sum(weights) for w in weights]
    shares[0] += total - sum(shares)  # the rounding remainder, so the shares add up to usage
    return shares
