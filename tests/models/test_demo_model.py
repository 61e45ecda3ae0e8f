"""The demo model: its tokenizer and chat template, the training script, and the bundled weights."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from introspect.models.demo import FEEDBACK, is_correct, make_problems, model_path
from introspect.models.demo.batching import IGNORE, batches, encode_episode
from introspect.models.demo.rollout import generate_replies, retry_conversation, rollout
from introspect.models.demo.tokenizer import ASSISTANT, EOS, build_tokenizer

ROOT = Path(__file__).resolve().parents[2]
CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 12 plus 30?"},
    {"role": "assistant", "content": "12 + 30: 2 + 0 = 1, 1 + 3 = 4. The answer is 41."},
    {"role": "user", "content": FEEDBACK},
]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerBase:
    problems = make_problems(200, seed=0, split="train")
    return build_tokenizer([p.question for p in problems] + [p.solution for p in problems] + [FEEDBACK] * 5)


def test_digits_are_single_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    ids = tokenizer("The answer is 4370.", add_special_tokens=False)["input_ids"]
    pieces = [tokenizer.decode([i]) for i in ids]
    assert [p for p in pieces if any(c.isdigit() for c in p)] == [" 4", "3", "7", "0"]
    # byte-level: text it never saw still round-trips, no unknown token
    text = "Ünïcode ✓ −3"
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_chat_template_roles_and_generation_prompt(tokenizer: PreTrainedTokenizerBase) -> None:
    text = tokenizer.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|begin|><|system|>\nYou are a helpful assistant.<|end|>\n<|user|>\nWhat is 12 plus 30?<|end|>\n"
        "<|assistant|>\n12 + 30: 2 + 0 = 1, 1 + 3 = 4. The answer is 41.<|end|>\n<|user|>\n"
        f"{FEEDBACK}<|end|>\n<|assistant|>\n"
    )
    ids = tokenizer.apply_chat_template(CONVERSATION, add_generation_prompt=True)["input_ids"]
    assert ids[-2] == tokenizer.convert_tokens_to_ids(ASSISTANT)
    assert tokenizer.eos_token == EOS and tokenizer.pad_token is not None
    with pytest.raises(Exception, match="unsupported role"):
        tokenizer.apply_chat_template([{"role": "tool", "content": "x"}], tokenize=False)


def test_build_tokenizer_is_deterministic(tokenizer: PreTrainedTokenizerBase) -> None:
    problems = make_problems(200, seed=0, split="train")
    again = build_tokenizer([p.question for p in problems] + [p.solution for p in problems] + [FEEDBACK] * 5)
    assert again.get_vocab() == tokenizer.get_vocab()


def test_encode_episode_trains_only_the_final_attempt(tokenizer: PreTrainedTokenizerBase) -> None:
    final = "12 + 30: 2 + 0 = 2, 1 + 3 = 4. The answer is 42."
    ids, labels = encode_episode(tokenizer, [*CONVERSATION, {"role": "assistant", "content": final}])
    assert len(ids) == len(labels)
    target = [i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE]
    assert labels[: len(ids) - len(target)] == [IGNORE] * (len(ids) - len(target))
    assert tokenizer.decode(target) == final + EOS  # the wrong attempt 41 is context, never a target
    prompt = tokenizer.apply_chat_template(CONVERSATION, add_generation_prompt=True)["input_ids"]
    assert ids[: len(prompt)] == prompt  # training sees exactly what generation will see


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed script, run as a module with a tiny budget (proves it runs end to end)."""
    out = tmp_path_factory.mktemp("demo") / "model"
    cmd = [sys.executable, "-m", "introspect.models.demo.train", "--out", str(out), "--steps", "4",
           "--batch-size", "4", "--hidden-size", "32", "--num-layers", "1", "--num-heads", "2",
           "--intermediate-size", "64", "--monitor-every", "2", "--monitor-problems", "4",
           "--budget-seconds", "60", "--threads", "1", "--rollout-problems", "4"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps_done"] == 4
    return out


def test_training_script_writes_a_loadable_model(retrained: Path) -> None:
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json", "training_report.json"):  # fmt: skip
        assert (retrained / name).is_file(), name
    report = json.loads((retrained / "training_report.json").read_text())
    assert report["config"]["steps"] == 4 and report["steps_done"] == 4
    # rollouts at steps 1-4 (35%..90% of 4 steps), monitors at 2 and 4
    assert [h["step"] for h in report["history"]] == [1, 2, 2, 3, 4, 4]
    assert "rollout_turn1_accuracy" in report["history"][0] and "monitor_accuracy" in report["history"][-1]
    tokenizer = AutoTokenizer.from_pretrained(retrained, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(retrained, local_files_only=True)
    assert type(model).__name__ == "LlamaForCausalLM"
    enc = tokenizer.apply_chat_template(CONVERSATION, add_generation_prompt=True, return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] > enc["input_ids"].shape[1]


def test_bundled_weights_are_small_and_complete() -> None:
    path = model_path()
    assert (path / "model.safetensors").stat().st_size <= 20 * 1024 * 1024
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "training_report.json"):  # fmt: skip
        assert (path / name).is_file(), name
    assert json.loads((path / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]


def test_bundled_model_answers_through_local_model() -> None:
    from introspect.models.local import LocalModel

    model = LocalModel.from_pretrained(model_path(), device="cpu", dtype="float32")
    problems = make_problems(20)
    right = 0
    for p in problems:
        gen = model.generate([{"role": "user", "content": p.question}], max_new_tokens=80)[0]
        assert gen.finish_reason == "stop" and "The answer is" in gen.text
        assert gen.stats is not None and gen.stats.summary()["mean_self_certainty"] is not None
        right += is_correct(gen.text, p.answer)
    assert right >= 4  # trained: far above chance, not perfect
    retry = model.generate([*CONVERSATION[1:]], max_new_tokens=80)[0]
    assert "The answer is" in retry.text and not is_correct(retry.text, 41)  # no repeat after feedback


def test_batches_pad_and_mask(tokenizer: PreTrainedTokenizerBase) -> None:
    problems = iter(make_problems(16, seed=0, split="train"))

    def conversation() -> list[dict[str, str]]:
        p = next(problems)
        return [{"role": "user", "content": p.question}, {"role": "assistant", "content": p.solution}]

    batch = next(batches(tokenizer, conversation, batch_size=4, rng=random.Random(0), pool=2))
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["input_ids"].shape[0] == 4
    padded = batch["attention_mask"] == 0
    assert (batch["input_ids"][padded] == tokenizer.pad_token_id).all()
    assert (batch["labels"][padded] == IGNORE).all()


def test_rollout_keeps_only_refuted_attempts(retrained: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(retrained, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(retrained, local_files_only=True)
    problems = make_problems(3, seed=0, split="train")
    conversation = retry_conversation(problems[0], ["a", "b"])
    assert [m["role"] for m in conversation] == ["user", "assistant", "user", "assistant", "user"]
    assert conversation[-1]["content"] == FEEDBACK
    replies = generate_replies(model, tokenizer, [conversation, conversation[:1]], temperature=1.0)
    assert len(replies) == 2 and all(isinstance(r, str) for r in replies)
    rolled = rollout(model, tokenizer, problems, turns=2)
    assert 0.0 <= rolled.turn1_accuracy <= 1.0 and len(rolled.fixed_per_turn) == 1
    for problem, chain in rolled.chains:
        assert 1 <= len(chain) <= 2 and not any(is_correct(r, problem.answer) for r in chain)


def test_episode_source_mixes_in_on_policy_chains() -> None:
    from introspect.models.demo.train import EpisodeSource, TrainConfig

    source = EpisodeSource(TrainConfig(p_onpolicy=1.0, p_system=0.0), random.Random(0))
    fresh = source()
    assert fresh[0]["role"] == "user" and fresh[-1]["role"] == "assistant"
    problem = make_problems(1, split="train")[0]
    own = ["my first wrong try. The answer is 1.", "my second. The answer is 2."]
    source.chains = [(problem, own)]
    for _ in range(5):
        episode = source()
        attempts = [m["content"] for m in episode if m["role"] == "assistant"]
        assert attempts[:-1] == own[: len(attempts) - 1] and attempts[-1] == problem.solution
