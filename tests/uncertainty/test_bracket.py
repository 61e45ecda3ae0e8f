"""The top-k entropy bracket must contain the true entropy, whatever the distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from introspect.uncertainty import entropy_bracket_from_top_logprobs, stats_from_top_logprobs
from tests.uncertainty.reference import true_entropy

logit_rows = arrays(
    np.float64, st.integers(2, 300), elements=st.floats(-40, 40, allow_nan=False, allow_infinity=False)
)


def _logp(logits: np.ndarray) -> np.ndarray:
    return logits - np.logaddexp.reduce(logits)


@settings(max_examples=300, deadline=None)
@given(logit_rows, st.integers(1, 20), st.integers(0, 1000))
def test_bracket_contains_true_entropy(logits: np.ndarray, k: int, extra_vocab: int) -> None:
    k = min(k, logits.size)
    logp = _logp(logits)
    order = np.argsort(-logp, kind="stable")
    h = true_entropy(logits)
    # The server's vocabulary may be smaller than the V we assume: the bound must hold for any V >= true V.
    lower, upper = entropy_bracket_from_top_logprobs(logp[order[:k]].tolist(), logits.size + extra_vocab)
    assert lower - 1e-9 <= h <= upper + 1e-9
    assert lower <= upper + 1e-12


@settings(max_examples=200, deadline=None)
@given(logit_rows, st.integers(1, 20), st.data())
def test_bracket_with_a_known_token_outside_the_top_k(
    logits: np.ndarray, k: int, data: st.DataObject
) -> None:
    assume(logits.size > k)
    logp = _logp(logits)
    order = np.argsort(-logp, kind="stable")
    outside = order[data.draw(st.integers(k, logits.size - 1))]
    lower, upper = entropy_bracket_from_top_logprobs(
        logp[order[:k]].tolist(), logits.size, outside_logprobs=[float(logp[outside])]
    )
    assert lower - 1e-9 <= true_entropy(logits) <= upper + 1e-9


def test_issue_formula_is_the_lower_bound_when_tail_mass_is_large() -> None:
    top = [math.log(0.3), math.log(0.2)]  # r = 0.5 >= p_k = 0.2
    h_k = -(0.3 * math.log(0.3) + 0.2 * math.log(0.2))
    lower, upper = entropy_bracket_from_top_logprobs(top, 1000)
    assert lower == pytest.approx(h_k - 0.5 * math.log(0.2))
    assert upper == pytest.approx(h_k + 0.5 * math.log(998 / 0.5))


def test_full_coverage_is_exact_and_rounding_over_one_is_tolerated() -> None:
    lp = [math.log(0.5), math.log(0.25), math.log(0.25)]
    h = -sum(math.exp(x) * x for x in lp)
    assert entropy_bracket_from_top_logprobs(lp, 3) == pytest.approx((h, h))
    lower, upper = entropy_bracket_from_top_logprobs([x + 1e-7 for x in lp], 50)  # sums to > 1
    assert lower == upper
    assert entropy_bracket_from_top_logprobs([0.0], 10) == (0.0, 0.0)


def test_stats_from_top_logprobs() -> None:
    chosen = [math.log(0.6), math.log(0.05)]
    tops = [[math.log(0.6), math.log(0.3)], [math.log(0.5), math.log(0.4)]]
    stats = stats_from_top_logprobs(chosen, tops, vocab_size=1000, chosen_in_top=[True, False])
    assert stats.exact is False and stats.self_certainty is None
    np.testing.assert_allclose(stats.logprob, chosen)  # chosen log-prob exact
    np.testing.assert_allclose(stats.margin, [math.log(2), math.log(0.5 / 0.4)])  # margin exact
    np.testing.assert_allclose(stats.top1_logprob, [math.log(0.6), math.log(0.5)])
    assert stats.entropy_lower is not None and stats.entropy_upper is not None
    assert (stats.entropy_lower <= stats.entropy).all() and (stats.entropy <= stats.entropy_upper).all()
    # Token 2 fell outside its top list: its own mass (0.05) tightens the bracket.
    lo, hi = entropy_bracket_from_top_logprobs(tops[1], 1000, outside_logprobs=[chosen[1]])
    assert (stats.entropy_lower[1], stats.entropy_upper[1]) == pytest.approx((lo, hi))


def test_single_alternative_margin_is_a_lower_bound() -> None:
    stats = stats_from_top_logprobs([math.log(0.7)], [[math.log(0.7)]], vocab_size=10)
    assert stats.margin[0] == pytest.approx(math.log(0.7 / 0.3))
