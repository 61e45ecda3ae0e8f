"""Stored trajectories for the admin tests, written through the store's own repositories.

Token statistics are built with ``introspect.uncertainty.TokenStats`` and stored with its
``to_compact()``, so the heatmap is tested against the exact format the models write.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from introspect.gate.policy import GatePolicy
from introspect.store.engine import transaction
from introspect.store.repositories import jobs
from introspect.store.repositories.trajectories import (
    CritiqueData,
    TurnData,
    VerificationData,
    create_trajectory,
    finish_trajectory,
    record_turn,
)
from introspect.uncertainty import TokenStats


def compact_stats(tokens: list[str], entropies: list[float], *, seed: int = 0) -> dict[str, Any]:
    """Per-token stats for ``tokens`` with the given entropies and plausible companions."""
    n = len(tokens)
    logprob = [-0.05 - 0.4 * h for h in entropies]
    top_lp = [[lp, lp - 1.0 - 0.1 * ((i + seed) % 3), lp - 2.5] for i, lp in enumerate(logprob)]
    top_tokens = [[tok, tok.strip() + "x", "<alt>"] for tok in tokens]
    stats = TokenStats(
        logprob=np.asarray(logprob),
        entropy=np.asarray(entropies),
        varentropy=np.asarray([0.5 * h for h in entropies]),
        margin=np.asarray([row[0] - row[1] for row in top_lp]),
        top1_logprob=np.asarray([row[0] for row in top_lp]),
        self_certainty=np.asarray([8.0 - 2.0 * h for h in entropies]),
        token_ids=np.arange(100, 100 + n),
        tokens=tokens,
        top_ids=np.asarray([[1, 2, 3] for _ in range(n)]),
        top_logprobs=np.asarray(top_lp),
        top_tokens=top_tokens,
    )
    return stats.to_compact()


def summary(entropies: list[float]) -> dict[str, Any]:
    mean_h = sum(entropies) / len(entropies)
    return {
        "n_tokens": len(entropies),
        "mean_entropy": mean_h,
        "mean_varentropy": mean_h / 2,
        "mean_self_certainty": 8.0 - 2.0 * mean_h,
        "mean_logprob": -0.05 - 0.4 * mean_h,
        "min_logprob": -0.05 - 0.4 * max(entropies),
        "gnll": sum(0.05 + 0.4 * h for h in entropies),
        "mean_margin": 1.0,
        "regime": "confident" if mean_h < 1 else "unsure",
    }


@dataclass
class Seeded:
    trajectory_id: uuid.UUID
    job_id: uuid.UUID | None
    turn_ids: list[uuid.UUID]


def seed_revision(
    factory: sessionmaker[Session],
    *,
    prompt: str = "What is 17 + 25?",
    first: str = "The answer is 41.",
    second: str = "The answer is 42.",
    graph: str = "self_critique",
    model: str = "demo-llama",
    job_status: str | None = "succeeded",
    critique: str = "The sum is off by one: 17 + 25 = 42.",
) -> Seeded:
    """A two-attempt trajectory: a wrong answer, a verifier + critique, a corrected revision."""
    with transaction(factory) as s:
        job_id = None
        if job_status is not None:
            job = jobs.create_job(s, graph=graph, input={"prompt": prompt}).job
            job.status = job_status
            job_id = job.id
        traj = create_trajectory(s, graph=graph, task_prompt=prompt, reference="42", job_id=job_id)
        tid = traj.id
    t1 = first.split(" ")
    tok1 = [w if i == 0 else " " + w for i, w in enumerate(t1)]
    ent1 = [0.1 + 0.45 * (i % 5) for i in range(len(tok1))]
    tok2 = [w if i == 0 else " " + w for i, w in enumerate(second.split(" "))]
    ent2 = [0.05 + 0.1 * (i % 3) for i in range(len(tok2))]
    turns = [
        TurnData(
            index=0,
            phase="generate",
            attempt=1,
            model=model,
            messages=[{"role": "user", "content": prompt}],
            output=first,
            answer=first.rsplit(" ", 1)[-1].rstrip("."),
            stats=summary(ent1),
            token_stats=compact_stats(tok1, ent1),
            decision={
                "action": "revise",
                "reason": "verifier_failed",
                "inputs": {"verified": False, "mean_entropy": sum(ent1) / len(ent1)},
                "thresholds": {"max_turns": 5, "entropy": 1.0},
            },
            latency_ms=120.0,
            prompt_tokens=20,
            completion_tokens=len(tok1),
            verifications=[VerificationData(verifier="numeric", passed=False, message="expected 42, got 41")],
            critiques=[CritiqueData(critic="verifier_feedback", verdict="incorrect", feedback=critique)],
        ),
        TurnData(
            index=1,
            phase="revise",
            attempt=2,
            model=model,
            messages=[{"role": "user", "content": prompt}, {"role": "assistant", "content": first}],
            output=second,
            answer=second.rsplit(" ", 1)[-1].rstrip("."),
            stats=summary(ent2),
            token_stats=compact_stats(tok2, ent2, seed=1),
            decision={
                "action": "stop",
                "reason": "verified",
                "inputs": {"verified": True},
                "thresholds": {"max_turns": 5},
            },
            latency_ms=95.0,
            prompt_tokens=40,
            completion_tokens=len(tok2),
            verifications=[VerificationData(verifier="numeric", passed=True, message="ok")],
        ),
    ]
    ids = []
    with transaction(factory) as s:
        for t in turns:
            row = record_turn(s, tid, t, lease_version=None)
            assert row is not None
            ids.append(row)
        finish_trajectory(
            s,
            tid,
            final_answer=second,
            stop_reason="verified",
            success=True,
            outcome_reward=1.0,
            models=[model],
            total_tokens=len(tok1) + len(tok2) + 60,
            total_latency_ms=215.0,
        )
    return Seeded(trajectory_id=tid, job_id=job_id, turn_ids=ids)


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


_PIECES = re.compile(r"\d| ?[A-Za-z]+|\n| ?[^\w\s]| ")


def tokenize(text: str) -> list[str]:
    """Demo-tokenizer-like pieces: one token per digit (as the bundled model splits numbers)."""
    return _PIECES.findall(text)


def _entropies(tokens: list[str], unsure_digits: set[int]) -> list[float]:
    """Low entropy on words, higher on digits, highest on the digits the model got wrong."""
    out = []
    for i, tok in enumerate(tokens):
        if tok.isdigit():
            out.append(2.1 if i in unsure_digits else 0.35 + 0.1 * (i % 3))
        else:
            out.append(0.04 + 0.03 * (i % 4))
    return out


def seed_story(factory: sessionmaker[Session], *, job_status: str = "succeeded") -> Seeded:
    """A realistic three-turn run for screenshots and browser tests: a carrying mistake, the critique
    that names it, and the corrected revision, with retrieved notes and per-digit uncertainty."""
    prompt = "A shop sold 17 apples in the morning and 25 in the afternoon. How many apples did it sell?"
    first = "Morning and afternoon together: 17 + 25.\n7 + 5 = 12, write 2.\n1 + 2 = 3.\nThe answer is 32."
    second = (
        "Morning and afternoon together: 17 + 25.\n7 + 5 = 12, write 2 and carry 1.\n1 + 2 + 1 = 4.\n"
        "The answer is 42."
    )
    critique = "The tens column forgot the **carry** from 7 + 5 = 12: it should be 1 + 2 + 1 = 4, not 3."
    with transaction(factory) as s:
        job = jobs.create_job(s, graph="self_critique", input={"prompt": prompt}).job
        job.status = job_status
        traj = create_trajectory(s, graph="self_critique", task_prompt=prompt, reference="42", job_id=job.id)
        tid, job_id = traj.id, job.id
    tok1, tok2 = tokenize(first), tokenize(second)
    wrong = {i for i, t in enumerate(tok1) if t in ("3", "2") and i > len(tok1) - 14}
    ent1, ent2 = _entropies(tok1, wrong), _entropies(tok2, set())
    retrieved = [
        {
            "title": "Column addition",
            "content": "Add the ones; if the sum is 10 or more, carry 1 to the tens.",
            "score": 3.2,
        },
    ]
    turns = [
        TurnData(
            index=0, phase="generate", attempt=1, model="demo-llama",
            messages=[{"role": "user", "content": prompt}], output=first, answer="32",
            stats=summary(ent1), token_stats=compact_stats(tok1, ent1), retrieved=retrieved,
            decision={"action": "revise", "reason": "verifier_rejected",
                      "inputs": {"verified": False, "mean_entropy": round(sum(ent1) / len(ent1), 3),
                                 "regime": "confident", "attempt": 1},
                      "thresholds": GatePolicy().thresholds()},
            latency_ms=182.0, prompt_tokens=38, completion_tokens=len(tok1),
            verifications=[VerificationData(verifier="numeric", passed=False, message="expected 42, got 32")],
            critiques=[CritiqueData(critic="verifier_feedback", verdict="incorrect", feedback=critique)],
        ),
        TurnData(
            index=1, phase="revise", attempt=2, model="demo-llama",
            messages=[{"role": "user", "content": prompt}, {"role": "assistant", "content": first},
                      {"role": "user", "content": critique}],
            output=second, answer="42", stats=summary(ent2), token_stats=compact_stats(tok2, ent2, seed=1),
            decision={"action": "stop", "reason": "verified",
                      "inputs": {"verified": True, "attempt": 2,
                                 "mean_entropy": round(sum(ent2) / len(ent2), 3)},
                      "thresholds": GatePolicy().thresholds()},
            latency_ms=201.0, prompt_tokens=96, completion_tokens=len(tok2),
            verifications=[VerificationData(verifier="numeric", passed=True, message="42 = 42")],
        ),
    ]  # fmt: skip
    ids = []
    with transaction(factory) as s:
        for t in turns:
            row = record_turn(s, tid, t, lease_version=None)
            assert row is not None
            ids.append(row)
        finish_trajectory(
            s, tid, final_answer=second, stop_reason="verified", success=True, outcome_reward=1.0,
            models=["demo-llama"], total_tokens=len(tok1) + len(tok2) + 134, total_latency_ms=383.0,
        )  # fmt: skip
    return Seeded(trajectory_id=tid, job_id=job_id, turn_ids=ids)
