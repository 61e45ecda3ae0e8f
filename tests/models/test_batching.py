"""Continuous batching of the local model: a request's answer and statistics do not depend on the
requests it shares its batch with (the bundled demo model, fp32, CPU)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from introspect.models.batching import BatchSettings
from introspect.models.cancel import GenerationCancelled, cancel_scope
from introspect.models.demo import model_path
from introspect.models.local import LocalModel
from introspect.models.sampling import Sampling
from introspect.uncertainty import TokenStats

FIELDS = ("logprob", "entropy", "varentropy", "self_certainty", "margin", "top1_logprob", "top_logprobs")
QUESTIONS = [
    "What is 2 + 3?",
    "Tom has 12 apples and buys 7 more, then gives 5 to Ann and eats 2. How many apples are left?",
    "What is 40 + 2?",
    "A shop sells 9 pens a day for 6 days. How many pens?",
]


def _messages(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def _assert_same(a: TokenStats | None, b: TokenStats | None, atol: float = 1e-4) -> None:
    assert a is not None and b is not None
    assert a.token_ids is not None and b.token_ids is not None
    assert a.token_ids.tolist() == b.token_ids.tolist()
    for field in FIELDS:
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), atol=atol, rtol=0, err_msg=field)


@pytest.fixture(scope="module")
def batched() -> LocalModel:
    # A long max_wait makes requests started together share their first step.
    settings = BatchSettings(max_batch_size=16, max_wait_s=0.3)
    return LocalModel.from_pretrained(model_path(), device="cpu", dtype="float32", batching=settings)


@pytest.fixture(scope="module")
def locked(batched: LocalModel) -> LocalModel:
    return LocalModel(batched.model, batched.tokenizer, name="locked", batching=None)


def _together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` from as many threads at once; results (or exceptions) in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_a_request_alone_matches_model_generate(batched: LocalModel, locked: LocalModel) -> None:
    """The step loop reproduces transformers' generate + the stats collector (greedy)."""
    assert batched.batcher is not None and locked.batcher is None
    for question in QUESTIONS[:2]:
        [mine] = batched.generate(_messages(question), max_new_tokens=24)
        [theirs] = locked.generate(_messages(question), max_new_tokens=24)
        assert (mine.text, mine.finish_reason, mine.completion_tokens) == (
            theirs.text,
            theirs.finish_reason,
            theirs.completion_tokens,
        )
        _assert_same(mine.stats, theirs.stats)


def test_batched_requests_equal_the_same_requests_alone(batched: LocalModel) -> None:
    """Mixed prompt lengths, temperatures, n, seeds and max_new_tokens, all in one batch."""
    specs: list[dict[str, Any]] = [
        {"temperature": 0.0, "max_new_tokens": 20},
        {"temperature": 0.7, "seed": 3, "max_new_tokens": 30},
        {"temperature": 1.3, "seed": 9, "n": 3, "max_new_tokens": 16, "top_p": 0.9},
        {"temperature": 1.0, "seed": 5, "max_new_tokens": 8, "min_p": 0.1, "top_k": 20},
    ]
    calls = [
        lambda q=q, s=s: batched.generate(_messages(q), **s) for q, s in zip(QUESTIONS, specs, strict=True)
    ]
    alone = [call() for call in calls]
    assert batched.batcher is not None
    batched.batcher.max_rows = 0
    together = _together(calls)
    assert batched.batcher.max_rows == 6  # 1 + 1 + 3 + 1 rows decoded in one step
    lengths = set()
    for one, many in zip(alone, together, strict=True):
        assert not isinstance(many, Exception), many
        assert len(one) == len(many)
        for a, b in zip(one, many, strict=True):
            assert (a.text, a.finish_reason) == (b.text, b.finish_reason)
            _assert_same(a.stats, b.stats)
            lengths.add(a.completion_tokens)
    assert len(lengths) > 2  # rows really left the batch at different steps


def test_greedy_outputs_unchanged_by_batching(batched: LocalModel, locked: LocalModel) -> None:
    calls = [lambda q=q: batched.generate(_messages(q), max_new_tokens=24)[0] for q in QUESTIONS]
    for q, gen in zip(QUESTIONS, _together(calls), strict=True):
        [reference] = locked.generate(_messages(q), max_new_tokens=24)
        assert gen.token_ids == reference.token_ids
        _assert_same(gen.stats, reference.stats)


def test_best_of_n_candidates_share_one_request(batched: LocalModel) -> None:
    assert batched.batcher is not None
    batched.batcher.max_rows = 0
    gens = batched.generate(_messages(QUESTIONS[0]), max_new_tokens=10, temperature=1.5, n=5, seed=1)
    assert len(gens) == 5 and batched.batcher.max_rows == 5
    assert len({tuple(g.token_ids or []) for g in gens}) > 1
    again = batched.generate(_messages(QUESTIONS[0]), max_new_tokens=10, temperature=1.5, n=5, seed=1)
    assert [g.token_ids for g in gens] == [g.token_ids for g in again]


def test_scores_batched_with_generation_equal_scores_alone(batched: LocalModel) -> None:
    answers = ["The answer is 5.", "It is 42", "54"]
    alone = [batched.score(_messages(q), a, add_eos=True) for q, a in zip(QUESTIONS, answers, strict=False)]
    calls: list[Callable[[], Any]] = [
        lambda q=q, a=a: batched.score(_messages(q), a, add_eos=True)
        for q, a in zip(QUESTIONS, answers, strict=False)
    ]
    calls.append(lambda: batched.generate(_messages(QUESTIONS[3]), max_new_tokens=30))
    together = _together(calls)
    for a, b in zip(alone, together, strict=False):
        _assert_same(a, b)


def test_stop_sequences_end_a_row(batched: LocalModel) -> None:
    [probe] = batched.generate(_messages(QUESTIONS[1]), max_new_tokens=24)
    assert len(probe.text) > 4
    stop = probe.text[2:4]
    [gen] = batched.generate(_messages(QUESTIONS[1]), max_new_tokens=24, stop=[stop])
    assert gen.finish_reason == "stop"
    assert gen.text == probe.text[: probe.text.index(stop)]
    assert gen.token_ids == (probe.token_ids or [])[: gen.completion_tokens]
    assert gen.completion_tokens < probe.completion_tokens


def test_a_cancelled_request_leaves_the_batch_and_the_others_finish(batched: LocalModel) -> None:
    assert batched.batcher is not None
    long = {"max_new_tokens": 60, "temperature": 1.0, "seed": 2}
    alone = [batched.generate(_messages(q), **long) for q in QUESTIONS[:2]]
    cancel = threading.Event()

    def cancelled_one() -> Any:
        with cancel_scope(cancel.is_set):
            return batched.generate(_messages(QUESTIONS[2]), max_new_tokens=500, temperature=1.0, seed=4)

    def canceller() -> None:
        start = batched.batcher.steps  # type: ignore[union-attr]
        while batched.batcher.steps < start + 3:  # type: ignore[union-attr]
            time.sleep(0.001)
        cancel.set()

    calls: list[Callable[[], Any]] = [
        lambda q=q: batched.generate(_messages(q), **long) for q in QUESTIONS[:2]
    ]
    results = _together([*calls, cancelled_one, canceller])
    assert isinstance(results[2], GenerationCancelled)
    for a, b in zip(alone, results[:2], strict=True):
        assert not isinstance(b, Exception), b
        _assert_same(a[0].stats, b[0].stats)


def test_a_request_cancelled_while_queued_never_runs(batched: LocalModel) -> None:
    with cancel_scope(lambda: True), pytest.raises(GenerationCancelled):
        batched.generate(_messages(QUESTIONS[0]), max_new_tokens=5)
    with cancel_scope(lambda: True), pytest.raises(GenerationCancelled):
        batched.score(_messages(QUESTIONS[0]), "5")
    [gen] = batched.generate(_messages(QUESTIONS[0]), max_new_tokens=5)  # the scheduler is fine
    assert gen.completion_tokens > 0


def test_bad_requests_and_failing_steps_fail_only_their_requests(
    batched: LocalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from introspect.models import kv_batch

    with pytest.raises(ValueError):  # checked in the caller
        batched.generate(_messages(QUESTIONS[0]), max_new_tokens=5, temperature=1.0, top_p=-1.0)
    assert batched.batcher is not None
    with pytest.raises(IndexError):  # the prefill fails: only this request
        batched.batcher.generate([10**6], copies=1, max_new_tokens=3, sampling=Sampling(), eos=[2])

    def broken(self: Any, next_ids: Any) -> None:
        raise RuntimeError("device lost")

    with monkeypatch.context() as patch:
        patch.setattr(kv_batch.RunningBatch, "advance", broken)
        with pytest.raises(RuntimeError, match="device lost"):
            batched.generate(_messages(QUESTIONS[0]), max_new_tokens=5)
    [gen] = batched.generate(_messages(QUESTIONS[0]), max_new_tokens=5)  # the scheduler is fine
    assert gen.completion_tokens == 5 or gen.finish_reason == "stop"


@pytest.mark.real_model
def test_smollm2_batched_requests_equal_the_same_requests_alone() -> None:
    """The default real model (30 layers, grouped-query attention, 49k vocabulary): mixed prompt
    lengths and temperatures decoded together give each request's own answer and statistics."""
    from tests.models.real_model import real_model_dir

    model = LocalModel.from_pretrained(
        real_model_dir(), device="cpu", dtype="float32", batching=BatchSettings(max_wait_s=0.5)
    )
    specs: list[dict[str, Any]] = [
        {"temperature": 0.0, "max_new_tokens": 6},
        {"temperature": 0.9, "seed": 7, "n": 2, "max_new_tokens": 10},
        {"temperature": 0.0, "max_new_tokens": 10},
    ]
    calls = [
        lambda q=q, s=s: model.generate(_messages(q), **s) for q, s in zip(QUESTIONS[1:], specs, strict=True)
    ]
    alone = [call() for call in calls]
    assert model.batcher is not None
    together = _together(calls)
    assert model.batcher.max_rows == 4
    for one, many in zip(alone, together, strict=True):
        assert not isinstance(many, Exception), many
        for a, b in zip(one, many, strict=True):
            assert a.text == b.text
            _assert_same(a.stats, b.stats)
