"""Scripted stand-ins for remote chat models (the only thing tests fake) and a provider around them."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from introspect.config import RemoteModelSpec, Settings


def stats(
    certainty: float = 14.0, entropy: float = 0.1, varentropy: float = 0.2, nll: float = 0.01, n: int = 8
) -> dict[str, Any]:
    """A summary shaped like ``TokenStats.summary()`` with the numbers the gate reads."""
    return {
        "n_tokens": n,
        "exact": True,
        "mean_self_certainty": certainty,
        "mean_entropy": entropy,
        "mean_varentropy": varentropy,
        "mean_nll": nll,
        "gnll": nll * n,
        "mean_margin": 3.0,
        "mean_logprob": -nll,
        "regime": None,
    }


CONFIDENT = stats()
UNSURE = stats(certainty=1.0, entropy=2.0, varentropy=0.5, nll=1.5)  # high H, low V: retrieve
SCATTERED = stats(certainty=0.5, entropy=2.5, varentropy=3.0, nll=2.0)  # high H, high V: escalate
DOUBTFUL = stats(certainty=12.0, entropy=0.5, varentropy=0.5, nll=0.8)  # low confidence, confident regime


class Crash(RuntimeError):
    """Raised by a scripted model to simulate the process dying mid-call."""


@dataclass
class Reply:
    text: str
    stats: dict[str, Any] | None = None
    crash: bool = False


class ScriptedChatModel(BaseChatModel):
    """Answers from ``script`` in order (wrapping around never: running out is a test failure).

    Items are strings (no statistics, like a remote model) or ``Reply``. Every completed call's
    messages are kept in ``calls`` so tests can count model calls and read what the model saw; a
    ``Reply(crash=True)`` consumes its place in the script and raises :class:`Crash`.
    """

    script: list[Any]
    model_name: str = "scripted"
    _calls: list[list[dict[str, Any]]] = PrivateAttr(default_factory=list)
    _position: int = PrivateAttr(default=0)
    invocations: int = 0  # _generate calls: one per invoke, one per batched n-candidate call
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[list[dict[str, Any]]]:
        return self._calls

    def _next(self) -> Reply:
        with self._lock:
            position = self._position
            if position >= len(self.script):
                raise AssertionError(f"{self.model_name}: script exhausted after {position} calls")
            item = self.script[position]
            self._position += 1
        return item if isinstance(item, Reply) else Reply(str(item))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.invocations += 1
        generations = []
        for _ in range(int(kwargs.get("n", 1))):
            reply = self._next()
            if reply.crash:
                raise Crash(f"{self.model_name} crashed")
            with self._lock:
                self._calls.append([{"role": m.type, "content": m.text} for m in messages])
            metadata = (
                {}
                if reply.stats is None
                else {"stats": reply.stats, "token_stats": {"n": reply.stats["n_tokens"]}}
            )
            usage = UsageMetadata(input_tokens=10, output_tokens=5, total_tokens=15)
            message = AIMessage(content=reply.text, response_metadata=metadata, usage_metadata=usage)
            generations.append(ChatGeneration(message=message))
        return ChatResult(generations=generations)


@dataclass
class FakeProvider:
    models: dict[str, BaseChatModel] = field(default_factory=dict)
    score: Any = None

    def chat_model(self, name: str) -> BaseChatModel:
        return self.models[name]

    def scorer(self) -> Any:
        return self.score


def fake_settings(*names: str, **overrides: Any) -> Settings:
    remotes = {name: RemoteModelSpec(base_url="http://127.0.0.1:9/v1", model=name) for name in names}
    return Settings(remote_models=remotes, **overrides)


def model_calls(model: BaseChatModel) -> int:
    assert isinstance(model, ScriptedChatModel)
    return len(model.calls)


def texts(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages]
