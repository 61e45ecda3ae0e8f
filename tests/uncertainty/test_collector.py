"""StatsCollector during generate == stats_from_logits on the raw logits of the same generation."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, LogitsProcessorList

from introspect.uncertainty import StatsCollector, TokenStats, batch_stats_from_logits
from tests.uncertainty.reference import reference

FIELDS = ("logprob", "entropy", "varentropy", "self_certainty", "margin", "top1_logprob", "top_logprobs")
PROMPT = torch.tensor([[1, 17, 33, 5, 99]])


@pytest.fixture(scope="module")
def model() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, initializer_range=0.3,
        bos_token_id=None, eos_token_id=None, pad_token_id=0,
    )  # fmt: skip
    m = LlamaForCausalLM(config).eval()
    m.generation_config = GenerationConfig(pad_token_id=0)
    return m


def _generate(model: LlamaForCausalLM, collector: StatsCollector, **kwargs: Any) -> Any:
    with torch.inference_mode():
        return model.generate(
            PROMPT, attention_mask=torch.ones_like(PROMPT), logits_processor=[collector],
            output_logits=True, output_scores=True, return_dict_in_generate=True, **kwargs,
        )  # fmt: skip


def _assert_same(a: TokenStats, b: TokenStats, atol: float = 1e-5) -> None:
    assert len(a) == len(b)
    assert a.token_ids.tolist() == b.token_ids.tolist()  # type: ignore[union-attr]
    assert a.top_ids.tolist() == b.top_ids.tolist()  # type: ignore[union-attr]
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        assert not np.isnan(x).any()
        np.testing.assert_allclose(x, y, atol=atol, rtol=0, err_msg=field)


def test_greedy_collector_matches_raw_logits_and_transition_scores(model: LlamaForCausalLM) -> None:
    collector = StatsCollector(top_k=3)
    out = _generate(model, collector, max_new_tokens=16, do_sample=False)
    generated = out.sequences[:, PROMPT.shape[1] :]
    [collected] = collector.finalize(out.sequences)
    [offline] = batch_stats_from_logits(torch.stack(out.logits, dim=1), generated, top_k=3)
    _assert_same(collected, offline)
    transition = model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
    np.testing.assert_allclose(collected.logprob, transition[0].numpy(), atol=1e-5)
    # Greedy picks the top-1 token, so the chosen log-prob is the top-1 log-prob: G-NLL = NLL.
    np.testing.assert_allclose(collected.logprob, collected.top1_logprob, atol=1e-6)


def test_sampling_collector_sees_the_raw_distribution(model: LlamaForCausalLM) -> None:
    collector = StatsCollector(top_k=5)
    torch.manual_seed(3)
    out = _generate(
        model, collector, max_new_tokens=12, do_sample=True, temperature=0.5, top_k=20, top_p=0.9,
        num_return_sequences=3,
    )  # fmt: skip
    generated = out.sequences[:, PROMPT.shape[1] :]
    collected = collector.finalize(out.sequences)
    raw = batch_stats_from_logits(torch.stack(out.logits, dim=1), generated, top_k=5)
    for a, b in zip(collected, raw, strict=True):
        _assert_same(a, b)
        assert np.isfinite(a.self_certainty).all()  # type: ignore[arg-type]
    # The warped scores (temperature, top-k, top-p) would give different, masked numbers.
    warped = batch_stats_from_logits(torch.stack(out.scores, dim=1), generated)
    assert np.isinf(warped[0].self_certainty).any()  # type: ignore[arg-type]


def test_batched_generation_is_cut_after_each_rows_eos(model: LlamaForCausalLM) -> None:
    torch.manual_seed(7)
    probe = StatsCollector()
    first = _generate(model, probe, max_new_tokens=10, do_sample=True, num_return_sequences=4)
    eos = int(first.sequences[0, PROMPT.shape[1] + 2])  # row 0's third token becomes "EOS"
    collector = StatsCollector(top_k=2)
    torch.manual_seed(7)
    out = _generate(
        model, collector, max_new_tokens=10, do_sample=True, num_return_sequences=4, eos_token_id=eos
    )
    generated = out.sequences[:, PROMPT.shape[1] :]
    collected = collector.finalize(out.sequences, eos_token_ids=[eos])
    assert len(collected[0]) == 3 and collected[0].token_ids[-1] == eos  # type: ignore[index]
    raw = batch_stats_from_logits(torch.stack(out.logits, dim=1), generated, top_k=2)
    for a, b in zip(collected, raw, strict=True):
        expected_len = next((i + 1 for i, t in enumerate(b.token_ids.tolist()) if t == eos), len(b))  # type: ignore[union-attr]
        assert len(a) == expected_len
        _assert_same(a, b.head(expected_len))


def test_memory_grows_by_a_few_numbers_per_step_not_by_a_row(model: LlamaForCausalLM) -> None:
    sizes = {}
    for steps in (8, 24):
        collector = StatsCollector(top_k=5)
        with torch.inference_mode():
            model.generate(PROMPT, max_new_tokens=steps, do_sample=False, logits_processor=[collector])
        sizes[steps] = collector.retained_bytes()
    per_step = (sizes[24] - sizes[8]) / 16
    row_bytes = model.config.vocab_size * 4
    assert 0 < per_step <= 128 < row_bytes / 10


def test_finalize_errors_and_reset(model: LlamaForCausalLM) -> None:
    collector = StatsCollector()
    with pytest.raises(RuntimeError):
        collector.finalize(PROMPT)
    out = _generate(model, collector, max_new_tokens=4, do_sample=False)
    with pytest.raises(ValueError, match="new tokens"):
        collector.finalize(out.sequences[:, :-1])
    collector.reset()
    assert collector.steps == 0 and collector.retained_bytes() == 0


def test_collector_does_not_change_the_output(model: LlamaForCausalLM) -> None:
    with torch.inference_mode():
        plain = model.generate(PROMPT, max_new_tokens=10, do_sample=False)
        collected = model.generate(
            PROMPT, max_new_tokens=10, do_sample=False, logits_processor=[StatsCollector()]
        )
    assert torch.equal(plain, collected)


def test_masked_steps_match_the_reference_on_the_masked_rows(model: LlamaForCausalLM) -> None:
    # suppress_tokens is a pre-processor: the collector sees rows with -inf logits (masked tokens).
    collector = StatsCollector(top_k=3)
    out = _generate(model, collector, max_new_tokens=8, do_sample=False, suppress_tokens=[3, 99, 500])
    [collected] = collector.finalize(out.sequences)
    scores = torch.cat(out.scores).double().numpy()
    assert np.isneginf(scores[:, [3, 99, 500]]).all()
    expected = reference(scores, out.sequences[0, PROMPT.shape[1] :].numpy())
    assert np.isinf(collected.self_certainty).all()  # type: ignore[arg-type]
    for field in ("logprob", "entropy", "varentropy", "margin", "top1_logprob"):
        np.testing.assert_allclose(getattr(collected, field), expected[field], atol=1e-5, err_msg=field)


def test_transformers_reads_a_ready_made_two_argument_signature() -> None:
    # LogitsProcessorList inspects processor.__call__ at every step to decide what to pass.
    collector = StatsCollector()
    assert list(inspect.signature(collector.__call__).parameters) == ["input_ids", "scores"]
    assert inspect.signature(collector.__call__) is collector.__call__.__signature__  # type: ignore[attr-defined]
    scores = torch.randn(1, 40)
    out = LogitsProcessorList([collector])(torch.tensor([[1, 2]]), scores)
    assert out is scores and collector.steps == 1
