"""``introspect train``: RISE reward-weighted regression on an exported rise file (demo model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from introspect.cli.main import app
from introspect.export import ExportOptions, export_to_file
from introspect.models.demo import model_path
from introspect.store.engine import make_engine, make_session_factory
from introspect.training.data import collate, encode
from introspect.training.objective import weighted_loss
from introspect.training.run import MANIFEST_NAME
from tests.export.builders import Try, record_trajectory


@pytest.fixture
def rise_file(sqlite_url: str, tmp_path: Path) -> Path:
    engine = make_engine(sqlite_url)
    factory = make_session_factory(engine)
    for a, b in ((6, 7), (3, 4), (5, 5), (2, 9)):
        record_trajectory(
            factory,
            f"What is {a} * {b}?",
            [Try(f"It is {a * b + 1}.", False), Try(f"It is {a * b}.", True)],
            reference=str(a * b),
        )
    data = tmp_path / "rise.jsonl"
    export_to_file(factory, "rise", data, options=ExportOptions(tau=0.4))
    engine.dispose()
    return data


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "model.safetensors"))


def _train(data: Path, out: Path, *extra: str) -> dict[str, object]:
    args = ["train", "--data", str(data), "--base", "demo", "--out", str(out), "--batch-size", "4"]
    result = CliRunner().invoke(app, [*args, "--eval-fraction", "0", *extra])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_weighted_loss_is_the_batch_mean_of_weight_times_nll() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path())
    model = AutoModelForCausalLM.from_pretrained(model_path(), dtype=torch.float32)
    rows = [
        {"prompt": [{"role": "user", "content": f"What is {a} + 1?"}], "completion": [
            {"role": "assistant", "content": f"It is {a + 1}."}], "weight": w}
        for a, w in ((3, 2.0), (4, 0.0))
    ]  # fmt: skip
    examples = [encode(r, tokenizer, 128) for r in rows]
    # The prompt is masked: only the completion's tokens are labelled.
    assert examples[0].labels.count(-100) == len(examples[0].input_ids) - len(
        [t for t in examples[0].labels if t != -100]
    )
    assert 0 < sum(t != -100 for t in examples[0].labels) < len(examples[0].input_ids)
    with torch.no_grad():
        both = weighted_loss(model, collate(examples, tokenizer.pad_token_id or 0))
        first = weighted_loss(model, collate(examples[:1], tokenizer.pad_token_id or 0))
    # (2 * NLL_0 + 0 * NLL_1) / 2 over the pair; 2 * NLL_0 / 1 alone: the zero-weight row adds nothing
    # but its share of the batch mean.
    assert torch.allclose(both * 2, first, rtol=1e-5)


@pytest.mark.slow
def test_train_changes_weights_writes_a_loadable_model_and_manifest(rise_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "trained"
    report = _train(rise_file, out, "--steps", "4", "--lr", "3e-3", "--lora", "--lora-r", "4")
    assert report["steps"] == 4
    assert report["train_loss_after"] < report["train_loss_before"]  # type: ignore[operator]
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["base_model"] == str(model_path())
    assert manifest["export_manifest"]["sha256"] and manifest["data"]["rows"] == 8
    assert manifest["hyper_parameters"]["lora"] is True and manifest["hyper_parameters"]["lr"] == 3e-3
    trained, base = _weights(out), _weights(model_path())
    assert trained.keys() == base.keys()  # LoRA merged: a plain model directory
    assert any(not torch.equal(trained[k], base[k]) for k in base)
    from introspect.models.local import LocalModel

    model = LocalModel.from_pretrained(out, device="cpu", dtype="float32")
    assert model.generate([{"role": "user", "content": "What is 6 * 7?"}], 8, 0.0, 1)[0].text is not None


@pytest.mark.slow
def test_zero_weight_rows_change_nothing(rise_file: Path, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in rise_file.read_text().splitlines()]
    zero = tmp_path / "zero.jsonl"
    zero.write_text("".join(json.dumps({**r, "weight": 0.0}) + "\n" for r in rows))
    _train(zero, tmp_path / "z", "--steps", "3", "--lr", "1e-2", "--raw-weights")
    trained, base = _weights(tmp_path / "z"), _weights(model_path())
    assert all(torch.equal(trained[k], base[k]) for k in base)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": [{"role": "user", "content": "q"}], "completion": "x"}\n')
    result = CliRunner().invoke(
        app, ["train", "--data", str(bad), "--base", "demo", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "line 1" in result.output and "'completion'" in result.output
    result = CliRunner().invoke(
        app, ["train", "--data", str(bad), "--base", str(tmp_path / "nope"), "--out", "o"]
    )
    assert result.exit_code == 2 and "not a model directory" in result.output
