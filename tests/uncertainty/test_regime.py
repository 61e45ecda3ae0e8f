from __future__ import annotations

import math

import pytest

from introspect.uncertainty import Regime, RegimeThresholds, classify_regime


@pytest.mark.parametrize(
    ("entropy", "varentropy", "expected"),
    [
        (0.1, 0.1, Regime.CONFIDENT),
        (0.1, 4.0, Regime.BRANCH),
        (3.0, 0.1, Regime.UNSURE),
        (3.0, 4.0, Regime.SCATTERED),
    ],
)
def test_quadrants(entropy: float, varentropy: float, expected: Regime) -> None:
    assert classify_regime(entropy, varentropy) is expected


def test_thresholds_are_configurable_and_inclusive() -> None:
    t = RegimeThresholds(entropy=2.0, varentropy=2.0)
    assert classify_regime(1.99, 1.99, t) is Regime.CONFIDENT
    assert classify_regime(2.0, 2.0, t) is Regime.SCATTERED


def test_missing_values_give_none() -> None:
    assert classify_regime(math.nan, 1.0) is None
