"""Gate profiles in the database, and the verified attempts they are calibrated from.

A profile is keyed by (model name, weights hash); versions count up per key and at most one is
active (a partial unique index backs that up). Lookup for a job: the active profile of the exact
(name, hash), else the newest active one of the same name (a re-converted copy of the same model, or
turns recorded before weights hashes were), else none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from introspect.gate.calibrate import ATTEMPT_PHASES, Sample, make_sample
from introspect.gate.profile import GateProfile, catalog_profiles, split_model_ref, weights_match
from introspect.store.tables import GateProfileRow, Trajectory, Turn, Verification


def to_profile(row: GateProfileRow) -> GateProfile:
    return GateProfile.from_json(
        {
            "model_name": row.model_name,
            "weights_hash": row.weights_hash,
            "version": row.version,
            "policy": row.policy,
            "predictor": row.predictor,
            "figures": row.figures,
            "meets_target": row.meets_target,
            "source": row.source,
        },
        id=str(row.id),
    )


def save_profile(
    session: Session, profile: GateProfile, *, params: Mapping[str, Any] | None = None, activate: bool = True
) -> GateProfileRow:
    """Store ``profile`` as the next version of its key (and make it the active one)."""
    key = (
        GateProfileRow.model_name == profile.model_name,
        GateProfileRow.weights_hash == profile.weights_hash,
    )
    latest = session.scalar(select(func.max(GateProfileRow.version)).where(*key))
    if activate:
        session.execute(
            update(GateProfileRow).where(*key, GateProfileRow.active.is_(True)).values(active=False)
        )
        session.flush()
    row = GateProfileRow(
        id=uuid.uuid4(),
        model_name=profile.model_name,
        weights_hash=profile.weights_hash,
        version=(latest or 0) + 1,
        active=activate,
        policy=dict(profile.policy),
        predictor=None if profile.predictor is None else profile.predictor.to_json(),
        figures=profile.figures,
        meets_target=profile.meets_target,
        source=profile.source,
        params=dict(params or {}),
    )
    session.add(row)
    session.flush()
    return row


def active_profile_row(session: Session, model_name: str, weights_hash: str = "") -> GateProfileRow | None:
    """The active profile whose weights match (equal, or one a prefix of the other: turns record a
    12-character prefix), else the newest active one of the same name."""
    rows = list(
        session.scalars(
            select(GateProfileRow)
            .where(GateProfileRow.model_name == model_name, GateProfileRow.active.is_(True))
            .order_by(GateProfileRow.created_at.desc(), GateProfileRow.version.desc())
        )
    )
    if weights_hash:
        matching = [r for r in rows if r.weights_hash and weights_match(weights_hash, r.weights_hash)]
        if matching:
            return max(matching, key=lambda r: len(r.weights_hash))
    exact = [r for r in rows if r.weights_hash == weights_hash]
    return exact[0] if exact else (rows[0] if rows else None)


def list_profile_rows(
    session: Session, model_name: str | None = None, limit: int = 100
) -> list[GateProfileRow]:
    stmt = select(GateProfileRow).order_by(
        GateProfileRow.model_name, GateProfileRow.weights_hash, GateProfileRow.version.desc()
    )
    if model_name is not None:
        stmt = stmt.where(GateProfileRow.model_name == model_name)
    return list(session.scalars(stmt.limit(limit)))


def seed_catalog_profiles(session: Session) -> int:
    """Insert each shipped catalog profile whose (model, weights) key has no profile yet; returns how
    many were added. Idempotent, and never replaces a profile calibrated here."""
    added = 0
    for profile in catalog_profiles().values():
        exists = session.scalar(
            select(func.count())
            .select_from(GateProfileRow)
            .where(
                GateProfileRow.model_name == profile.model_name,
                GateProfileRow.weights_hash == profile.weights_hash,
            )
        )
        if not exists:
            save_profile(session, profile, params={"seeded_from": "catalog"})
            added += 1
    return added


def sample_identity(model: str | None, stats: Mapping[str, Any]) -> tuple[str, str]:
    """(scorer model, weights hash or prefix) that produced a turn's statistics: the teacher-forcing
    scorer when one scored the answer (a remote generator's turn), else the turn's own model
    (recorded as ``name@sha256-prefix`` for local models)."""
    scorer = stats.get("scorer")
    if isinstance(scorer, str) and scorer:
        weights = stats.get("scorer_weights_hash")
        return scorer, weights if isinstance(weights, str) else ""
    name, prefix = split_model_ref(model or "")
    recorded = stats.get("weights_hash")  # the local model's sha256, recorded with its statistics
    return name, recorded if isinstance(recorded, str) and recorded else prefix


def verified_samples(
    session: Session, model_name: str, weights_hash: str = "", since: datetime | None = None
) -> list[Sample]:
    """Attempt turns whose statistics came from ``model_name`` (and, where a turn records one, from
    weights with ``weights_hash``) and that a verifier passed or failed; the last verdict counts."""
    stmt = (
        select(Turn.id, Turn.phase, Turn.model, Turn.stats, Trajectory.task_hash, Verification.passed)
        .join(Trajectory, Trajectory.id == Turn.trajectory_id)
        .join(Verification, Verification.turn_id == Turn.id)
        .where(Turn.phase.in_(sorted(ATTEMPT_PHASES)), Verification.passed.is_not(None))
        .order_by(Turn.created_at, Turn.id, Verification.created_at)
    )
    if since is not None:
        stmt = stmt.where(Turn.created_at >= since)
    by_turn: dict[uuid.UUID, tuple[Any, Any, str, list[bool]]] = {}
    for turn_id, phase, model, stats, task, passed in session.execute(stmt).yield_per(1000):
        if not isinstance(stats, Mapping):
            continue
        name, weights = sample_identity(model, stats)
        if name != model_name or not weights_match(weights_hash, weights):
            continue
        entry = by_turn.setdefault(turn_id, (phase, stats, task, []))
        entry[3].append(bool(passed))
    samples = [make_sample(phase, stats, verdicts, task) for phase, stats, task, verdicts in by_turn.values()]
    return [s for s in samples if s is not None]
