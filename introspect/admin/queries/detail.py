"""Reading one trajectory for its page, and writing the human labels made on it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from introspect.store.repositories.trajectories import (
    RewardData,
    add_reward,
    get_trajectory_detail,
    list_rewards,
)
from introspect.store.tables import Job, JobEvent, Reward, Trajectory, Turn


@dataclass(frozen=True)
class TrajectoryBundle:
    trajectory: Trajectory
    job: Job | None
    rewards: list[Reward]
    last_event: JobEvent | None


def load_trajectory(session: Session, trajectory_id: uuid.UUID) -> TrajectoryBundle | None:
    trajectory = get_trajectory_detail(session, trajectory_id)
    if trajectory is None:
        return None
    job = session.get(Job, trajectory.job_id) if trajectory.job_id else None
    last_event = None
    if job is not None:
        last_event = session.scalars(
            select(JobEvent).where(JobEvent.job_id == job.id).order_by(JobEvent.id.desc()).limit(1)
        ).first()
    return TrajectoryBundle(
        trajectory=trajectory,
        job=job,
        rewards=list(list_rewards(session, trajectory_id)),
        last_event=last_event,
    )


class UnknownTurnError(LookupError):
    pass


def add_human_label(
    session: Session,
    trajectory_id: uuid.UUID,
    *,
    turn_id: uuid.UUID | None,
    value: float,
    label: bool | None,
    comment: str | None,
    source: str,
) -> Reward:
    """A ``human`` reward row (the export weights examples by it); the turn must be this trajectory's."""
    if session.get(Trajectory, trajectory_id) is None:
        raise UnknownTurnError(f"trajectory {trajectory_id} not found")
    if turn_id is not None:
        owner = session.scalar(select(Turn.trajectory_id).where(Turn.id == turn_id))
        if owner != trajectory_id:
            raise UnknownTurnError(f"turn {turn_id} is not part of trajectory {trajectory_id}")
    data = RewardData(kind="human", value=value, label=label, comment=comment, source=source)
    return add_reward(session, trajectory_id, data, turn_id=turn_id)
