"""Derive the gate's certainty defaults from the demo model: ``python -m introspect.gate.evaluate_demo``.

Greedy first attempts on the demo task's held-out split, graded by the numeric verifier; their mean
token-stat summaries go through :func:`introspect.gate.calibrate.calibrate`. Wrong answers
then get RISE's oracle feedback for up to ``--turns`` attempts, which gives p1@t (Qu et al. 2024).
The printed report is what ``introspect/gate/policy.py`` cites for ``DEFAULT_MIN_SELF_CERTAINTY``
and ``DEFAULT_MAX_MEAN_NLL``. Needs the bundled weights (or ``--model``); loads torch.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from introspect.gate.calibrate import CalibrationSettings, Sample, calibrate


def evaluate(model_dir: Path, n: int, turns: int, max_new_tokens: int = 48) -> tuple[list[Sample], list[int]]:
    """First-attempt samples, and the turn (1-based) at which each problem was first right (0: never)
    when RISE's oracle feedback follows every wrong attempt."""
    from introspect.critics import RISE_FEEDBACK
    from introspect.models.demo import is_correct, make_problems
    from introspect.models.local import LocalModel

    model = LocalModel.from_pretrained(model_dir, device="cpu", dtype="float32")
    samples: list[Sample] = []
    solved_at: list[int] = []
    for problem in make_problems(n, split="eval"):
        conversation = [{"role": "user", "content": problem.question}]
        generation = model.generate(conversation, max_new_tokens=max_new_tokens)[0]
        assert generation.stats is not None
        summary = generation.stats.summary()
        if not isinstance(summary["mean_self_certainty"], float):
            continue
        correct = is_correct(generation.text, problem.answer)
        samples.append(Sample(summary, correct, group=problem.question))
        turn = 1
        while not correct and turn < turns:
            conversation += [
                {"role": "assistant", "content": generation.text},
                {"role": "user", "content": RISE_FEEDBACK},
            ]
            generation = model.generate(conversation, max_new_tokens=max_new_tokens)[0]
            correct, turn = is_correct(generation.text, problem.answer), turn + 1
        solved_at.append(turn if correct else 0)
    return samples, solved_at


def main(argv: Sequence[str] | None = None) -> int:
    from introspect.models.demo import model_path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=model_path())
    parser.add_argument("-n", type=int, default=300, help="held-out problems")
    parser.add_argument("--precision", type=float, default=0.9, help="target precision of 'confident'")
    parser.add_argument("--turns", type=int, default=5, help="RISE turns with oracle feedback")
    args = parser.parse_args(argv)
    samples, solved_at = evaluate(args.model, args.n, args.turns)
    result = calibrate(samples, CalibrationSettings(target_precision=args.precision))
    report = {
        "problems": args.n,
        f"p1@t{args.turns}": sum(1 for t in solved_at if t) / len(solved_at) if solved_at else None,
        "solved_at_turn": {t: solved_at.count(t) for t in range(args.turns + 1)},
        "policy": result.policy,
        **result.figures,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
