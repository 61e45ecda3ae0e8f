"""The real openai client (sync, async, streaming) against the live app, with a configured key
(sent as the bearer token) and in keyless loopback mode (the placeholder key served like none)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai
import pytest

from tests.faces.conftest import ALWAYS_WRONG, HUMAN, RIGHT_SECOND, serving

QUESTION = [{"role": "user", "content": "What is 17 + 25?"}]
EXTRA = {"reference": "42", "verifier": "numeric", "max_turns": 3}


def _extension(obj: Any) -> dict[str, Any]:
    extra = obj.model_extra or {}
    assert "introspect" in extra, extra
    return dict(extra["introspect"])


def test_sync_client_keyless_loopback(db_url: str) -> None:
    with serving(db_url, RIGHT_SECOND) as origin:
        client = openai.OpenAI(base_url=f"{origin}/v1", api_key="none")
        assert {m.id for m in client.models.list()} == {"introspect/self_critique", "introspect/best_of_n"}
        completion = client.chat.completions.create(
            model="introspect/self_critique",
            messages=QUESTION,
            extra_body=EXTRA,  # type: ignore[arg-type]
        )
        assert completion.object == "chat.completion"
        assert completion.choices[0].message.content == "The answer is 42."
        assert completion.choices[0].finish_reason == "stop"
        ext = _extension(completion)
        assert ext["success"] is True and ext["turns"] >= 2 and ext["stop_reason"]
        # usage summed over every turn: the scripted model reports 10 + 5 tokens per call.
        job = httpx.get(f"{origin}/v1/jobs/{ext['job_id']}").json()
        trajectory = httpx.get(f"{origin}/v1/trajectories/{ext['trajectory_id']}").json()
        assert job["status"] == "succeeded" and job["metadata"]["face"] == "openai"
        prompt = sum(t["prompt_tokens"] or 0 for t in trajectory["turns"])
        completion_tokens = sum(t["completion_tokens"] or 0 for t in trajectory["turns"])
        assert completion.usage is not None and completion.usage.prompt_tokens == prompt > 10
        assert completion.usage.completion_tokens == completion_tokens
        # The same inputs through metadata (string values, as OpenAI's API wants them).
        again = client.chat.completions.create(
            model="self_critique",
            messages=QUESTION,
            metadata={"reference": "42", "verifier": "numeric", "max_turns": "1", "tag": "m"},
        )
        assert _extension(again)["turns"] == 1
        assert httpx.get(f"{origin}/v1/jobs/{_extension(again)['job_id']}").json()["metadata"]["tag"] == "m"
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="introspect/nope", messages=QUESTION)  # type: ignore[arg-type]
        with pytest.raises(openai.UnprocessableEntityError):
            client.chat.completions.create(
                model="introspect/self_critique",
                messages=QUESTION,
                extra_body={"max_turns": 0},  # type: ignore[arg-type]
            )


def test_streaming_and_async_with_a_configured_key(sqlite_url: str) -> None:
    with serving(sqlite_url, RIGHT_SECOND, api_keys=["sk-test-key"]) as origin:
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{origin}/v1", api_key="none").models.list()
        client = openai.OpenAI(base_url=f"{origin}/v1", api_key="sk-test-key")
        chunks = list(
            client.chat.completions.create(
                model="introspect/self_critique",
                messages=QUESTION,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
                extra_body=EXTRA,
            )
        )
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "The answer is 42."
        progress = [
            _extension(c)
            for c in chunks
            if c.choices and (c.model_extra or {}).get("introspect", {}).get("event")
        ]
        assert progress and progress[0]["phase"] == "generate"
        final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
        assert len(final) == 1 and _extension(final[0])["success"] is True
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0

        async def scenario() -> None:
            aclient = openai.AsyncOpenAI(base_url=f"{origin}/v1", api_key="sk-test-key")
            done = await aclient.chat.completions.create(
                model="introspect/best_of_n",
                messages=QUESTION,
                extra_body={**EXTRA, "config": {"n": 2}},  # type: ignore[arg-type]
            )
            # Best-of-N samples once per candidate: the script's first answer, ranked and returned.
            assert done.choices[0].message.content == "The answer is 41."
            assert done.model == "introspect/best_of_n" and _extension(done)["success"] is False
            stream = await aclient.chat.completions.create(
                model="introspect/self_critique",
                messages=QUESTION,
                stream=True,
                extra_body=EXTRA,  # type: ignore[arg-type]
            )
            parts = [c async for c in stream]
            assert (
                "".join(c.choices[0].delta.content or "" for c in parts if c.choices) == "The answer is 42."
            )
            await aclient.close()

        asyncio.run(scenario())


def test_waiting_for_a_person_is_reported_in_the_extension(sqlite_url: str) -> None:
    with serving(sqlite_url, ALWAYS_WRONG) as origin:
        client = openai.OpenAI(base_url=f"{origin}/v1", api_key="none")
        completion = client.chat.completions.create(
            model="introspect/self_critique",
            messages=QUESTION,
            extra_body={**EXTRA, "config": HUMAN},  # type: ignore[arg-type]
        )
        ext = _extension(completion)
        assert ext["status"] == "waiting_human" and ext["resume"] == f"/v1/jobs/{ext['job_id']}/resume"


def test_logprobs_of_the_final_answer(sqlite_url: str) -> None:
    from introspect.testing.scripted_models import Script
    from introspect.uncertainty.token_stats import TokenStats

    tokens = ["The", " answer", " is", " 42", "."]
    # A local model's stats end with its end-of-turn token: not part of the answer's logprobs.
    stats = TokenStats(
        logprob=[-0.1, -0.2, -0.05, -0.3, -0.01, -0.5],
        entropy=[0.1] * 6,
        varentropy=[0.2] * 6,
        margin=[2.0] * 6,
        top1_logprob=[-0.1, -0.2, -0.05, -0.3, -0.01, -0.5],
        self_certainty=[6.0] * 6,
        tokens=[*tokens, "<|im_end|>"],
        top_logprobs=[[-0.1, -2.5]] * 6,
        top_tokens=[[t, "x"] for t in [*tokens, "<|im_end|>"]],
    )
    script = Script(answers=["The answer is 42."], token_stats=stats.to_compact())
    with serving(sqlite_url, script) as origin:
        client = openai.OpenAI(base_url=f"{origin}/v1", api_key="none")
        completion = client.chat.completions.create(
            model="introspect/self_critique",
            messages=QUESTION,
            logprobs=True,
            top_logprobs=1,
            extra_body=EXTRA,  # type: ignore[arg-type]
        )
        content = completion.choices[0].logprobs.content  # type: ignore[union-attr]
        assert content is not None and [t.token for t in content] == tokens
        assert [t.logprob for t in content] == pytest.approx([-0.1, -0.2, -0.05, -0.3, -0.01])
        assert [len(t.top_logprobs) for t in content] == [1] * 5
        plain = client.chat.completions.create(
            model="introspect/self_critique",
            messages=QUESTION,
            extra_body=EXTRA,  # type: ignore[arg-type]
        )
        assert plain.choices[0].logprobs is None  # not asked for
        key = {"Idempotency-Key": "chat-1"}
        one = client.chat.completions.create(
            model="introspect/self_critique", messages=QUESTION, extra_headers=key
        )  # type: ignore[arg-type]
        two = client.chat.completions.create(
            model="introspect/self_critique", messages=QUESTION, extra_headers=key
        )  # type: ignore[arg-type]
        assert _extension(one)["job_id"] == _extension(two)["job_id"]


def test_responses_api(sqlite_url: str) -> None:
    with serving(sqlite_url, RIGHT_SECOND) as origin:
        client = openai.OpenAI(base_url=f"{origin}/v1", api_key="none")
        response = client.responses.create(
            model="introspect/self_critique",
            input="What is 17 + 25?",
            instructions="Answer with a number.",
            extra_body=EXTRA,
        )
        assert response.output_text == "The answer is 42." and response.status == "completed"
        assert response.usage is not None and response.usage.total_tokens > 0
        ext = _extension(response)
        assert ext["success"] is True and ext["turns"] >= 2
        messages = httpx.get(f"{origin}/v1/jobs/{ext['job_id']}").json()["input"]["messages"]
        assert messages[0] == {"role": "system", "content": "Answer with a number."}
        with pytest.raises(openai.UnprocessableEntityError):
            client.responses.create(model="introspect/self_critique", input="hi", stream=True)
