"""What every model backend returns, and the interface graph nodes program against.

Backends: :class:`~introspect.models.local.LocalModel` (transformers, exact statistics from the full
logits) and :class:`~introspect.models.openai_compat.OpenAICompatModel` (any OpenAI-compatible server,
statistics approximated from top-k log-probs). Both are wrapped as LangChain chat models in
:mod:`introspect.models.chat`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from introspect.uncertainty.token_stats import TokenStats

Message = Mapping[str, Any]  # OpenAI-style chat message: {"role": ..., "content": ...}
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True, slots=True)
class Generation:
    """One sampled response with its per-token statistics (``None`` if the backend gave none)."""

    text: str
    token_ids: list[int] | None  # None when the server does not report ids (OpenAI-compatible)
    stats: TokenStats | None
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    model: str
    lock_wait_ms: float = 0.0  # time spent queued behind other calls to the same model
    weights_hash: str | None = None  # sha256 of the weights that wrote it (local models)

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@runtime_checkable
class ChatBackend(Protocol):
    """A chat model that samples ``n`` candidates with token statistics in one call."""

    name: str

    def generate(
        self,
        messages: Sequence[Message],
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        n: int = 1,
        **kwargs: Any,
    ) -> list[Generation]: ...
