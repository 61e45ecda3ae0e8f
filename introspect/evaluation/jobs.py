"""Run an evaluation dataset through the runner, per model and mode, and read the attempts back.

Each (model, mode) is a batch in the evaluation database, named from the dataset's sha256, the
model directory and the settings that matter, so running the same evaluation again continues it
(finished problems are not rerun) and a model's figures are never mixed with another's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.batches import BatchSummary, DatasetRow, open_batch
from introspect.batches.inline import run_batch
from introspect.config import Settings
from introspect.evaluation.metrics import GradedAttempt, ProblemRun
from introspect.runner.model_provider import DefaultModelProvider
from introspect.store.repositories.batches import find_batch
from introspect.store.tables import Job, Trajectory, Turn
from introspect.verifiers.base import VerificationTask
from introspect.verifiers.registry import build_verifier

ATTEMPT_PHASES = ("generate", "revise", "escalate", "human")
# The no-oracle run must give every problem all its turns: no "confident" stop. A job's own gate
# profile is switched off and the self-certainty cut put out of reach, so the gate revises until
# max_turns (rule order in introspect.gate.decision), with RISE's fixed feedback.
NEVER_CONFIDENT = {"min_self_certainty": 1e9}


@dataclass(frozen=True)
class EvalSpec:
    dataset_sha: str
    turns: int
    max_tokens: int


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:10]


def batch_name(spec: EvalSpec, model_dir: str, mode: str) -> str:
    model = _key(str(Path(model_dir).resolve()))
    return f"eval-{spec.dataset_sha[:10]}-{model}-{mode}-t{spec.turns}-{spec.max_tokens}"


def mode_rows(rows: Sequence[DatasetRow], mode: str, spec: EvalSpec) -> list[DatasetRow]:
    """The oracle run keeps reference and verifier in the loop; the no-oracle run hides them."""
    out = []
    for row in rows:
        config = {**row.config, "max_turns": spec.turns, "max_tokens": spec.max_tokens}
        job_input = dict(row.input)
        if mode == "m1":
            job_input.pop("reference", None)
            job_input.pop("verifier", None)
            config["gate_profile"] = False
            config["gate"] = {**config.get("gate", {}), **NEVER_CONFIDENT}
        out.append(DatasetRow(row_id=row.row_id, graph=row.graph, input=job_input, config=config))
    return out


def run_mode(
    settings: Settings,
    factory: sessionmaker[Session],
    rows: Sequence[DatasetRow],
    *,
    model_dir: str,
    mode: str,
    spec: EvalSpec,
    concurrency: int,
    on_progress: Callable[[BatchSummary], object] | None = None,
) -> BatchSummary:
    local = settings.model_copy(update={"model_path": Path(model_dir)})
    runs = mode_rows(rows, mode, spec)
    name = batch_name(spec, model_dir, mode)
    config = {"max_turns": spec.turns, "max_tokens": spec.max_tokens}
    opened = open_batch(
        factory, name=name, rows=runs, graph=runs[0].graph, config=config, source_sha256=spec.dataset_sha,
        metadata={"model": model_dir, "mode": mode}, retry_failed=True,
    )  # fmt: skip
    return run_batch(
        local,
        factory,
        opened.summary.id,
        concurrency=concurrency,
        models=DefaultModelProvider(local),
        on_progress=on_progress,
    )


def _grader(row: DatasetRow) -> tuple[Any, VerificationTask] | None:
    reference = row.input.get("reference")
    spec = row.input.get("verifier") or ("numeric" if _is_number(reference) else "exact")
    if reference is None:
        return None
    return build_verifier(spec), VerificationTask(
        prompt=str(row.input.get("prompt", "")), reference=reference
    )


def _is_number(text: Any) -> bool:
    from introspect.verifiers.numeric import parse_number

    return isinstance(text, str) and parse_number(text) is not None


def grade(row: DatasetRow, output: str) -> tuple[str | None, bool]:
    """(extracted answer, correct) by the row's own verifier (numeric for a number, else exact)."""
    graded = _grader(row)
    if graded is None:
        return None, False
    verifier, task = graded
    result = verifier.verify(output or "", task)
    return result.extracted, bool(result.passed)


def collect(factory: sessionmaker[Session], rows: Sequence[DatasetRow], name: str) -> list[ProblemRun]:
    """Each row's latest trajectory in the batch ``name``, its attempts graded against the row."""
    by_id = {r.row_id: r for r in rows}
    out: list[ProblemRun] = []
    with factory() as session:
        batch = find_batch(session, name)
        if batch is None:
            return []
        stmt = (
            select(Job.batch_row_id, Trajectory)
            .join(Trajectory, Trajectory.job_id == Job.id)
            .where(Job.batch_id == batch.id, Job.status == "succeeded")
            .order_by(Trajectory.created_at)
        )
        latest: dict[str, Trajectory] = {}
        for row_id, trajectory in session.execute(stmt):
            if row_id is not None:
                latest[row_id] = trajectory
        for row_id, trajectory in latest.items():
            row = by_id.get(row_id)
            if row is None:
                continue
            turns = session.scalars(
                select(Turn).where(Turn.trajectory_id == trajectory.id, Turn.phase.in_(ATTEMPT_PHASES))
                .order_by(Turn.index)
            ).all()  # fmt: skip
            attempts = []
            for turn in turns:
                answer, correct = grade(row, turn.output or "")
                tokens = (turn.prompt_tokens or 0) + (turn.completion_tokens or 0)
                attempts.append(
                    GradedAttempt(answer=answer, correct=correct, stats=turn.stats or {}, tokens=tokens)
                )
            seconds = None
            if trajectory.finished_at is not None:
                seconds = (trajectory.finished_at - trajectory.created_at).total_seconds()
            out.append(
                ProblemRun(
                    row_id=row_id, attempts=attempts, total_tokens=trajectory.total_tokens, seconds=seconds
                )
            )
    return out


def correct_answer(rows: Sequence[DatasetRow]) -> Callable[[str, str | None], bool]:
    by_id = {r.row_id: r for r in rows}

    def is_correct(row_id: str, answer: str | None) -> bool:
        if answer is None:
            return False
        return grade(by_id[row_id], answer)[1]

    return is_correct


def dataset_sha(rows: Sequence[DatasetRow]) -> str:
    canonical = [{"id": r.row_id, "graph": r.graph, "input": r.input, "config": r.config} for r in rows]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
