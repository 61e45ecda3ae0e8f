"""A fake OpenAI-compatible chat server (httpx.MockTransport): no network, known distributions."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np

VOCAB = [f"w{i}" for i in range(50)]


def distribution(step: int) -> np.ndarray:
    """The fake model's log-probs at ``step``: a fixed random softmax over 50 tokens."""
    rng = np.random.default_rng(step)
    logits = rng.normal(0, 2.5, len(VOCAB))
    return logits - np.logaddexp.reduce(logits)


class FakeServer:
    def __init__(
        self,
        *,
        steps: int = 5,
        honour_n: bool = True,
        with_logprobs: bool = True,
        seeded: bool = False,
        usage: bool = True,
        finish_reason: str = "length",
    ) -> None:
        """``seeded``: like llama.cpp's server, ignore ``n`` and let the seed alone decide the
        answer (one seed, one answer); ``usage``: report token counts."""
        self.steps = steps
        self.honour_n = honour_n and not seeded
        self.with_logprobs = with_logprobs
        self.seeded = seeded
        self.usage = usage
        self.finish_reason = finish_reason
        self.requests: list[dict[str, Any]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport())

    def choice(self, index: int, k: int) -> dict[str, Any]:
        content = []
        for step in range(self.steps):
            logp = distribution(step)
            order = np.argsort(-logp)
            # Candidate `index` picks its `index`-th most likely token (sometimes outside the top-k).
            chosen = int(order[min(index * 7, len(order) - 1)])
            top = [{"token": VOCAB[j], "logprob": float(logp[j]), "bytes": None} for j in order[:k]]
            content.append(
                {"token": VOCAB[chosen], "logprob": float(logp[chosen]), "bytes": None, "top_logprobs": top}
            )
        text = " ".join(c["token"] for c in content)
        return {
            "index": index,
            "finish_reason": self.finish_reason,
            "message": {"role": "assistant", "content": text},
            "logprobs": {"content": content} if self.with_logprobs else None,
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions"), request.url
        body = json.loads(request.content)
        self.requests.append(body)
        n = body.get("n", 1) if self.honour_n else 1
        k = body.get("top_logprobs", 0)
        if self.seeded:
            choices = [self.choice(int(body.get("seed") or 0) % 7, k)]
        else:
            choices = [
                self.choice(len(self.requests) * 10 + i if not self.honour_n else i, k) for i in range(n)
            ]
        for position, choice in enumerate(choices):
            choice["index"] = position
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": choices,
                "usage": {
                    "prompt_tokens": 7,
                    "completion_tokens": len(choices) * self.steps,
                    "total_tokens": 7 + len(choices) * self.steps,
                }
                if self.usage
                else None,
            },
        )


def true_entropy(step: int) -> float:
    logp = distribution(step)
    return float(-(np.exp(logp) * logp).sum())
