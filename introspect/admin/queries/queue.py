"""The label queue: recent trajectories a person should look at, and why.

Reasons, checked on trajectories without a human label (newest first, in a bounded scan):
* ``unverified``: no verifier decided on the answer the run returned (success unknown);
* ``disagreement``: the verifier and the critic disagree on an attempt (one says right, the other wrong);
* ``low confidence``: the gate judged the last attempt not confident from its logits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from introspect.admin.queries.attempts import ATTEMPT_PHASES, CHUNK
from introspect.store.tables import Reward, Trajectory, Turn

SCAN = 1000  # trajectories looked at per request: the queue is about recent work


@dataclass(frozen=True)
class QueueItem:
    trajectory_id: uuid.UUID
    reasons: list[str]


def _labelled(session: Session, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for start in range(0, len(ids), CHUNK):
        stmt = select(Reward.trajectory_id).where(
            Reward.trajectory_id.in_(ids[start : start + CHUNK]), Reward.kind == "human"
        )
        found.update(session.scalars(stmt))
    return found


def queue_items(session: Session, *, skip: Sequence[uuid.UUID] = (), limit: int = 50) -> list[QueueItem]:
    rows = session.execute(
        select(Trajectory.id, Trajectory.success)
        .where(Trajectory.stop_reason.is_not(None))
        .order_by(Trajectory.created_at.desc(), Trajectory.id.desc())
        .limit(SCAN)
    ).all()
    skipped = set(skip)
    candidates = [(tid, success) for tid, success in rows if tid not in skipped]
    labelled = _labelled(session, [tid for tid, _ in candidates])
    candidates = [(tid, success) for tid, success in candidates if tid not in labelled]
    reasons: dict[uuid.UUID, list[str]] = {
        tid: ([] if success is not None else ["unverified"]) for tid, success in candidates
    }
    ids = list(reasons)
    last_decision: dict[uuid.UUID, dict[str, object]] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = (
            select(Turn.trajectory_id, Turn.decision)
            .where(
                Turn.trajectory_id.in_(ids[start : start + CHUNK]),
                Turn.phase.in_(ATTEMPT_PHASES),
                Turn.decision.is_not(None),
            )
            .order_by(Turn.trajectory_id, Turn.index)
        )
        for tid, decision in session.execute(stmt):
            if not isinstance(decision, dict):
                continue
            inputs = decision.get("inputs") if isinstance(decision.get("inputs"), dict) else {}
            assert isinstance(inputs, dict)
            verified, verdict = inputs.get("verified"), inputs.get("critique_verdict")
            disagree = (verified is True and verdict == "incorrect") or (
                verified is False and verdict == "correct"
            )
            if disagree and "disagreement" not in reasons[tid]:
                reasons[tid].append("disagreement")
            last_decision[tid] = inputs
    for tid, inputs in last_decision.items():
        if inputs.get("confident") is False:
            reasons[tid].append("low confidence")
    out = [QueueItem(tid, reasons[tid]) for tid, _ in candidates if reasons[tid]]
    return out[:limit]


def final_turn_id(session: Session, trajectory_id: uuid.UUID) -> uuid.UUID | None:
    """The attempt whose answer the run returned: the last attempt that was not a Best-of-N loser."""
    stmt = (
        select(Turn.id)
        .where(
            Turn.trajectory_id == trajectory_id,
            Turn.phase.in_(ATTEMPT_PHASES),
            Turn.selected.is_not(False),
        )
        .order_by(Turn.index.desc())
        .limit(1)
    )
    return session.scalar(stmt)
