"""Both backends as LangChain chat models, so any graph node can take any ``BaseChatModel``.

Every ``AIMessage`` carries the uncertainty in ``response_metadata``::

    {"token_stats": TokenStats.to_compact() | None, "stats": TokenStats.summary() | None,
     "model": name, "usage": {"prompt_tokens", "completion_tokens", "total_tokens"},
     "finish_reason": "stop" | "length"}

``invoke`` returns one answer; :meth:`StatsChatModel.generate_candidates` returns ``n`` sampled in one
backend call (Best-of-N). Statistics can be read back with ``TokenStats.from_compact``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from introspect.models.base import ChatBackend, Generation
from introspect.models.local import LocalModel
from introspect.models.openai_compat import DEFAULT_VOCAB_SIZE, MAX_TOP_LOGPROBS, OpenAICompatModel
from introspect.uncertainty.token_stats import TokenStats


def to_backend_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages -> OpenAI-style dicts with string content (what chat templates expect)."""
    return [dict(m) for m in convert_to_openai_messages(list(messages), text_format="string")]


def _summary(stats: TokenStats, weights_hash: str | None) -> dict[str, Any]:
    summary = stats.summary()
    return summary if not weights_hash else {**summary, "weights_hash": weights_hash}


def to_ai_message(generation: Generation) -> AIMessage:
    stats = generation.stats
    usage = generation.usage()
    return AIMessage(
        content=generation.text,
        response_metadata={
            "token_stats": None if stats is None else stats.to_compact(),
            "stats": None if stats is None else _summary(stats, generation.weights_hash),
            "model": generation.model,
            "model_name": generation.model,
            "usage": usage,
            "finish_reason": generation.finish_reason,
            "lock_wait_ms": generation.lock_wait_ms,
        },
        usage_metadata=UsageMetadata(
            input_tokens=usage["prompt_tokens"],
            output_tokens=usage["completion_tokens"],
            total_tokens=usage["total_tokens"],
        ),
    )


class StatsChatModel(BaseChatModel):
    """Shared logic: sampling defaults, message conversion, metadata. Subclasses supply the backend."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    max_new_tokens: int = 256
    temperature: float = 0.0
    n: int = Field(default=1, ge=1)

    def backend(self) -> ChatBackend:
        raise NotImplementedError

    @property
    def _llm_type(self) -> str:
        return "introspect"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.backend().name,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        options: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "n": self.n,
            **kwargs,
        }
        if stop:
            options["stop"] = stop
        backend = self.backend()
        generations = backend.generate(to_backend_messages(messages), **options)
        total = {"prompt_tokens": generations[0].prompt_tokens if generations else 0, "completion_tokens": 0}
        total["completion_tokens"] = sum(g.completion_tokens for g in generations)
        return ChatResult(
            generations=[ChatGeneration(message=to_ai_message(g)) for g in generations],
            llm_output={"model": backend.name, "usage": total},
        )

    def generate_candidates(self, messages: Sequence[BaseMessage], n: int, **kwargs: Any) -> list[AIMessage]:
        """``n`` sampled answers from one backend call (callbacks and tracing apply as for ``invoke``)."""
        result = self.generate([list(messages)], n=n, **kwargs)
        out = [g.message for g in result.generations[0] if isinstance(g, ChatGeneration)]
        return [m for m in out if isinstance(m, AIMessage)]


class LocalChatModel(StatsChatModel):
    """A :class:`LocalModel` as a chat model: exact statistics from the full logits.

    ``LocalChatModel(local_model=lm)`` or ``LocalChatModel(model=lm)``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    local_model: LocalModel = Field(alias="model")
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None

    @classmethod
    def from_pretrained(
        cls, path: str | Path, device: str = "auto", dtype: Any = "auto", **kwargs: Any
    ) -> LocalChatModel:
        return cls(local_model=LocalModel.from_pretrained(path, device=device, dtype=dtype), **kwargs)

    def backend(self) -> ChatBackend:
        return self.local_model

    @property
    def _llm_type(self) -> str:
        return "introspect-local"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        options = {"top_p": self.top_p, "top_k": self.top_k, "seed": self.seed, **kwargs}
        return super()._generate(messages, stop, run_manager, **options)


class OpenAICompatChatModel(StatsChatModel):
    """An OpenAI-compatible server as a chat model: approximate statistics from top-k log-probs."""

    model: str
    base_url: str | None = None
    api_key: str | None = None
    top_logprobs: int = Field(default=MAX_TOP_LOGPROBS, ge=0, le=MAX_TOP_LOGPROBS)
    vocab_size: int = DEFAULT_VOCAB_SIZE
    timeout: float = 120.0
    max_retries: int = 2
    http_client: Any = None  # an httpx.Client, e.g. with a MockTransport in tests
    _backend: OpenAICompatModel | None = PrivateAttr(default=None)

    def backend(self) -> ChatBackend:
        if self._backend is None:
            self._backend = OpenAICompatModel(
                self.model,
                base_url=self.base_url,
                api_key=self.api_key,
                http_client=self.http_client,
                top_logprobs=self.top_logprobs,
                vocab_size=self.vocab_size,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._backend

    @property
    def _llm_type(self) -> str:
        return "introspect-openai-compatible"
