"""Derive the gate's certainty defaults from the demo model: ``python -m introspect.gate.evaluate_demo``.

Greedy first attempts on the demo task's held-out split, graded by the numeric verifier; their mean
self-certainty and mean NLL go through :func:`introspect.gate.calibrate.calibrate`. The printed report
is what ``introspect/gate/policy.py`` cites for ``DEFAULT_MIN_SELF_CERTAINTY`` and
``DEFAULT_MAX_MEAN_NLL``. Needs the bundled weights (or ``--model``); loads torch.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from introspect.gate.calibrate import Sample, calibrate


def first_attempt_samples(model_dir: Path, n: int, max_new_tokens: int = 48) -> list[Sample]:
    from introspect.models.demo import is_correct, make_problems
    from introspect.models.local import LocalModel

    model = LocalModel.from_pretrained(model_dir, device="cpu", dtype="float32")
    samples: list[Sample] = []
    for problem in make_problems(n, split="eval"):
        generation = model.generate(
            [{"role": "user", "content": problem.question}], max_new_tokens=max_new_tokens
        )[0]
        assert generation.stats is not None
        summary = generation.stats.summary()
        certainty, nll = summary["mean_self_certainty"], summary["mean_nll"]
        if not isinstance(certainty, float):
            continue
        samples.append(
            Sample(
                self_certainty=certainty,
                mean_nll=nll if isinstance(nll, float) else None,
                correct=is_correct(generation.text, problem.answer),
            )
        )
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    from introspect.models.demo import model_path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=model_path())
    parser.add_argument("-n", type=int, default=300, help="held-out problems")
    parser.add_argument("--precision", type=float, default=0.9, help="target precision of 'confident'")
    args = parser.parse_args(argv)
    samples = first_attempt_samples(args.model, args.n)
    result = calibrate(samples, target_precision=args.precision)
    right = sorted(s.self_certainty for s in samples if s.correct)
    wrong = sorted(s.self_certainty for s in samples if not s.correct)
    report = {
        "problems": args.n,
        "first_attempt_accuracy": result.accuracy,
        "min_self_certainty": result.min_self_certainty,
        "precision_above": result.precision_above,
        "support_above": result.support_above,
        "max_mean_nll": result.max_mean_nll,
        "median_certainty_right": right[len(right) // 2] if right else None,
        "median_certainty_wrong": wrong[len(wrong) // 2] if wrong else None,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
