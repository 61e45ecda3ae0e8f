"""Make the catalog models' shipped gate profiles: run real jobs, store them, calibrate from them.

For each model: ``--problems`` verified self-critique jobs (numeric verifier, up to ``--turns``
attempts each) run in-process through the service's own runner into a throwaway SQLite database;
``introspect.gate.service``'s calibration then reads the stored verified attempts back, exactly as
``introspect gate calibrate`` does, and the profile is written to
``introspect/gate/profiles/<model>.json`` (seeded into a database by ``introspect db upgrade``).

    nice -n 10 python scripts/calibrate_catalog.py --model demo --problems 150
    nice -n 10 python scripts/calibrate_catalog.py --model smollm2-135m-instruct \\
        --path /work/cache/smollm2-135m-instruct --problems 80

Problems: the demo model's own reference task, and ``What is A + B?`` with one- and two-digit
numbers alternating for other models (both classes well represented). A target
the model cannot meet is accepted and flagged (``meets_target: false``: logit-only stops off) --
that is the honest profile of a model whose logits do not separate right from wrong. The last line
printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import inspect
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from introspect.db.migrate import upgrade_all  # noqa: E402
from introspect.gate.calibrate import CalibrationSettings, calibrate  # noqa: E402
from introspect.gate.profile import GateProfile, split_model_ref  # noqa: E402
from introspect.runner import RunnerDeps, make_checkpointer  # noqa: E402
from introspect.runner.inline import create_and_run_inline  # noqa: E402
from introspect.store.engine import make_engine, make_session_factory, transaction  # noqa: E402
from introspect.store.repositories.gate_profiles import verified_samples  # noqa: E402
from introspect.store.tables import Turn  # noqa: E402

PROFILES_DIR = REPO / "introspect" / "gate" / "profiles"


class ScriptProvider:
    """One local model as generator and scorer (what the service's default provider does)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def chat_model(self, name: str) -> Any:
        from introspect.models.chat import LocalChatModel

        return LocalChatModel(local_model=self.model)

    def scorer(self) -> Any:
        return self.model


def load_model(name: str, path: Path | None) -> Any:
    from introspect.models.local import LocalModel

    if path is None and name != "demo":
        raise SystemExit(f"--path is needed for {name!r} (a transformers directory)")
    if path is None:
        from introspect.models.demo import model_path

        path = Path(model_path())
    kwargs: dict[str, Any] = {"device": "cpu", "dtype": "float32", "name": name}
    if "weights_sha256" in inspect.signature(LocalModel.from_pretrained).parameters:
        from introspect.models.weights import weights_sha256

        kwargs["weights_sha256"] = weights_sha256(path)
    return LocalModel.from_pretrained(path, **kwargs)


def problems(name: str, n: int, seed: int) -> list[dict[str, str]]:
    if name == "demo":
        from introspect.models.demo import make_problems

        return [{"prompt": p.question, "reference": str(p.answer)} for p in make_problems(n, split="eval")]
    # One- and two-digit sums alternate: a small instruct model gets most of the first and about a
    # fifth of the second right, so both classes are well represented.
    rng = random.Random(seed)
    out = []
    for i in range(n):
        low, high = (1, 9) if i % 2 == 0 else (10, 99)
        a, b = rng.randint(low, high), rng.randint(low, high)
        out.append({"prompt": f"What is {a} + {b}?", "reference": str(a + b)})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="catalog name: demo or smollm2-135m-instruct")
    parser.add_argument("--path", type=Path, default=None, help="the model's transformers directory")
    parser.add_argument("--problems", type=int, default=80)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--precision-target", type=float, default=0.9)
    parser.add_argument("--min-samples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--out", type=Path, default=None, help="default introspect/gate/profiles/<model>.json"
    )
    args = parser.parse_args(argv)

    model = load_model(args.model, args.path)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'calibrate.db'}"
        upgrade_all(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        config = {"max_turns": args.turns, "max_tokens": args.max_tokens, "gate_profile": False}
        with make_checkpointer(url) as checkpointer:
            deps = RunnerDeps(
                session_factory=factory, checkpointer=checkpointer, models=ScriptProvider(model)
            )
            for i, task in enumerate(problems(args.model, args.problems, args.seed), start=1):
                create_and_run_inline("self_critique", task, config, deps)
                if i % 10 == 0:
                    print(f"{i}/{args.problems} jobs, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with transaction(factory) as session:
            # The name the turns carry (the model's own, or "local" on older runners).
            recorded = session.query(Turn.model).filter(Turn.phase == "generate").distinct().all()
            names = sorted({split_model_ref(str(r[0]))[0] for r in recorded})
            samples = [s for name in names for s in verified_samples(session, name)]
        engine.dispose()
    settings = CalibrationSettings(target_precision=args.precision_target, min_samples=args.min_samples)
    result = calibrate(samples, settings, what=f"model {args.model!r}")
    weights = getattr(model, "weights_sha256", None) or ""
    profile = GateProfile(
        model_name=args.model,
        weights_hash=weights,
        policy=result.policy,
        predictor=result.predictor,
        figures={
            **result.figures,
            "collection": {
                "problems": args.problems,
                "turns": args.turns,
                "max_tokens": args.max_tokens,
                "seconds": round(time.perf_counter() - started, 1),
                "task": "demo" if args.model == "demo" else "a+b, 1 and 2 digits",
            },
        },
        meets_target=result.meets_target,
        source="catalog",
    )
    out = args.out or PROFILES_DIR / f"{args.model}.json"
    out.write_text(json.dumps(profile.to_json(), indent=2) + "\n", encoding="utf-8")
    figures = result.figures
    best = figures["best_single_metric"]
    print(
        json.dumps(
            {
                "model": args.model,
                "n": figures["n"],
                "accuracy": figures["accuracy"],
                "stop_rule": figures["stop_rule"],
                "heldout_precision": figures["heldout_stop"]["precision"],
                "heldout_coverage": figures["heldout_stop"]["coverage"],
                "meets_target": result.meets_target,
                "predictor_auroc": figures["predictor_auroc"],
                "best_single_metric": best,
                "best_single_auroc": figures["auroc"].get(best) if best else None,
                "ece_predictor": figures["ece"]["predictor"],
                "ece_token_probability": figures["ece"]["token_probability"],
                "out": str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
