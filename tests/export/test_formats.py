"""Every format: its field layout, loading with ``datasets``, and TRL's own conversational checks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import datasets
import pytest
from sqlalchemy.orm import Session, sessionmaker
from transformers import PreTrainedTokenizerBase
from trl.data_utils import (
    is_conversational,
    is_conversational_from_value,
    maybe_apply_chat_template,
    maybe_convert_to_chatml,
)

from introspect.export import FORMATS, ExportFilters, ExportOptions, export_to_file
from tests.export.builders import Try, record_trajectory

QUESTIONS = {
    "revised": "What is 6 * 7?",
    "best_of_n": "What is 5 + 8?",
    "system": "What is 9 - 4?",
    "failed": "What is 12 * 3?",
}
RAW_TRAJECTORY_KEYS = {
    *("id", "job_id", "graph", "task_prompt", "task_messages", "task_hash", "reference", "verifier"),
    *("final_answer", "stop_reason", "outcome_reward", "success", "models", "total_tokens"),
    *("total_latency_ms", "metadata", "created_at", "finished_at", "turns", "rewards", "resolved"),
}
RAW_TURN_KEYS = {
    *("id", "index", "phase", "attempt", "messages", "output", "answer", "model", "prompt_template"),
    *("prompt_hash", "stats", "token_stats", "decision", "decision_action", "retrieved", "sibling_group"),
    *("selected", "latency_ms", "prompt_tokens", "completion_tokens", "lease_version", "created_at"),
    *("verifications", "critiques", "rewards", "resolved"),
}
EXPECTED_ROWS = {
    "rise": 10,  # 3 + 3 siblings + 2 + 2
    "rise-fastchat": 10,
    "sft": 3,  # the failed trajectory has no trainable turn
    "preference": 5,  # 2 sibling pairs + 3 revision pairs (opt-in below)
    "openai-dpo": 5,
    "kto": 10,
    "rl": 4,
    "raw": 4,
}


@pytest.fixture
def mixed_store(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    f = session_factory
    record_trajectory(
        f, QUESTIONS["revised"], [Try("It is 48.", False), Try("It is 41.", False), Try("It is 42.", True)]
    )
    record_trajectory(
        f,
        QUESTIONS["best_of_n"],
        [Try("It is 13.", True, siblings=[("It is 12.", False), ("It is 14.", False)])],
        reference="13",
    )
    record_trajectory(
        f,
        QUESTIONS["system"],
        [Try("It is 6.", False), Try("It is 5.", True)],
        system="Answer with one number.",
        reference="5",
    )
    record_trajectory(
        f, QUESTIONS["failed"], [Try("It is 35.", False), Try("It is 38.", False)], reference="36"
    )
    return f


def _load(path: Path, tmp_path: Path) -> datasets.Dataset:
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert isinstance(ds, datasets.Dataset)
    return ds


def _check_layout(fmt: str, row: dict[str, Any]) -> None:
    message = {"role", "content"}
    if fmt == "sft":
        assert set(row) == {"messages"}
        for m in row["messages"]:
            assert (m.get("weight") in (0, 1)) if m["role"] == "assistant" else m.get("weight") is None
    elif fmt == "rise":
        assert set(row) == {"prompt", "completion", "reward", "weight", "attempt", "trajectory_id"}
        assert [m["role"] for m in row["completion"]] == ["assistant"]
        assert row["weight"] == pytest.approx(math.exp(row["reward"] / 0.4))
        assert row["prompt"][-1]["role"] == "user"
    elif fmt == "rise-fastchat":
        assert set(row) == {"id", "conversations"}
        turns = row["conversations"]
        assert [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
        assert all(t["loss"] == 0.0 for t in turns[:-1]) and turns[-1]["loss"] >= 1.0
    elif fmt == "preference":
        assert set(row) == {"prompt", "chosen", "rejected"}
        assert row["chosen"] != row["rejected"]
    elif fmt == "openai-dpo":
        assert set(row) == {"input", "preferred_output", "non_preferred_output"}
        assert set(row["input"]) == {"messages"}
        assert row["preferred_output"][0]["role"] == "assistant"
    elif fmt == "kto":
        assert set(row) == {"prompt", "completion", "label"} and isinstance(row["label"], bool)
    elif fmt == "rl":
        assert set(row) == {"prompt", "solution", "answer"} and isinstance(row["answer"], str)
        assert row["solution"] == row["answer"]  # TRL's accuracy_reward reads `solution`
    elif fmt == "raw":
        assert set(row) == RAW_TRAJECTORY_KEYS
        assert row["resolved"].keys() == {"success", "outcome_reward"}
        for turn in row["turns"]:
            assert set(turn) == RAW_TURN_KEYS
            for verification in turn["verifications"]:
                assert {"verifier", "passed", "message", "details", "created_at"} <= set(verification)
    for key in ("prompt", "chosen", "rejected", "completion", "messages"):
        for m in row.get(key) or []:
            assert message <= set(m)


def _check_trl(fmt: str, row: dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> None:
    if fmt == "raw":
        return
    if fmt == "rise-fastchat":
        assert is_conversational_from_value(row)
        chatml = maybe_convert_to_chatml(dict(row))  # from/value -> role/content (roles kept as named)
        roles = {"human": "user", "gpt": "assistant"}
        row = {"messages": [{**m, "role": roles[m["role"]]} for m in chatml["messages"]]}
    if fmt == "openai-dpo":
        row = {
            "prompt": row["input"]["messages"],
            "chosen": row["preferred_output"],
            "rejected": row["non_preferred_output"],
        }
    assert is_conversational(row)
    out = maybe_apply_chat_template(row, tokenizer)
    whole = out.get("text") or out["prompt"] + (out.get("completion") or out.get("chosen") or "")
    for key in ("completion", "chosen"):
        if key in row:  # the prompt and the completion render exactly as the full chat would
            expected = tokenizer.apply_chat_template(row["prompt"] + row[key], tokenize=False)
            assert out["prompt"] + out[key] == expected
            assert row[key][0]["content"] in out[key]
    assert whole.startswith(tokenizer.bos_token or "")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_format_layout_datasets_and_trl(
    mixed_store: sessionmaker[Session],
    fmt: str,
    tmp_path: Path,
    chat_tokenizer: PreTrainedTokenizerBase,
) -> None:
    path = tmp_path / f"out{FORMATS[fmt].suffix}"
    manifest = export_to_file(mixed_store, fmt, path, options=ExportOptions(revision_pairs=True))
    assert manifest.row_count == EXPECTED_ROWS[fmt]
    ds = _load(path, tmp_path)
    assert len(ds) == EXPECTED_ROWS[fmt]
    for row in ds:
        _check_layout(fmt, row)
        _check_trl(fmt, row, chat_tokenizer)


def test_preference_pairs_share_identical_prompts(mixed_store: sessionmaker[Session], tmp_path: Path) -> None:
    from tests.export.conftest import run_export

    siblings = run_export(mixed_store, "preference")
    assert len(siblings) == 2  # revision pairs are opt-in
    assert {r["chosen"][0]["content"] for r in siblings} == {"It is 13."}
    assert {r["rejected"][0]["content"] for r in siblings} == {"It is 12.", "It is 14."}
    assert all(r["prompt"] == [{"role": "user", "content": QUESTIONS["best_of_n"]}] for r in siblings)

    with_revisions = run_export(mixed_store, "preference", options=ExportOptions(revision_pairs=True))
    revised = [r for r in with_revisions if r["prompt"][0]["content"] == QUESTIONS["revised"]]
    # Each failed attempt's own state, paired against the revision that fixed it.
    assert [len(r["prompt"]) for r in revised] == [1, 3]
    assert {r["chosen"][0]["content"] for r in revised} == {"It is 42."}
    assert [r["rejected"][0]["content"] for r in revised] == ["It is 48.", "It is 41."]


def test_sft_weights_mark_the_improved_attempts(mixed_store: sessionmaker[Session]) -> None:
    from tests.export.conftest import run_export

    rows = {r["messages"][0]["content"]: r["messages"] for r in run_export(mixed_store, "sft")}
    revised = rows[QUESTIONS["revised"]]
    assert [(m["role"], m.get("weight")) for m in revised] == [
        ("user", None),
        ("assistant", 0),
        ("user", None),
        ("assistant", 0),
        ("user", None),
        ("assistant", 1),
    ]
    system = rows["Answer with one number."]
    assert system[0]["role"] == "system" and system[-1] == {
        "role": "assistant",
        "content": "It is 5.",
        "weight": 1,
    }


def test_raw_token_stats_are_opt_in(session_factory: sessionmaker[Session]) -> None:
    from introspect.store.engine import transaction
    from introspect.store.repositories.trajectories import TurnData, create_trajectory, record_turn
    from tests.export.conftest import run_export

    arrays = {"logprob": [-0.1, -2.5], "entropy": [0.3, 1.9]}
    with transaction(session_factory) as s:
        traj = create_trajectory(s, graph="g", task_prompt="q")
        record_turn(s, traj.id, TurnData(index=0, phase="generate", output="a", token_stats=arrays), 1)
    filters = ExportFilters(include_unfinished=True)
    (row,) = run_export(session_factory, "raw", filters=filters)
    assert row["turns"][0]["token_stats"] is None
    (row,) = run_export(session_factory, "raw", filters=filters, options=ExportOptions(token_stats=True))
    assert row["turns"][0]["token_stats"] == arrays
