"""The LLM critic: a chat model reviews the attempt through the ``critique`` prompt template.

The template asks for one JSON object ``{"verdict": ..., "issues": [...]}``. Parsing is lenient
(the first JSON object in the reply, else a "verdict: x" line) because small and remote models
alike wrap JSON in prose; an unparseable reply yields verdict ``unknown`` with the raw text as
feedback rather than an error, since a critic's failure must not fail the job.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from introspect.critics.base import CritiqueCall, CritiqueInput, CritiqueResult, Verdict
from introspect.critics.feedback import RISE_FEEDBACK
from introspect.prompting import PromptLibrary, default_library

_VERDICT_LINE = re.compile(r"verdict\W+(correct|incorrect)", re.IGNORECASE)


def parse_verdict(text: str) -> tuple[Verdict, list[str]]:
    """(verdict, issues) from a critic's reply; ``unknown`` when it states no verdict."""
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and str(value.get("verdict", "")).lower() in ("correct", "incorrect"):
            issues = value.get("issues") or []
            verdict: Verdict = "correct" if str(value["verdict"]).lower() == "correct" else "incorrect"
            return verdict, [str(i) for i in issues] if isinstance(issues, list) else [str(issues)]
    line = _VERDICT_LINE.search(text)
    if line:
        return ("correct" if line.group(1).lower() == "correct" else "incorrect"), []
    return "unknown", []


def usage(message: AIMessage) -> tuple[int | None, int | None]:
    meta = message.usage_metadata
    if meta is None:
        return None, None
    return meta.get("input_tokens"), meta.get("output_tokens")


class LlmCritic:
    name = "llm"

    def __init__(
        self,
        model: BaseChatModel,
        model_name: str,
        prompts: PromptLibrary | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.template = (prompts or default_library())["critique"]
        self.max_tokens = max_tokens

    def critique(self, item: CritiqueInput) -> CritiqueResult:
        messages: list[dict[str, Any]] = [self.template.message(question=item.question, answer=item.answer)]
        kwargs: dict[str, Any] = {} if self.max_tokens is None else {"max_tokens": self.max_tokens}
        started = time.perf_counter()
        reply = self.model.invoke(messages, **kwargs)
        latency_ms = (time.perf_counter() - started) * 1000
        text = reply.text if isinstance(reply, AIMessage) else str(reply.content)
        verdict, issues = parse_verdict(text)
        prompt_tokens, completion_tokens = usage(reply) if isinstance(reply, AIMessage) else (None, None)
        if verdict == "incorrect":
            feedback = " ".join([RISE_FEEDBACK, *issues]).strip()
        elif verdict == "unknown":
            feedback = text.strip() or RISE_FEEDBACK
        else:
            feedback = ""
        return CritiqueResult(
            critic=self.name,
            verdict=verdict,
            feedback=feedback,
            issues=issues,
            model=self.model_name,
            call=CritiqueCall(
                messages=messages,
                output=text,
                model=self.model_name,
                prompt_template=self.template.name,
                prompt_hash=self.template.sha256,
                latency_ms=latency_ms,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
            ),
        )
