"""More stored cases for the admin pages: a failed job (with and without a trajectory), Best-of-N
candidates, single answers of chosen certainty, and unverified answers for the label queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories import jobs
from introspect.store.repositories.events import append_event
from introspect.store.repositories.trajectories import (
    TurnData,
    VerificationData,
    create_trajectory,
    finish_trajectory,
    record_turn,
)
from introspect.store.tables import Batch
from tests.admin.seed import compact_stats, summary

FAILURE = "RuntimeError: the model server at http://127.0.0.1:9/v1 refused the connection (3 attempts)"


@dataclass
class FailedJob:
    job_id: uuid.UUID
    trajectory_id: uuid.UUID | None


def seed_failed_job(
    factory: sessionmaker[Session],
    *,
    with_trajectory: bool,
    error: str = FAILURE,
    meta: dict[str, Any] | None = None,
) -> FailedJob:
    """A poison job: three attempts, each ending in the same error, then ``failed``."""
    with transaction(factory) as s:
        job = jobs.create_job(s, graph="self_critique", input={"prompt": "What is 6 x 7?"}, meta=meta).job
        job.status, job.error, job.attempts = "failed", error, 3
        for attempt in (1, 2, 3):
            append_event(s, job.id, "running", {"attempt": attempt})
            append_event(s, job.id, "attempt_failed", {"attempt": attempt, "error": error})
        append_event(s, job.id, "failed", {"error": error})
        tid = None
        if with_trajectory:
            tid = create_trajectory(s, graph="self_critique", task_prompt="What is 6 x 7?", job_id=job.id).id
        return FailedJob(job_id=job.id, trajectory_id=tid)


def _tokens(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def seed_answer(
    factory: sessionmaker[Session],
    *,
    prompt: str,
    answer: str,
    entropies: list[float] | None = None,
    success: bool | None = None,
    model: str = "demo-llama",
    confident: bool = True,
    latency_ms: float = 1890.0,
    meta: dict[str, Any] | None = None,
    batch: str | None = None,
) -> uuid.UUID:
    """One generated answer (verified or not), its token entropies chosen by the caller; ``batch``
    makes its job a row of that batch (created on first use)."""
    tokens = _tokens(answer)
    entropies = entropies or [0.02] * len(tokens)
    assert len(entropies) == len(tokens)
    with transaction(factory) as s:
        job = jobs.create_job(s, graph="self_critique", input={"prompt": prompt}, meta=meta).job
        job.status = "succeeded"
        if batch is not None:
            row = s.scalar(select(Batch).where(Batch.name == batch))
            if row is None:
                row = Batch(name=batch, graph="self_critique")
                s.add(row)
                s.flush()
            job.batch_id, job.batch_row_id = row.id, str(uuid.uuid4())
        tid = create_trajectory(s, graph="self_critique", task_prompt=prompt, job_id=job.id).id
    stats = summary(entropies)
    reason = "verified" if success else ("verifier_rejected" if success is False else "confident")
    inputs = {
        "verified": success,
        "confident": confident,
        "attempt": 1,
        "mean_entropy": stats["mean_entropy"],
        "mean_self_certainty": stats["mean_self_certainty"],
    }
    turn = TurnData(
        index=0,
        phase="generate",
        attempt=1,
        model=model,
        messages=[{"role": "user", "content": prompt}],
        output=answer,
        answer=answer.rsplit(" ", 1)[-1],
        stats=stats,
        token_stats=compact_stats(tokens, entropies),
        decision={
            "action": "stop",
            "reason": reason if confident or success is not None else "unverifiable",
            "inputs": inputs,
            "thresholds": {"max_turns": 5, "min_self_certainty": 7.5},
        },
        latency_ms=latency_ms,
        prompt_tokens=12,
        completion_tokens=len(tokens),
        verifications=[]
        if success is None
        else [VerificationData(verifier="numeric", passed=success, message="")],
    )
    with transaction(factory) as s:
        record_turn(s, tid, turn, lease_version=None)
        finish_trajectory(
            s,
            tid,
            final_answer=answer,
            stop_reason=turn.decision["reason"] if turn.decision else "confident",
            success=success,
            outcome_reward=None if success is None else float(success),
            models=[model],
            total_tokens=12 + len(tokens),
            total_latency_ms=latency_ms + 40.0,
        )
    return tid


def seed_best_of_n(factory: sessionmaker[Session]) -> uuid.UUID:
    """Three candidates from one batched call; Borda picks the most certain "42"."""
    prompt = "What is 6 x 7?"
    outputs = ["6 x 7 = 42. The answer is 42", "6 x 7 = 41. The answer is 41", "Six sevens make 42"]
    answers, certainty, votes = ["42", "41", "42"], [9.1, 7.4, 8.2], [3.0**0.3, 1.0, 2.0**0.3]
    with transaction(factory) as s:
        job = jobs.create_job(s, graph="best_of_n", input={"prompt": prompt}).job
        job.status = "succeeded"
        tid = create_trajectory(s, graph="best_of_n", task_prompt=prompt, reference="42", job_id=job.id).id
    with transaction(factory) as s:
        for i, out in enumerate(outputs):
            tokens = _tokens(out)
            ent = [0.05 + 0.2 * (i == 1)] * len(tokens)
            record_turn(
                s,
                tid,
                TurnData(
                    index=i,
                    phase="generate",
                    attempt=1,
                    model="demo-llama",
                    messages=[{"role": "user", "content": prompt}],
                    output=out,
                    answer=answers[i],
                    stats={**summary(ent), "mean_self_certainty": certainty[i]},
                    token_stats=compact_stats(tokens, ent),
                    sibling_group=0,
                    selected=i == 0,
                    decision={
                        "action": "stop",
                        "reason": "selected_by_borda" if i == 0 else "not_selected",
                        "inputs": {
                            "candidate": i,
                            "mean_self_certainty": certainty[i],
                            "answer": answers[i],
                            "method": "borda",
                            "votes": votes[i],
                        },
                        "thresholds": {"selection": "borda", "borda_p": 0.3, "n": 3},
                    },
                    latency_ms=300.0,
                    prompt_tokens=10,
                    completion_tokens=len(tokens),
                    verifications=[
                        VerificationData(verifier="numeric", passed=answers[i] == "42", message="")
                    ],
                ),
                lease_version=None,
            )
        finish_trajectory(
            s,
            tid,
            final_answer=outputs[0],
            stop_reason="selected_by_borda",
            success=True,
            outcome_reward=1.0,
            models=["demo-llama"],
            total_tokens=60,
            total_latency_ms=950.0,
        )
    return tid
