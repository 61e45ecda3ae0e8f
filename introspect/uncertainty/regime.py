"""Entropix regimes: where an answer sits on the entropy x varentropy plane.

entropix (xjdr, 2024) splits each decoding step into four quadrants of entropy ``H`` and varentropy
``VarH = Var[-log p]``. We apply the same split to an answer's mean entropy and mean varentropy:

* low H,  low V  -> ``confident``: one clear continuation;
* low H,  high V -> ``branch``: a few strong competitors (a fork worth sampling);
* high H, low V  -> ``unsure``: uniformly unsure, more information is needed (think or retrieve);
* high H, high V -> ``scattered``: no structure at all (resample or escalate).

entropix's own cut-offs are per token and in bits; ours are per answer and in nats, and like every
PCC-style routing threshold they are empirical: calibrate them from stored, verified trajectories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Regime(StrEnum):
    CONFIDENT = "confident"
    BRANCH = "branch"
    UNSURE = "unsure"
    SCATTERED = "scattered"


@dataclass(frozen=True, slots=True)
class RegimeThresholds:
    """Cut-offs in nats (entropy) and nats^2 (varentropy); a value equal to a cut-off counts as high."""

    entropy: float = 1.0
    varentropy: float = 1.5


DEFAULT_THRESHOLDS = RegimeThresholds()


def classify_regime(
    entropy: float, varentropy: float, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS
) -> Regime | None:
    """The quadrant of ``(entropy, varentropy)``; ``None`` when either value is missing or NaN."""
    if math.isnan(entropy) or math.isnan(varentropy):
        return None
    high_h = entropy >= thresholds.entropy
    high_v = varentropy >= thresholds.varentropy
    if high_h:
        return Regime.SCATTERED if high_v else Regime.UNSURE
    return Regime.BRANCH if high_v else Regime.CONFIDENT
