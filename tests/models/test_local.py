from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from introspect.models.local import LocalModel
from introspect.uncertainty import TokenStats

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 2?"}]
FIELDS = ("logprob", "entropy", "varentropy", "self_certainty", "margin", "top1_logprob", "top_logprobs")


def _assert_same(a: TokenStats, b: TokenStats, atol: float = 1e-4) -> None:
    assert a.token_ids.tolist() == b.token_ids.tolist()  # type: ignore[union-attr]
    for field in FIELDS:
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), atol=atol, rtol=0, err_msg=field)


def test_from_pretrained_attributes(local_model: LocalModel, tiny_model_dir: Path) -> None:
    assert local_model.name == tiny_model_dir.name
    assert local_model.tokenizer.chat_template is not None
    assert local_model.model.config.vocab_size == len(local_model.tokenizer)
    assert local_model.eos_token_ids[0] == local_model.tokenizer.eos_token_id
    assert local_model.device.type == "cpu"


def test_greedy_generation(local_model: LocalModel) -> None:
    [gen] = local_model.generate(MESSAGES, max_new_tokens=10)
    assert gen.stats is not None and gen.token_ids is not None
    assert len(gen.token_ids) == len(gen.stats) == gen.completion_tokens <= 10
    assert gen.prompt_tokens == len(local_model.encode_prompt(MESSAGES))
    assert gen.stats.tokens is not None and len(gen.stats.tokens) == len(gen.token_ids)
    assert gen.stats.top_tokens is not None and len(gen.stats.top_tokens[0]) == local_model.top_alternatives
    assert gen.model == local_model.name
    np.testing.assert_allclose(gen.stats.logprob, gen.stats.top1_logprob, atol=1e-6)  # greedy = argmax
    copies = local_model.generate(MESSAGES, max_new_tokens=10, n=3)
    assert [c.token_ids for c in copies] == [gen.token_ids] * 3


def test_sampling_is_batched_and_seeded(local_model: LocalModel) -> None:
    a = local_model.generate(MESSAGES, max_new_tokens=8, temperature=1.0, n=4, seed=11)
    b = local_model.generate(MESSAGES, max_new_tokens=8, temperature=1.0, n=4, seed=11)
    assert len(a) == 4 and [g.token_ids for g in a] == [g.token_ids for g in b]
    assert len({tuple(g.token_ids or []) for g in a}) > 1
    state = torch.random.get_rng_state()
    local_model.generate(MESSAGES, max_new_tokens=4, temperature=1.0, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is left alone


def test_min_p_truncates_sampling_but_not_the_stats(local_model: LocalModel) -> None:
    """min_p = 1 keeps only the most likely token: sampling becomes greedy decoding, while the
    statistics still describe the raw distribution (a greedy run's stats, to float tolerance)."""
    [greedy] = local_model.generate(MESSAGES, max_new_tokens=10)
    sampled = local_model.generate(MESSAGES, max_new_tokens=10, temperature=1.5, n=3, min_p=1.0, seed=4)
    for gen in sampled:
        assert gen.stats is not None and greedy.stats is not None
        _assert_same(gen.stats, greedy.stats)
    loose = local_model.generate(MESSAGES, max_new_tokens=10, temperature=1.5, n=3, seed=4)
    assert any(g.token_ids != greedy.token_ids for g in loose)


def test_score_equals_generate_time_stats(local_model: LocalModel) -> None:
    gens = local_model.generate(MESSAGES, max_new_tokens=12, temperature=0.8, n=3, seed=2)
    scored = local_model.score_many(MESSAGES, [g.token_ids or [] for g in gens])
    for gen, stats in zip(gens, scored, strict=True):
        assert gen.stats is not None
        _assert_same(gen.stats, stats)
        assert stats.tokens == gen.stats.tokens and stats.top_tokens == gen.stats.top_tokens
    one = local_model.score(MESSAGES, gens[0].token_ids or [])
    _assert_same(one, scored[0])


def test_score_many_batches_mixed_conversations_like_single_calls(local_model: LocalModel) -> None:
    other = [{"role": "user", "content": "Hello world, how are you today? Tell me more please."}]
    responses = ["The answer is 4.", "It is 42, I think", "Paris"]
    conversations = [MESSAGES, other, MESSAGES]
    batched = local_model.score_many(conversations, responses, batch_size=3)
    for conv, resp, stats in zip(conversations, responses, batched, strict=True):
        _assert_same(stats, local_model.score(conv, resp), atol=1e-5)
        assert local_model.tokenizer.decode(stats.token_ids.tolist()) == resp  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="conversations"):
        local_model.score_many([MESSAGES], responses)


def test_score_text_equals_score_ids_and_add_eos(local_model: LocalModel) -> None:
    text = "The answer is 42."
    ids = local_model.tokenizer(text, add_special_tokens=False)["input_ids"]
    _assert_same(local_model.score(MESSAGES, text), local_model.score(MESSAGES, ids), atol=0)
    with_eos = local_model.score(MESSAGES, text, add_eos=True)
    assert with_eos.token_ids.tolist() == [*ids, local_model.eos_token_ids[0]]  # type: ignore[union-attr]


def test_generation_stops_at_eos(local_model: LocalModel) -> None:
    [probe] = local_model.generate(MESSAGES, max_new_tokens=6)
    assert probe.token_ids is not None
    stop_token = probe.token_ids[2]
    model = LocalModel(local_model.model, local_model.tokenizer, name="eos-probe")
    model.eos_token_ids = [stop_token]
    [gen] = model.generate(MESSAGES, max_new_tokens=6)
    assert gen.finish_reason == "stop"
    assert gen.token_ids == probe.token_ids[: probe.token_ids.index(stop_token) + 1]
    assert len(gen.stats or []) == len(gen.token_ids)
    assert gen.text == local_model.tokenizer.decode(gen.token_ids[:-1], skip_special_tokens=True)
    assert probe.finish_reason == "length"


def test_concurrent_calls_are_serialised(local_model: LocalModel) -> None:
    expected_gen = local_model.generate(MESSAGES, max_new_tokens=6)[0].token_ids
    expected_score = local_model.score(MESSAGES, "The answer is 4.").logprob
    results: list[object] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            if i % 2:
                results.append(local_model.generate(MESSAGES, max_new_tokens=6)[0].token_ids)
            else:
                results.append(local_model.score(MESSAGES, "The answer is 4.").logprob)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        if isinstance(r, list):
            assert r == expected_gen
        else:
            np.testing.assert_allclose(r, expected_score, atol=1e-6)  # type: ignore[arg-type]


def test_tokenizer_without_chat_template_is_refused(local_model: LocalModel) -> None:
    class NoTemplate:
        chat_template = None

    with pytest.raises(ValueError, match="chat template"):
        LocalModel(local_model.model, NoTemplate())  # type: ignore[arg-type]


def test_checkpoint_generation_config_cannot_distort_the_stats(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    # A checkpoint asking for pre-processors that would run before the collector.
    model.generation_config = GenerationConfig(
        repetition_penalty=5.0, no_repeat_ngram_size=1, suppress_tokens=[10, 11, 12], eos_token_id=2
    )
    lm = LocalModel(model, AutoTokenizer.from_pretrained(tiny_model_dir))
    assert lm.checkpoint_generation_config.repetition_penalty == 5.0
    [gen] = lm.generate(MESSAGES, max_new_tokens=12)
    assert gen.stats is not None and np.isfinite(gen.stats.self_certainty).all()  # type: ignore[arg-type]
    _assert_same(gen.stats, lm.score(MESSAGES, gen.token_ids or []))


def test_langchain_messages_are_accepted(local_model: LocalModel) -> None:
    from langchain_core.messages import HumanMessage, SystemMessage

    lc = [SystemMessage("Be brief."), HumanMessage("What is 2 + 2?")]
    assert local_model.encode_prompt(lc) == local_model.encode_prompt(MESSAGES)
    [a, b] = local_model.score_many(lc, ["4", "5"])
    _assert_same(b, local_model.score(MESSAGES, "5"), atol=1e-5)
    _assert_same(a, local_model.score(MESSAGES, "4"), atol=1e-5)
