"""A scripted stand-in for a remote chat model, usable across processes (tests, benchmarks).

The reply depends only on the conversation (how many attempts it already holds), so a worker that
resumes a job in another process answers exactly as the first one would have. Every call is appended
to a JSON-lines log, so tests can prove which model calls were (not) repeated after a crash.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

SCRIPT_ENV = "INTROSPECT_TEST_SCRIPT"

# A summary shaped like TokenStats.summary() for a confident answer (the gate reads these keys).
CONFIDENT_STATS: dict[str, Any] = {
    "n_tokens": 6,
    "exact": True,
    "mean_self_certainty": 6.0,
    "mean_entropy": 0.1,
    "mean_varentropy": 0.2,
    "mean_nll": 0.05,
    "gnll": 0.3,
    "mean_margin": 3.0,
    "min_margin": 2.0,
    "min_logprob": -0.2,
    "regime": "confident",
}


class ScriptFailure(RuntimeError):
    """The script says this call fails (a poison job)."""


@dataclass(frozen=True)
class Script:
    answers: list[str]
    delay_s: float = 0.0
    delay_on_attempt: int | None = None  # None: every call waits delay_s
    fail: bool = False
    log_path: str | None = None
    stats: dict[str, Any] = field(default_factory=lambda: dict(CONFIDENT_STATS))
    # Per-token arrays (``TokenStats.to_compact()``) a logprob-returning remote model would give.
    token_stats: dict[str, Any] | None = None

    @classmethod
    def from_env(cls) -> Script:
        return cls(**json.loads(os.environ[SCRIPT_ENV]))

    def to_env(self) -> str:
        return json.dumps(self.__dict__)


class ConversationScriptedModel(BaseChatModel):
    script: Script
    model_name: str = "scripted"
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "conversation-scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        attempt = sum(1 for m in messages if m.type == "ai")
        task = next((m.text for m in messages if m.type == "human"), "")
        self._log({"event": "start", "task": task, "attempt": attempt, "pid": os.getpid()})
        if self.script.fail:
            raise ScriptFailure("scripted model failure")
        if self.script.delay_s and self.script.delay_on_attempt in (None, attempt):
            time.sleep(self.script.delay_s)
        text = self.script.answers[min(attempt, len(self.script.answers) - 1)]
        self._log({"event": "end", "task": task, "attempt": attempt, "pid": os.getpid()})
        usage = UsageMetadata(input_tokens=10, output_tokens=5, total_tokens=15)
        generations = [
            ChatGeneration(
                message=AIMessage(
                    content=text,
                    response_metadata={
                        "stats": dict(self.script.stats),
                        "token_stats": self.script.token_stats,
                        "model": self.model_name,
                    },
                    usage_metadata=usage,
                )
            )
            for _ in range(int(kwargs.get("n", 1)))
        ]
        return ChatResult(generations=generations)

    def _log(self, record: dict[str, Any]) -> None:
        if self.script.log_path is None:
            return
        with self._lock, Path(self.script.log_path).open("a") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()


class ScriptedProvider:
    """A ModelProvider whose every model name is the scripted model; no local scorer."""

    def __init__(self, script: Script) -> None:
        self._model = ConversationScriptedModel(script=script)

    def chat_model(self, name: str) -> BaseChatModel:
        return self._model

    def scorer(self) -> None:
        return None

    def prompt_overrides(self) -> Path:
        """RISE's conversation format (the demo model's prompts): the scripted model counts its
        earlier attempts as the assistant messages of the conversation it is sent."""
        from introspect.models.catalog import CATALOG

        prompts = CATALOG["demo"].prompts
        assert prompts is not None
        return prompts


def read_call_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
