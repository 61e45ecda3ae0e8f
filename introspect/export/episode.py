"""A stored trajectory seen as RISE's multi-turn MDP (Qu et al. 2024, "Recursive Introspection").

State ``s_0`` is what the first attempt saw (the task, with any system prompt); after attempt ``t``
the next state is ``s_{t+1} = s_t + [assistant: attempt t, user: feedback t]``; the action at ``s_t``
is attempt ``t``. Best-of-N siblings are several actions at the same state: the selected one carries
the trajectory on, the others stay as alternatives (preference pairs, KTO, RISE rows of their own).

Human labels are resolved here, at export time, so a label recorded after the trajectory finished
still counts: the latest label on an attempt overrides its reward and correctness, and the latest
label on the trajectory judges its final answer (and so its success and outcome reward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from introspect.export.records import RewardRow, TrajectoryRow, TurnRow

Message = dict[str, Any]

ATTEMPT_PHASES = frozenset({"generate", "revise", "escalate", "human"})
# RISE's feedback when no other text was recorded: without an oracle critic the paper sends exactly this.
DEFAULT_FEEDBACK = "The answer is incorrect. Please try again."
# Rewards live in [0, 1]; with no verifier verdict or label, an attempt is "correct" from this reward on.
CORRECT_FROM = 0.5


@dataclass(slots=True)
class Attempt:
    """One action: an answer to a state, with its resolved reward and correctness."""

    turn: TurnRow
    t: int  # the state it answers: how many earlier attempts the prompt holds
    text: str
    reward: float | None
    correct: bool | None
    label: RewardRow | None  # the human label that decided reward/correct, if any
    main: bool  # on the trajectory's main line (not an unselected Best-of-N sibling)

    def message(self) -> Message:
        return {"role": "assistant", "content": self.text}


@dataclass(slots=True)
class Episode:
    trajectory: TrajectoryRow
    states: list[list[Message]]  # states[t]: the chat that the attempts of step t answered
    steps: list[list[Attempt]]  # steps[t]: every attempt at states[t], the main-line one first
    feedback: list[str]  # feedback[t]: what the next attempt saw after main attempt t
    success: bool | None
    outcome_reward: float | None

    @property
    def main(self) -> list[Attempt]:
        return [step[0] for step in self.steps]

    def previous_reward(self, t: int) -> float | None:
        return self.steps[t - 1][0].reward if t > 0 else None


def build_episode(traj: TrajectoryRow, *, states: bool = True) -> Episode:
    """Group, judge and chain the attempts; ``states=False`` skips the prompts (raw needs none)."""
    groups = _attempt_groups(traj["turns"])
    steps: list[list[Attempt]] = []
    for t, group in enumerate(groups):
        if len(group) == 1:
            steps.append([_attempt(group[0], t, main=True)])
            continue
        main = _main_member(group)
        ordered = [main, *(turn for turn in group if turn is not main)]
        steps.append([_attempt(turn, t, main=turn is main) for turn in ordered])

    success, outcome = _trajectory_outcome(traj, steps)
    prompts: list[list[Message]] = []
    feedback: list[str] = []
    if states:
        prompts.append(_initial_state(traj, steps))
        for t in range(len(steps) - 1):
            text = _feedback(traj["turns"], groups[t], groups[t + 1], steps[t][0].turn)
            feedback.append(text)
            prompts.append([*prompts[t], steps[t][0].message(), {"role": "user", "content": text}])
    return Episode(traj, prompts, steps, feedback, success, outcome)


def _attempt_groups(turns: list[TurnRow]) -> list[list[TurnRow]]:
    """Attempt turns (in index order) grouped by state: Best-of-N siblings share a ``sibling_group``."""
    groups: dict[Any, list[TurnRow]] = {}
    for turn in turns:
        if turn["phase"] not in ATTEMPT_PHASES:
            continue
        group = turn["sibling_group"]
        key = ("turn", turn["index"]) if group is None else group
        if key in groups:
            groups[key].append(turn)
        else:
            groups[key] = [turn]
    return list(groups.values())


def _main_member(group: list[TurnRow]) -> TurnRow:
    # The selected sibling continues the trajectory; with none marked, the first one written did.
    if len(group) == 1:
        return group[0]
    return next((turn for turn in group if turn["selected"]), group[0])


def _latest_label(rewards: list[RewardRow]) -> RewardRow | None:
    latest: RewardRow | None = None
    for reward in rewards:  # creation order: the last label seen is the latest
        if reward["kind"] == "human" and (latest is None or reward["created_at"] >= latest["created_at"]):
            latest = reward
    return latest


def _label_verdict(label: RewardRow) -> bool:
    return label["label"] if label["label"] is not None else label["value"] >= CORRECT_FROM


def _attempt(turn: TurnRow, t: int, *, main: bool) -> Attempt:
    output = turn["output"]
    text = output if output is not None else (turn["answer"] or "")
    # One pass over the turn's rewards (creation order): the latest label, the latest attempt reward.
    label: RewardRow | None = None
    scored: float | None = None
    for r in turn["rewards"]:
        kind = r["kind"]
        if kind == "attempt":
            scored = r["value"]
        elif kind == "human" and (label is None or r["created_at"] >= label["created_at"]):
            label = r
    if label is not None:
        return Attempt(turn, t, text, float(label["value"]), _label_verdict(label), label, main)
    passed: bool | None = None
    for v in turn["verifications"]:  # the latest verdict counts
        if v["passed"] is not None:
            passed = v["passed"]
    # float(): JSON from Postgres writes 1.0 as 1
    reward = float(scored) if scored is not None else (None if passed is None else float(passed))
    correct = passed if passed is not None else (None if reward is None else reward >= CORRECT_FROM)
    return Attempt(turn, t, text, reward, correct, None, main)


def _trajectory_outcome(traj: TrajectoryRow, steps: list[list[Attempt]]) -> tuple[bool | None, float | None]:
    final = steps[-1][0] if steps else None
    candidates = [
        label for label in (_latest_label(traj["rewards"]), final.label if final else None) if label
    ]
    if candidates:
        label = max(candidates, key=lambda r: r["created_at"])
        verdict, value = _label_verdict(label), float(label["value"])
        if final is not None:  # a label on the trajectory judges its final answer
            final.reward, final.correct, final.label = value, verdict, label
        return verdict, value
    outcome = next(
        (r["value"] for r in reversed(traj["rewards"]) if r["kind"] == "outcome"), traj["outcome_reward"]
    )
    outcome = None if outcome is None else float(outcome)
    success = traj["success"]
    if final is not None and final.reward is None and outcome is not None:
        # No per-attempt signal on the last answer: the trajectory's outcome is its reward.
        final.reward = outcome
        final.correct = success if success is not None else outcome >= CORRECT_FROM
    return success, outcome


def _initial_state(traj: TrajectoryRow, steps: list[list[Attempt]]) -> list[Message]:
    first = steps[0][0].turn if steps else None
    if first is not None and first["phase"] == "generate" and first["messages"]:
        return list(first["messages"])
    if traj["task_messages"]:
        return list(traj["task_messages"])
    return [{"role": "user", "content": traj["task_prompt"]}]


def _feedback(turns: list[TurnRow], group: list[TurnRow], next_group: list[TurnRow], judged: TurnRow) -> str:
    """The text the next attempt saw, from the most exact record that holds it.

    The graph gives a revision the conversation so far plus one user message (the feedback, with any
    retrieved passages before it), so the next attempt's own last message is exactly that text.
    Without it: the critique rows on the judged attempt, then critique turns in between, then
    RISE's fixed feedback.
    """
    seen = _main_member(next_group)["messages"]
    if seen and isinstance(seen[-1], dict) and seen[-1].get("role") == "user":
        return str(seen[-1].get("content", ""))
    if judged["critiques"]:
        return "\n\n".join(c["feedback"] for c in judged["critiques"])
    low, high = group[-1]["index"], next_group[0]["index"]
    between = [t for t in turns if t["phase"] == "critique" and low < t["index"] < high]
    texts = [c["feedback"] for t in between for c in t["critiques"]]
    texts = texts or [t["output"] for t in between if t["output"]]
    if texts:
        return "\n\n".join(texts)
    return DEFAULT_FEEDBACK
