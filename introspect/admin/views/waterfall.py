"""A trajectory's timings as a waterfall, from what the run records.

Recorded per turn: the model call's latency (``latency_ms``) and when the turn was written
(``created_at``); per job: when it was created and started; per trajectory: start and finish. Turns
written together (an attempt and its critic call, or N Best-of-N candidates) share one write. So
between two writes the model calls come first (the graph calls the model, then scores, verifies,
critiques and gates) and the rest of the interval is "scoring, verifier, critic, gate and DB write",
which the run does not time separately; a batched call's latency is split evenly over its candidates
by the graph itself. The chart says so rather than invent a finer split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from introspect.store.tables import Job, Trajectory, Turn

# Writes closer together than this are one batch (one ``record_turns`` call).
SAME_WRITE_MS = 5.0


@dataclass(frozen=True)
class Step:
    label: str
    start_ms: float
    duration_ms: float
    kind: str  # "wait" | "model" | "other" | "finish"
    hint: str


@dataclass
class Waterfall:
    steps: list[Step] = field(default_factory=list)
    total_ms: float = 0.0
    model_ms: float = 0.0
    other_ms: float = 0.0


def _naive(at: datetime) -> datetime:
    """SQLite hands back naive UTC times and Postgres aware ones: compare them as naive UTC."""
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


def _ms(later: datetime, earlier: datetime) -> float:
    return (_naive(later) - _naive(earlier)).total_seconds() * 1000.0


def _batches(turns: Sequence[Turn]) -> list[list[Turn]]:
    batches: list[list[Turn]] = []
    for t in sorted(turns, key=lambda t: (t.created_at, t.index)):
        if batches and abs(_ms(t.created_at, batches[-1][-1].created_at)) <= SAME_WRITE_MS:
            batches[-1].append(t)
        else:
            batches.append([t])
    return batches


def build_waterfall(trajectory: Trajectory, job: Job | None, turns: Sequence[Turn]) -> Waterfall:
    origin = trajectory.created_at
    out = Waterfall()
    if job is not None and job.created_at is not None and _ms(origin, job.created_at) > 0:
        wait = _ms(origin, job.created_at)
        origin = job.created_at
        out.steps.append(Step("queued → started", 0.0, wait, "wait", "from job creation to the run's start"))
    cursor = _ms(trajectory.created_at, origin)
    for n, batch in enumerate(_batches(turns)):
        written = _ms(batch[0].created_at, origin)
        start = cursor
        for t in sorted(batch, key=lambda t: t.index):
            latency = max(0.0, float(t.latency_ms or 0.0))
            if latency > 0:
                label = f"#{t.index} {t.phase}" + (f" · {t.model}" if t.model else "")
                out.steps.append(
                    Step(label, start, latency, "model", f"turn {t.index}: model call {latency:.0f} ms")
                )
                out.model_ms += latency
                start += latency
        rest = written - start
        if rest > 0:
            indexes = ", ".join(str(t.index) for t in batch)
            out.steps.append(
                Step(
                    # Before the first write the run also set up (loaded the graph and models).
                    f"#{indexes} {'setup · ' if n == 0 else ''}score · verify · gate · write",
                    start,
                    rest,
                    "other",
                    f"turns {indexes}: between the model call and the write (not timed separately)",
                )
            )
            out.other_ms += rest
        # Model time longer than the interval (clock skew, or latencies recorded for calls made
        # elsewhere) pushes the next step on rather than overlapping it.
        cursor = max(cursor, written, start)
    if trajectory.finished_at is not None:
        end = _ms(trajectory.finished_at, origin)
        if end > cursor:
            out.steps.append(
                Step(
                    "finish (rewards, settle)",
                    cursor,
                    end - cursor,
                    "finish",
                    "after the last turn was written",
                )
            )
        out.total_ms = max(end, cursor)
    else:
        out.total_ms = cursor
    return out
