"""The README's worked example: fine-tune on an exported ``rise`` file with a reward-weighted loss."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from introspect.export import ExportOptions, export_to_file
from introspect.models.demo import model_path
from introspect.store.engine import make_engine, make_session_factory
from tests.export.builders import Try, record_trajectory
from tests.export.conftest import demo_tokenizer_available

ROOT = Path(__file__).resolve().parents[2]


def _model_dir(tmp_path: Path) -> Path:
    """The demo model; until its weights are trained, a tiny Llama with the demo tokenizer builder."""
    if demo_tokenizer_available() and (model_path() / "config.json").exists():
        return model_path()
    from transformers import LlamaConfig, LlamaForCausalLM

    from introspect.models.demo.tokenizer import build_tokenizer

    tokenizer = build_tokenizer(
        ["What is 6 * 7? It is 42.", "The answer is incorrect. Please try again."] * 20
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    out = tmp_path / "tiny-model"
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_finetune_example_lowers_the_weighted_loss(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(sqlite_url)
    factory = make_session_factory(engine)
    for a, b in ((6, 7), (3, 4), (5, 5)):
        record_trajectory(
            factory,
            f"What is {a} * {b}?",
            [Try(f"It is {a * b + 1}.", False), Try(f"It is {a * b}.", True)],
            reference=str(a * b),
        )
    data = tmp_path / "rise.jsonl"
    manifest = export_to_file(factory, "rise", data, options=ExportOptions(tau=0.4))
    engine.dispose()
    assert manifest.row_count == 6

    # The script's own entry point, in this process (torch and transformers are already imported).
    spec = importlib.util.spec_from_file_location("finetune_rise", ROOT / "examples" / "finetune_rise.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = ["--data", str(data), "--model", str(_model_dir(tmp_path)), "--steps", "4", "--batch-size", "6"]
    report = script.main([*args, "--lr", "3e-3"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == report
    assert report["steps"] == 4 and report["examples"] == 6
    assert report["weighted_loss_after"] < report["weighted_loss_before"]
