"""Gate profiles as a domain service: calibrate one from stored history, find the one a job uses.

Every face (``introspect gate calibrate``, ``POST /v1/gate/profiles/calibrate``) calls
:func:`calibrate_model`; the runner calls :func:`resolve_profile` for the job's scorer model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from introspect.gate.calibrate import Calibration, CalibrationSettings, calibrate
from introspect.gate.profile import GateProfile, catalog_profiles
from introspect.store.repositories import gate_profiles


class TargetNotMetError(ValueError):
    """The stop rule's held-out precision is below the target: nothing was stored."""

    def __init__(self, message: str, calibration: Calibration) -> None:
        super().__init__(message)
        self.calibration = calibration


@dataclass(frozen=True)
class CalibrationOutcome:
    profile: GateProfile
    calibration: Calibration
    stored: bool


def calibrate_model(
    session: Session,
    model_name: str,
    *,
    weights_hash: str = "",
    since: datetime | None = None,
    settings: CalibrationSettings | None = None,
    accept_below_target: bool = False,
    store: bool = True,
) -> CalibrationOutcome:
    """Calibrate ``model_name`` from its verified attempts and store the result as its new active
    profile. Raises ``NotEnoughDataError``, or ``TargetNotMetError`` when the held-out precision of the
    stop rule misses the target -- unless ``accept_below_target``: then a profile that never stops on
    logits alone (``stop_on_confidence`` off) is stored, flagged ``meets_target: false``."""
    settings = settings or CalibrationSettings()
    samples = gate_profiles.verified_samples(session, model_name, weights_hash, since)
    result = calibrate(samples, settings, what=f"model {model_name!r}")
    stop = result.figures["heldout_stop"]
    if not result.meets_target and not accept_below_target:
        found = (
            f"held-out precision {stop['precision']} over {stop['accepted']} accepted answers"
            if result.figures["stop_rule"]
            else "no stop rule meets it even on the fitting split"
        )
        raise TargetNotMetError(
            f"precision target {settings.target_precision} not met for model {model_name!r}: {found} "
            f"(n={result.figures['n']}); nothing stored. Accept a profile that never stops on logits "
            "alone with --accept-below-target (API: accept_below_target=true)",
            result,
        )
    profile = GateProfile(
        model_name=model_name,
        weights_hash=weights_hash,
        policy=result.policy,
        predictor=result.predictor,
        figures=result.figures,
        meets_target=result.meets_target,
    )
    if not store:
        return CalibrationOutcome(profile, result, stored=False)
    params: dict[str, Any] = {"since": None if since is None else since.isoformat()}
    row = gate_profiles.save_profile(session, profile, params=params)
    return CalibrationOutcome(gate_profiles.to_profile(row), result, stored=True)


def resolve_profile(session: Session, model_name: str, weights_hash: str = "") -> GateProfile | None:
    """The profile a job scored by ``model_name`` uses: the database's active one (exact weights, else
    by name), else the catalog's shipped profile of that name, else None (the policy defaults)."""
    row = gate_profiles.active_profile_row(session, model_name, weights_hash)
    if row is not None:
        return gate_profiles.to_profile(row)
    return catalog_profiles().get(model_name)
