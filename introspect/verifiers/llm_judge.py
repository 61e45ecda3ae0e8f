"""The ``llm`` verifier: an LLM judge read as P(True) from the local model's logits.

Kadavath et al. (2022), "Language Models (Mostly) Know What They Know": ask the model whether a
proposed answer is correct and read the probability of "True" against "False" from the next-token
distribution instead of sampling a verdict. We teacher-force both replies with one ``score_many``
call and compare the log-probability of each reply's first token, so the judgement costs one batched
forward pass and is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from introspect.prompting import PromptLibrary, default_library
from introspect.verifiers.base import VerificationResult, VerificationTask


class Scorer(Protocol):
    """The slice of ``LocalModel`` the judge needs: teacher-forced token stats of given replies."""

    def score_many(self, messages: Sequence[Sequence[dict[str, Any]]], responses: Sequence[str]) -> Any: ...


class LlmJudgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=0.5, gt=0, lt=1, description="P(True) needed to pass.")
    true_token: str = "True"
    false_token: str = "False"


class LlmJudgeVerifier:
    name = "llm"
    needs_reference = False

    def __init__(
        self, options: LlmJudgeOptions, scorer: Scorer, prompts: PromptLibrary | None = None
    ) -> None:
        self.options = options
        self.scorer = scorer
        self.template = (prompts or default_library())["judge"]

    def extract(self, output: str) -> str:
        return output.strip()

    def p_true(self, question: str, answer: str) -> float:
        message = self.template.message(question=question, answer=answer)
        both = self.scorer.score_many(
            [[message], [message]], [self.options.true_token, self.options.false_token]
        )
        yes, no = float(both[0].logprob[0]), float(both[1].logprob[0])
        # Softmax over the two verdicts: P(True) renormalised to the {True, False} support.
        top = max(yes, no)
        return math.exp(yes - top) / (math.exp(yes - top) + math.exp(no - top))

    def verify(self, output: str, task: VerificationTask) -> VerificationResult:
        p = self.p_true(task.prompt, output.strip())
        passed = p >= self.options.threshold
        return VerificationResult(
            passed=passed,
            score=p,
            extracted=output.strip(),
            message=None if passed else "A judge model doubts that the answer is correct.",
            details={"p_true": p, "threshold": self.options.threshold, "prompt_hash": self.template.sha256},
        )
