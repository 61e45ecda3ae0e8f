"""``introspect eval`` reads two models through the runner and reports both side by side."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from introspect.cli.main import app
from introspect.models.demo import make_problems, model_path


@pytest.mark.slow
def test_eval_reads_two_models_and_writes_plots(tmp_path: Path) -> None:
    copy = tmp_path / "demo-copy"
    shutil.copytree(model_path(), copy)
    data = tmp_path / "held.jsonl"
    problems = make_problems(2, split="eval")
    data.write_text(
        "".join(json.dumps({"prompt": p.question, "reference": p.answer}) + "\n" for p in problems)
    )
    out = tmp_path / "eval"
    args = ["eval", "--model", "demo", "--model", str(copy), "--dataset", str(data), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--turns", "2", "--max-tokens", "48", "--concurrency", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report["models"]) == {"demo", "demo-copy"}
    for figures in report["models"].values():
        assert figures["problems"] == 2 and len(figures["accuracy_per_turn"]) == 2
        for key in ("turn1", "p1_at_t", "m1_at_t", "mean_turns", "auroc"):
            assert key in figures
        assert 0 <= figures["turn1"] <= figures["p1_at_t"] <= 1
    # Same weights, same greedy decoding: the two models' figures agree.
    a, b = report["models"].values()
    assert a["accuracy_per_turn"] == b["accuracy_per_turn"] and a["p1_at_t"] == b["p1_at_t"]
    assert (out / "accuracy_per_turn.png").stat().st_size > 0 and (out / "reliability.png").exists()
    assert json.loads((out / "eval.json").read_text())["problems"] == 2
    # A second run finds every problem done: same figures, no new jobs.
    again = CliRunner().invoke(app, [*args, "--turns", "2", "--max-tokens", "48"])
    assert (
        again.exit_code == 0
        and json.loads(again.stdout.strip().splitlines()[-1])["models"] == report["models"]
    )


def test_eval_refuses_rows_without_reference(tmp_path: Path) -> None:
    data = tmp_path / "held.jsonl"
    data.write_text('{"prompt": "What is 2 + 2?"}\n')
    result = CliRunner().invoke(
        app, ["eval", "--model", "demo", "--dataset", str(data), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "needs a reference" in result.output
