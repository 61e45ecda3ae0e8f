"""stats_from_logits against the fp64 reference, on the committed golden fixtures and random rows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from introspect.uncertainty import batch_stats_from_logits, stats_from_logits
from tests.uncertainty.reference import reference

FIXTURE = Path(__file__).parents[1] / "fixtures" / "golden_logits.npz"
FIELDS = ("logprob", "entropy", "varentropy", "self_certainty", "margin", "top1_logprob")
GOLDEN = np.load(FIXTURE)
CASES = sorted({key.split("__")[0] for key in GOLDEN.files})


def _as_tensor(logits: np.ndarray, dtype: str) -> torch.Tensor:
    return torch.tensor(logits).to(getattr(torch, dtype))


def _assert_close(actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float = 0.0) -> None:
    assert not np.isnan(actual).any(), actual
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=False)


@pytest.mark.parametrize("case", CASES)
def test_golden_fixture_matches_reference_and_code(case: str) -> None:
    logits, ids = GOLDEN[f"{case}__logits"], GOLDEN[f"{case}__ids"]
    dtype = str(GOLDEN[f"{case}__dtype"])
    live = reference(logits.astype(np.float64), ids)
    stats = stats_from_logits(_as_tensor(logits, dtype), torch.tensor(ids))
    atol = 1e-10 if dtype == "float64" else 3e-5
    for field in FIELDS:
        stored = GOLDEN[f"{case}__{field}"]
        np.testing.assert_array_equal(stored, live[field])  # the fixture is what the reference says
        _assert_close(getattr(stats, field), stored, atol=atol, rtol=1e-5)
    assert stats.exact and stats.token_ids is not None
    assert stats.token_ids.tolist() == ids.tolist()


def test_uniform_row_has_zero_self_certainty_and_log_v_entropy() -> None:
    stats = stats_from_logits(torch.zeros(2, 50), torch.tensor([0, 1]))
    _assert_close(stats.self_certainty, np.zeros(2), atol=1e-6)  # type: ignore[arg-type]
    _assert_close(stats.entropy, np.full(2, math.log(50)), atol=1e-5)
    _assert_close(stats.varentropy, np.zeros(2), atol=1e-6)
    _assert_close(stats.logprob, np.full(2, -math.log(50)), atol=1e-6)
    _assert_close(stats.margin, np.zeros(2), atol=0)


def test_near_one_hot_row_is_certain() -> None:
    logits = torch.zeros(1, 100)
    logits[0, 7] = 40.0
    stats = stats_from_logits(logits, torch.tensor([7]))
    assert stats.entropy[0] < 1e-12 and stats.logprob[0] == pytest.approx(0.0, abs=1e-6)
    # SC -> mean_j (40 - 0) * (V-1)/V - log V for a near one-hot row.
    assert stats.self_certainty[0] == pytest.approx(40 * 99 / 100 - math.log(100), rel=1e-5)  # type: ignore[index]
    assert stats.margin[0] == pytest.approx(40.0, rel=1e-6)


def test_masked_rows_are_documented_never_nan() -> None:
    logits = torch.randn(4, 32)
    logits[0, 5:] = -math.inf
    logits[1, 1:] = -math.inf
    logits[2, :] = -math.inf
    logits[3, 31] = -math.inf
    stats = stats_from_logits(logits, torch.tensor([0, 0, 3, 31]))
    for field in FIELDS:
        assert not np.isnan(getattr(stats, field)).any(), field
    assert np.isinf(stats.self_certainty).all()  # type: ignore[arg-type]
    assert stats.margin[1] == math.inf and stats.entropy[1] == 0.0
    assert (stats.entropy[2], stats.varentropy[2], stats.margin[2]) == (0.0, 0.0, 0.0)
    assert stats.logprob[2] == -math.inf and stats.top1_logprob[2] == -math.inf
    assert stats.logprob[3] == -math.inf  # chose a masked token


def test_finite_support_self_certainty() -> None:
    logits = torch.randn(3, 40, dtype=torch.float64)
    logits[0, 20:] = -math.inf
    ids = torch.tensor([1, 2, 3])
    stats = stats_from_logits(logits, ids, support="finite")
    expected = reference(logits.numpy(), ids.numpy(), support="finite")["self_certainty"]
    _assert_close(stats.self_certainty, expected, atol=1e-12)  # type: ignore[arg-type]
    # On an unmasked row both supports agree.
    full = stats_from_logits(logits, ids)
    assert full.self_certainty[1:] == pytest.approx(stats.self_certainty[1:])  # type: ignore[index]


def test_invalid_logits_raise() -> None:
    with pytest.raises(ValueError, match="NaN"):
        stats_from_logits(torch.tensor([[0.0, math.nan]]), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"\+inf"):
        stats_from_logits(torch.tensor([[0.0, math.inf]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="vocabulary"):
        stats_from_logits(torch.zeros(1, 4), torch.tensor([4]))
    with pytest.raises(ValueError, match="batch_stats_from_logits"):
        stats_from_logits(torch.zeros(1, 2, 4), torch.tensor([[0, 1]]))


def test_top_k_alternatives_are_sorted_and_exact() -> None:
    logits = torch.randn(5, 30, dtype=torch.float64)
    stats = stats_from_logits(logits, torch.arange(5), top_k=4)
    assert stats.top_ids is not None and stats.top_logprobs is not None
    assert stats.top_ids.shape == (5, 4)
    logp = torch.log_softmax(logits, -1)
    for t in range(5):
        assert stats.top_ids[t].tolist() == torch.argsort(logp[t], descending=True)[:4].tolist()
        np.testing.assert_allclose(stats.top_logprobs[t], logp[t, stats.top_ids[t]].numpy(), atol=1e-12)


def test_numpy_input_and_batch_with_lengths() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 6, 20))
    ids = rng.integers(0, 20, (2, 6))
    batch = batch_stats_from_logits(logits, ids, lengths=[6, 3])
    assert [len(s) for s in batch] == [6, 3]
    single = stats_from_logits(logits[1, :3], ids[1, :3])
    np.testing.assert_allclose(batch[1].entropy, single.entropy)
    np.testing.assert_allclose(batch[1].logprob, single.logprob)


finite_logits = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(2, 60)),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60, deadline=None)
@given(finite_logits, st.data())
def test_random_rows_match_reference(logits: np.ndarray, data: st.DataObject) -> None:
    mask = data.draw(arrays(np.bool_, logits.shape))
    logits = np.where(mask, -np.inf, logits)
    ids = np.array([data.draw(st.integers(0, logits.shape[1] - 1)) for _ in range(logits.shape[0])])
    stats = stats_from_logits(torch.tensor(logits), torch.tensor(ids))
    expected = reference(logits, ids)
    for field in FIELDS:
        _assert_close(getattr(stats, field), expected[field], atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("scale", [0.3, 2.0, 5.0])
def test_float32_rows_of_a_realistic_vocabulary_are_within_1e_5_of_float64(scale: float) -> None:
    torch.manual_seed(1)
    logits = torch.randn(4, 32000) * scale
    logits[:, :5] += 12.0  # a few strong candidates, as in a trained LM
    ids = torch.tensor([0, 1, 100, 31999])
    single, double = stats_from_logits(logits, ids), stats_from_logits(logits.double(), ids)
    for field in FIELDS:
        _assert_close(getattr(single, field), getattr(double, field), atol=1e-5)


def test_row_buffers_are_reused_and_give_the_same_sums() -> None:
    from introspect.uncertainty.logits import RowBuffers, row_sums

    torch.manual_seed(3)
    buffers = RowBuffers()
    rows = [torch.randn(2, 5000) * 3, torch.randn(2, 5000) * 3]
    rows[1][0, :7] = -math.inf  # a masked row takes the clamped path
    for x in rows:
        fresh, reused = row_sums(x, top_k=3), row_sums(x, top_k=3, buffers=buffers)
        for name in ("shifted", "mass", "first", "second", "sum_z", "top_logits", "top_ids"):
            assert torch.equal(getattr(fresh, name), getattr(reused, name)), name
        assert reused.shifted.data_ptr() == buffers.shifted.data_ptr()  # type: ignore[union-attr]
    assert buffers.scratch_bytes() == 2 * 5000 * 4
