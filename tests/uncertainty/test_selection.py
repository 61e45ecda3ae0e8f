from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from introspect.models.base import Generation
from introspect.uncertainty import (
    TokenStats,
    borda_vote,
    majority_vote,
    select_by_self_certainty,
    stats_from_logits,
    stats_from_top_logprobs,
)
from introspect.uncertainty.selection import default_borda_power


def _stats_with_sc(sc: float) -> TokenStats:
    z = np.zeros(2)
    return TokenStats(
        logprob=z, entropy=z, varentropy=z, margin=z, top1_logprob=z, self_certainty=np.full(2, sc)
    )


def test_select_by_self_certainty_accepts_stats_generations_dicts_and_numbers() -> None:
    gen = Generation("a", [1], _stats_with_sc(5.0), "stop", 3, 1, "m")
    candidates = [_stats_with_sc(1.0), gen, {"mean_self_certainty": 2.0}, 4.0]
    assert select_by_self_certainty(candidates) == 1


def test_select_ties_go_to_lowest_index_and_unavailable_is_skipped() -> None:
    approx = stats_from_top_logprobs([-0.1], [[-0.1, -3.0]], vocab_size=100)
    assert select_by_self_certainty([approx, 2.0, 2.0, 1.0]) == 1
    with pytest.raises(ValueError):
        select_by_self_certainty([approx, {"mean_self_certainty": None}])


def test_select_uses_the_mean_over_tokens() -> None:
    peaked = torch.zeros(3, 10)
    peaked[:, 0] = 8.0
    flat = torch.zeros(3, 10)
    ids = torch.zeros(3, dtype=torch.long)
    assert select_by_self_certainty([stats_from_logits(flat, ids), stats_from_logits(peaked, ids)]) == 1


def _counter_majority(answers: list[str | None]) -> tuple[str | None, dict[str, int]]:
    """An independent majority vote: Counter, ties to the first occurring answer."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None, {}
    best = max(counts.values())
    winner = next(a for a in answers if a is not None and counts[a] == best)
    return winner, dict(counts)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from("ABCD")), min_size=1, max_size=12),
    st.data(),
)
def test_borda_with_p_zero_is_majority_vote(answers: list[str | None], data: st.DataObject) -> None:
    scores = data.draw(
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=len(answers), max_size=len(answers))
    )
    borda = borda_vote(answers, scores, p=0.0)
    majority = majority_vote(answers, scores=scores)
    assert borda == majority
    winner, counts = _counter_majority(answers)
    assert borda.answer == winner
    assert borda.tallies == {k: float(v) for k, v in counts.items()}
    if winner is not None:
        # index: the highest-scored candidate with the winning answer (first one on equal scores)
        best = max(scores[i] for i, a in enumerate(answers) if a == winner)
        assert borda.index == next(i for i, a in enumerate(answers) if a == winner and scores[i] == best)


def test_borda_power_lets_confident_minority_win() -> None:
    answers = ["x", "y", "y", "x", "y"]
    scores = [9.0, 1.0, 2.0, 8.0, 0.5]  # ranks: x=1, x=2, y=3, y=4, y=5
    assert majority_vote(answers).answer == "y"
    result = borda_vote(answers, scores, p=1.0)
    assert result.tallies == {"x": 5.0 + 4.0, "y": 3.0 + 2.0 + 1.0}
    assert result.answer == "x" and result.index == 0
    assert result.votes == [5.0, 2.0, 3.0, 4.0, 1.0]


def test_ties_are_deterministic() -> None:
    # Equal tallies: the answer that occurs first wins, whatever the scores' order.
    assert majority_vote(["b", "a", "a", "b"]).answer == "b"
    assert borda_vote(["b", "a"], [1.0, 1.0], p=1.0).answer == "b"  # equal scores keep candidate order
    assert borda_vote(["b", "a"], [1.0, 2.0], p=1.0).answer == "a"


def test_extract_answer_and_abstentions() -> None:
    texts = ["... so the answer is 4", "I think 5", "answer is 4.", "no idea"]

    def extract(text: str) -> str | None:
        digits = [c for c in text if c.isdigit()]
        return digits[-1] if digits else None

    result = borda_vote(texts, [1.0, 3.0, 0.0, 2.0], p=0.3, extract_answer=extract)
    assert result.answers == ["4", "5", "4", None]
    assert result.votes[3] == 0.0  # abstainer casts nothing
    assert result.answer == "4" and result.index == 0
    assert borda_vote(["?"], [1.0], p=1.0, extract_answer=lambda _: None).answer is None


def test_validation_and_default_power() -> None:
    with pytest.raises(ValueError):
        borda_vote(["a", "b"], [1.0], p=1.0)
    with pytest.raises(ValueError, match="NaN"):
        borda_vote(["a"], [float("nan")], p=1.0)
    assert default_borda_power(8) == 0.3 and default_borda_power(64) == 1.2
    assert 0.3 < default_borda_power(24) < 1.2
    assert borda_vote(["a", "b", "b"], [3.0, 2.0, 1.0]).tallies["a"] == pytest.approx(3**0.3)
