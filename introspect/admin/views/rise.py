"""RISE's figures over stored trajectories (Qu et al. 2024, "Recursive Introspection").

* accuracy@t: the share of *all* tasks solved within the first t attempts. A task solved at turn 2
  stays solved at turns 3-5, and a task that stopped early still counts in the denominator (a run
  stops when its answer is verified, so "accuracy of attempt k among tasks that reached k" would
  measure only the hard tasks and fall as k grows).
* p1@t5 = accuracy@5: success if any of five turns is right (an oracle stops early).
* m1@t5: a majority vote over the answers of the first five turns, no oracle.
* first -> final: turn-1 accuracy against the accuracy of the answer the run returned.

Best-of-N candidates are one attempt sampled N times, not attempts 1..N: a sibling group counts once,
by its selected candidate. A task counts when at least one of its attempts was verified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from introspect.admin.queries.attempts import AttemptRow, TrajectoryAttempts

TURNS = 5


@dataclass(frozen=True)
class RiseFigures:
    name: str
    tasks: int
    accuracy_at: list[float]  # t = 1..TURNS
    first: float
    final: float
    p1_at_t5: float
    m1_at_t5: float


def collapse_siblings(attempts: Sequence[AttemptRow]) -> list[AttemptRow]:
    """One row per attempt: a Best-of-N group becomes its selected candidate (else its first)."""
    out: list[AttemptRow] = []
    groups: dict[int, int] = {}  # sibling_group -> position in out
    for a in sorted(attempts, key=lambda a: a.index):
        if a.sibling_group is None:
            out.append(a)
            continue
        if a.sibling_group not in groups:
            groups[a.sibling_group] = len(out)
            out.append(a)
        elif a.selected and not out[groups[a.sibling_group]].selected:
            out[groups[a.sibling_group]] = a
    return out


def majority_correct(attempts: Sequence[AttemptRow]) -> bool:
    """Is the most common answer (first seen wins a tie) right? Judged by any verified attempt that
    gave it: the vote needs no oracle, its scoring does."""
    answers = [a.answer.strip() for a in attempts if a.answer is not None and a.answer.strip()]
    if not answers:
        return False
    winner = Counter(answers).most_common(1)[0][0]
    return any(a.correct for a in attempts if a.answer is not None and a.answer.strip() == winner)


def figures(name: str, trajectories: Sequence[TrajectoryAttempts], turns: int = TURNS) -> RiseFigures:
    solved_at = [0] * turns
    first = final = p1 = m1 = 0
    tasks = 0
    for t in trajectories:
        attempts = collapse_siblings(t.attempts)
        if not any(a.correct is not None for a in attempts):
            continue
        tasks += 1
        window = attempts[:turns]
        hit = next((i for i, a in enumerate(window) if a.correct), None)
        if hit is not None:
            for k in range(hit, turns):
                solved_at[k] += 1
        first += bool(attempts[0].correct)
        returned = t.success if t.success is not None else attempts[-1].correct
        final += bool(returned)
        p1 += hit is not None
        m1 += majority_correct(window)
    share = (lambda n: n / tasks) if tasks else (lambda n: 0.0)
    return RiseFigures(
        name=name,
        tasks=tasks,
        accuracy_at=[share(n) for n in solved_at],
        first=share(first),
        final=share(final),
        p1_at_t5=share(p1),
        m1_at_t5=share(m1),
    )


def grouped(
    trajectories: Sequence[TrajectoryAttempts],
    key: Callable[[TrajectoryAttempts], str | None],
    limit: int = 8,
) -> list[RiseFigures]:
    """Figures per group (largest groups first, at most ``limit``); a missing key is "(none)"."""
    groups: dict[str, list[TrajectoryAttempts]] = {}
    for t in trajectories:
        groups.setdefault(key(t) or "(none)", []).append(t)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [f for f in (figures(name, members) for name, members in ranked) if f.tasks]
