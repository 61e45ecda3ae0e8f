"""Record trajectories the way the self-critique graph does, through the store's repositories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories.trajectories import (
    CritiqueData,
    RewardData,
    TurnData,
    VerificationData,
    add_reward,
    create_trajectory,
    finish_trajectory,
    record_turn,
)
from introspect.store.tables import Trajectory

FEEDBACK = "The answer is incorrect. Please try again."


@dataclass
class Try:
    """One attempt: its text and the verifier's verdict; ``siblings`` are Best-of-N alternatives."""

    output: str
    passed: bool | None
    phase: str | None = None  # default: generate for the first attempt, revise after
    siblings: list[tuple[str, bool | None]] = field(default_factory=list)
    verifier_message: str | None = None
    reward: bool = True  # record an attempt reward (1.0/0.0) besides the verification
    shown: str | None = None  # the user message the next attempt sees (default: the feedback)
    recorded: bool = True  # False: this attempt's turn keeps no messages (e.g. a human's answer)


def record_trajectory(
    factory: sessionmaker[Session],
    question: str,
    tries: list[Try],
    *,
    graph: str = "self_critique",
    reference: str | None = "42",
    model: str = "demo",
    system: str | None = None,
    feedback_on: Literal["turn", "judged", "none"] = "turn",
    created_at: datetime | None = None,
    finished: bool = True,
) -> uuid.UUID:
    """Run the generate → verify → critique → revise bookkeeping for a scripted list of attempts."""
    task = [{"role": "user", "content": question}]
    with transaction(factory) as s:
        traj = create_trajectory(
            s, graph=graph, task_prompt=question, task_messages=task, reference=reference
        )
        traj_id = traj.id
        if created_at is not None:
            s.execute(update(Trajectory).where(Trajectory.id == traj_id).values(created_at=created_at))
    state: list[dict[str, Any]] = ([{"role": "system", "content": system}] if system else []) + task
    index = 0
    for n, attempt in enumerate(tries):
        phase = attempt.phase or ("generate" if n == 0 else "revise")
        last = n == len(tries) - 1
        feedback = FEEDBACK + (f"\n{attempt.verifier_message}" if attempt.verifier_message else "")
        group = n if attempt.siblings else None
        # The selected sibling is written between the others: selection, not order, picks it.
        others = [(o, p, False) for o, p in attempt.siblings]
        entries = [*others[:1], (attempt.output, attempt.passed, True), *others[1:]]
        with transaction(factory) as s:
            for output, passed, selected in entries:
                rewards = [RewardData(kind="attempt", value=float(bool(passed)))] if attempt.reward else []
                verifications = (
                    [VerificationData(verifier="numeric", passed=passed, message=attempt.verifier_message)]
                    if passed is not None
                    else []
                )
                critiques = (
                    [CritiqueData(critic="verifier_feedback", verdict="incorrect", feedback=feedback)]
                    if feedback_on == "judged" and selected and not last
                    else []
                )
                record_turn(
                    s,
                    traj_id,
                    TurnData(
                        index=index,
                        phase=phase,
                        attempt=n,
                        messages=list(state) if attempt.recorded else [],
                        output=output,
                        answer=output.rsplit(" ", 1)[-1].rstrip("."),
                        model=model,
                        stats={"mean_self_certainty": 1.0 + n, "gnll": 0.5},
                        decision={"action": "stop" if last else "revise", "reason": "verifier"},
                        sibling_group=group,
                        selected=selected if group is not None else None,
                        verifications=verifications,
                        critiques=critiques,
                        rewards=rewards,
                    ),
                    lease_version=1,
                )
                index += 1
            if not last and feedback_on == "turn":
                record_turn(
                    s,
                    traj_id,
                    TurnData(index=index, phase="critique", output=feedback, model="verifier_feedback"),
                    lease_version=1,
                )
                index += 1
        if not last:
            shown = attempt.shown if attempt.shown is not None else feedback
            state = [
                *state,
                {"role": "assistant", "content": attempt.output},
                {"role": "user", "content": shown},
            ]
    if finished:
        final = tries[-1]
        with transaction(factory) as s:
            outcome = float(bool(final.passed))
            finish_trajectory(
                s,
                traj_id,
                final_answer=final.output,
                stop_reason="verified" if final.passed else "budget",
                success=final.passed,
                outcome_reward=outcome,
                models=[model],
                total_tokens=10 * len(tries),
                total_latency_ms=1.0,
            )
            add_reward(s, traj_id, RewardData(kind="outcome", value=outcome))
    return traj_id


def label_turn(
    factory: sessionmaker[Session],
    trajectory_id: uuid.UUID,
    turn_id: uuid.UUID | None,
    label: bool,
    comment: str = "checked by hand",
) -> None:
    """What the admin view records: a human reward on a turn (or, with no turn, the trajectory)."""
    with transaction(factory) as s:
        add_reward(
            s,
            trajectory_id,
            RewardData(kind="human", value=float(label), label=label, comment=comment, source="admin"),
            turn_id=turn_id,
        )
