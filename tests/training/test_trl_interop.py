"""TRL interop: the demo model's path is a str TRL loads; rl rows carry TRL's ``solution`` column."""

from __future__ import annotations

from pathlib import Path

from introspect.models.demo import model_path


def test_model_path_is_a_str_that_still_joins_like_a_path() -> None:
    path = model_path()
    assert isinstance(path, str) and (path / "config.json").exists()
    assert Path(path).is_dir()


def test_trl_sft_trainer_takes_the_demo_model_by_path(tmp_path: Path) -> None:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = [{"prompt": [{"role": "user", "content": "What is 2 + 2?"}],
             "completion": [{"role": "assistant", "content": "It is 4."}]}] * 4  # fmt: skip
    args = SFTConfig(
        output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, report_to=[], use_cpu=True,
        save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    trainer = SFTTrainer(model=model_path(), args=args, train_dataset=Dataset.from_list(rows))
    assert trainer.train().global_step == 1
