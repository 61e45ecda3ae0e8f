"""Jobs waiting for a human answer, with what the graph asked (the escalation turn)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from introspect.store.tables import Job, Trajectory, Turn


@dataclass(frozen=True)
class Escalation:
    job: Job
    trajectory: Trajectory | None
    question: Turn | None  # the turn whose gate decision escalated: its output and reason say why

    @property
    def message(self) -> str | None:
        """What the graph asked the human (the interrupt payload the runner stores on the job)."""
        interrupt = (self.job.result or {}).get("interrupt")
        if isinstance(interrupt, dict) and isinstance(interrupt.get("message"), str):
            return str(interrupt["message"])
        return None


def waiting_jobs(session: Session, limit: int = 100) -> list[Escalation]:
    jobs = session.scalars(
        select(Job).where(Job.status == "waiting_human").order_by(Job.updated_at.desc(), Job.id).limit(limit)
    ).all()
    if not jobs:
        return []
    ids = [j.id for j in jobs]
    trajectories: dict[uuid.UUID, Trajectory] = {}
    for t in session.scalars(
        select(Trajectory).where(Trajectory.job_id.in_(ids)).order_by(Trajectory.created_at)
    ):
        if t.job_id is not None:
            trajectories[t.job_id] = t  # the latest run of each job wins
    questions: dict[uuid.UUID, Turn] = {}
    traj_ids = [t.id for t in trajectories.values()]
    if traj_ids:
        for turn in session.scalars(
            select(Turn)
            .where(Turn.trajectory_id.in_(traj_ids), Turn.decision_action == "escalate")
            .order_by(Turn.index)
        ):
            questions[turn.trajectory_id] = turn
    out = []
    for job in jobs:
        traj = trajectories.get(job.id)
        out.append(Escalation(job=job, trajectory=traj, question=questions.get(traj.id) if traj else None))
    return out
