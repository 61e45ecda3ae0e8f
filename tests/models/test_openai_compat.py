from __future__ import annotations

import numpy as np
import pytest

from introspect.models.openai_compat import SENTINEL_LOGPROB, OpenAICompatModel
from tests.models.fake_openai import VOCAB, FakeServer, distribution, true_entropy

MESSAGES = [{"role": "user", "content": "hi"}]


def _model(server: FakeServer, **kwargs: object) -> OpenAICompatModel:
    return OpenAICompatModel(
        "fake-model", base_url="http://fake.local/v1", api_key="k", http_client=server.client(),
        vocab_size=len(VOCAB), **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_request_asks_for_logprobs_and_stats_are_approximate() -> None:
    server = FakeServer()
    gens = _model(server).generate(MESSAGES, max_new_tokens=5, temperature=0.7, n=3)
    body = server.requests[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 20
    assert body["n"] == 3 and body["max_tokens"] == 5 and body["temperature"] == 0.7
    assert body["messages"] == MESSAGES and body["model"] == "fake-model"
    assert len(gens) == 3 and len(server.requests) == 1
    for i, gen in enumerate(gens):
        stats = gen.stats
        assert stats is not None and not stats.exact and stats.self_certainty is None
        assert gen.token_ids is None and gen.completion_tokens == 5 and gen.prompt_tokens == 7
        assert gen.model == "fake-model" and gen.finish_reason == "length"
        assert stats.tokens is not None and gen.text == " ".join(stats.tokens)
        for step in range(5):
            logp = distribution(step)
            order = np.argsort(-logp)
            chosen = order[min(i * 7, len(order) - 1)]
            assert stats.logprob[step] == pytest.approx(logp[chosen])  # exact
            assert stats.margin[step] == pytest.approx(logp[order[0]] - logp[order[1]])  # exact
            assert stats.entropy_lower[step] - 1e-9 <= true_entropy(step) <= stats.entropy_upper[step] + 1e-9  # type: ignore[index]
        summary = stats.summary()
        assert summary["mean_self_certainty"] is None and summary["exact"] is False


def test_bracket_tightens_with_fewer_unknowns_and_contains_truth() -> None:
    wide = _model(FakeServer(), top_logprobs=3).generate(MESSAGES)[0].stats
    narrow = _model(FakeServer(), top_logprobs=20).generate(MESSAGES)[0].stats
    assert wide is not None and narrow is not None
    width = lambda s: s.entropy_upper - s.entropy_lower  # noqa: E731
    assert (width(narrow) <= width(wide) + 1e-12).all()
    truth = np.array([true_entropy(t) for t in range(5)])
    assert (wide.entropy_lower <= truth + 1e-9).all() and (truth <= wide.entropy_upper + 1e-9).all()  # type: ignore[operator]


def test_servers_that_ignore_n_are_asked_again() -> None:
    server = FakeServer(honour_n=False)
    gens = _model(server).generate(MESSAGES, n=3, temperature=1.0)
    assert len(gens) == 3 and [r["n"] for r in server.requests] == [3, 2, 1]


def test_missing_logprobs_give_no_stats() -> None:
    [gen] = _model(FakeServer(with_logprobs=False)).generate(MESSAGES)
    assert gen.stats is None and gen.text


def test_sentinel_logprobs_are_not_treated_as_probabilities() -> None:
    model = _model(FakeServer())

    class Alt:
        def __init__(self, token: str, logprob: float) -> None:
            self.token, self.logprob = token, logprob

    class Tok(Alt):
        top_logprobs = (Alt("a", np.log(0.6)), Alt("b", np.log(0.3)), Alt("c", SENTINEL_LOGPROB))

    stats = model.stats_from_content([Tok("a", np.log(0.6))])
    assert stats.top_tokens == [["a", "b"]]
    assert stats.entropy_upper is not None and stats.entropy_lower is not None
    assert np.isfinite(stats.entropy_upper).all() and stats.entropy_lower[0] < 1.0


def test_top_logprobs_limit() -> None:
    with pytest.raises(ValueError):
        OpenAICompatModel("m", api_key="k", top_logprobs=21)


def test_reasks_carry_distinct_seeds_so_candidates_differ() -> None:
    # A llama.cpp-like server: n ignored, the seed alone decides. One seed for every re-ask made
    # Best-of-N N copies of one answer.
    server = FakeServer(seeded=True)
    gens = _model(server).generate(MESSAGES, n=3, temperature=0.8, seed=5)
    assert [r["seed"] for r in server.requests] == [5, 6, 7]
    assert len({g.text for g in gens}) == 3
    unseeded = FakeServer(seeded=True)
    _model(unseeded).generate(MESSAGES, n=3, temperature=0.8)
    seeds = [r["seed"] for r in unseeded.requests]
    assert len(set(seeds)) == 3 and all(isinstance(s, int) for s in seeds)
    greedy = FakeServer(seeded=True)
    _model(greedy).generate(MESSAGES, n=1, temperature=0.0)
    assert "seed" not in greedy.requests[0]  # nothing to diversify: the server's own default


def test_completion_tokens_come_from_usage() -> None:
    # Without logprobs the count used to be 0, so token budgets undercounted remote answers.
    [gen] = _model(FakeServer(with_logprobs=False)).generate(MESSAGES)
    assert gen.completion_tokens == 5
    gens = _model(FakeServer(steps=4)).generate(MESSAGES, n=3, temperature=1.0)
    assert [g.completion_tokens for g in gens] == [4, 4, 4]
    [none] = _model(FakeServer(usage=False)).generate(MESSAGES)
    assert none.completion_tokens == 5  # no usage: the log-prob count is all there is


def test_remote_model_spec_sets_the_vocab_size() -> None:
    from introspect.config import RemoteModelSpec, Settings
    from introspect.models.chat import OpenAICompatChatModel
    from introspect.models.openai_compat import DEFAULT_VOCAB_SIZE
    from introspect.runner.model_provider import DefaultModelProvider

    spec = {"base_url": "http://127.0.0.1:9/v1", "model": "smol"}
    settings = Settings(
        remote_models={"smol": RemoteModelSpec(**spec, vocab_size=49152), "other": RemoteModelSpec(**spec)}
    )
    provider = DefaultModelProvider(settings)
    smol, other = provider.chat_model("smol"), provider.chat_model("other")
    assert isinstance(smol, OpenAICompatChatModel) and isinstance(other, OpenAICompatChatModel)
    assert smol.vocab_size == 49152 and other.vocab_size == DEFAULT_VOCAB_SIZE
    with pytest.raises(ValueError, match="vocab_size"):
        RemoteModelSpec(**spec, vocab_size=1)
