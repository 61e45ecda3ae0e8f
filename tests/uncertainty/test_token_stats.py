from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from introspect.uncertainty import TokenStats, stats_from_logits, stats_from_top_logprobs

SUMMARY_KEYS = {
    "mean_self_certainty", "mean_entropy", "mean_varentropy", "gnll", "mean_nll", "min_logprob",
    "mean_margin", "min_margin", "regime", "n_tokens", "exact",
}  # fmt: skip


def _stats(top_k: int = 3) -> TokenStats:
    torch.manual_seed(0)
    logits = torch.randn(6, 40) * 3
    logits[2, 10:] = -math.inf  # -> self-certainty +inf at token 2
    logits[4, 0] = -math.inf  # token 4 picks a masked token -> logprob -inf
    stats = stats_from_logits(logits, torch.tensor([1, 2, 3, 4, 0, 5]), top_k=top_k)
    tokens = [f"t{i}" for i in range(6)]
    top_tokens = [[f"a{i}{j}" for j in range(top_k)] for i in range(6)]
    return TokenStats(**{**_fields(stats), "tokens": tokens, "top_tokens": top_tokens})


def _fields(stats: TokenStats) -> dict[str, object]:
    return {name: getattr(stats, name) for name in TokenStats.__slots__}


def test_summary_aggregates_and_is_strict_json() -> None:
    stats = _stats()
    s = stats.summary()
    assert s.keys() >= SUMMARY_KEYS
    json.dumps(s, allow_nan=False)  # no NaN / inf anywhere
    assert s["n_tokens"] == 6 and s["exact"] is True
    assert s["mean_self_certainty"] is None  # infinite because of the masked row -> not finite -> None
    assert s["min_logprob"] is None and s["mean_nll"] is None  # a chosen token had log-prob -inf
    assert s["mean_entropy"] == pytest.approx(float(stats.entropy.mean()))
    assert s["max_varentropy"] == pytest.approx(float(stats.varentropy.max()))
    assert s["gnll"] == pytest.approx(-float(stats.top1_logprob.sum()))
    assert s["min_margin"] == pytest.approx(float(stats.margin.min()))
    assert s["regime"] in {"confident", "branch", "unsure", "scattered"}


def test_summary_of_finite_stats() -> None:
    stats = stats_from_logits(torch.randn(5, 30, dtype=torch.float64), torch.arange(5))
    s = stats.summary()
    assert s["mean_self_certainty"] == pytest.approx(float(stats.self_certainty.mean()))  # type: ignore[union-attr]
    assert s["mean_nll"] == pytest.approx(-float(stats.logprob.mean()))
    assert s["min_logprob"] == pytest.approx(float(stats.logprob.min()))
    assert s["mean_entropy_lower"] == s["mean_entropy_upper"] == s["mean_entropy"]


def test_empty_and_unavailable_values_are_none() -> None:
    empty = stats_from_logits(torch.zeros(0, 8), torch.zeros(0, dtype=torch.long))
    s = empty.summary()
    assert s["n_tokens"] == 0 and s["regime"] is None
    assert all(v is None for k, v in s.items() if k not in {"n_tokens", "exact"})
    approx = stats_from_top_logprobs([-0.1], [[-0.1, -2.5]], vocab_size=100)
    assert approx.summary()["mean_self_certainty"] is None and approx.summary()["exact"] is False


def test_compact_round_trip_with_infinities_and_text() -> None:
    stats = _stats()
    d = stats.to_compact()
    text = json.dumps(d, allow_nan=False)  # Postgres JSON has no Infinity
    back = TokenStats.from_compact(json.loads(text))
    assert back.tokens == stats.tokens and back.top_tokens == stats.top_tokens
    assert back.token_ids.tolist() == stats.token_ids.tolist()  # type: ignore[union-attr]
    assert back.top_ids.tolist() == stats.top_ids.tolist()  # type: ignore[union-attr]
    for name in (
        "logprob",
        "entropy",
        "varentropy",
        "self_certainty",
        "margin",
        "top1_logprob",
        "top_logprobs",
    ):
        a, b = getattr(stats, name), getattr(back, name)
        np.testing.assert_allclose(b, a, rtol=1e-4, equal_nan=False)  # infinities come back with their sign
    assert back.self_certainty[2] == math.inf and back.logprob[4] == -math.inf  # type: ignore[index]


def test_compact_rounds_to_five_significant_digits() -> None:
    stats = stats_from_logits(torch.randn(3, 20, dtype=torch.float64), torch.arange(3))
    for value in stats.to_compact()["entropy"]:
        assert len(repr(value).replace("-", "").replace(".", "").lstrip("0")) <= 5


def test_compact_of_approximate_stats_keeps_bracket_and_none_self_certainty() -> None:
    approx = stats_from_top_logprobs(
        [-0.1, -1.0], [[-0.1, -2.5], [-0.5, -1.0]], vocab_size=100, tokens=["a", "b"],
        top_tokens=[["a", "x"], ["y", "b"]],
    )  # fmt: skip
    back = TokenStats.from_compact(json.loads(json.dumps(approx.to_compact())))
    assert back.exact is False and back.self_certainty is None
    np.testing.assert_allclose(back.entropy_lower, approx.entropy_lower, rtol=1e-4)  # type: ignore[arg-type]
    np.testing.assert_allclose(back.entropy_upper, approx.entropy_upper, rtol=1e-4)  # type: ignore[arg-type]
    assert back.top_tokens == [["a", "x"], ["y", "b"]]


def test_empty_compact_round_trip_and_head() -> None:
    empty = stats_from_logits(torch.zeros(0, 8), torch.zeros(0, dtype=torch.long), top_k=2)
    assert len(TokenStats.from_compact(json.loads(json.dumps(empty.to_compact())))) == 0
    stats = _stats()
    head = stats.head(2)
    assert len(head) == 2 and head.tokens == ["t0", "t1"] and head.top_ids.shape == (2, 3)  # type: ignore[union-attr]


def test_shape_validation() -> None:
    with pytest.raises(ValueError, match="entropy"):
        TokenStats(
            logprob=np.zeros(2), entropy=np.zeros(3), varentropy=np.zeros(2), margin=np.zeros(2),
            top1_logprob=np.zeros(2), self_certainty=None,
        )  # fmt: skip
    with pytest.raises(ValueError, match="version"):
        TokenStats.from_compact({"v": 99, "n": 0, "exact": True})
