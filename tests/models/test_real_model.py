"""SmolLM2-135M-Instruct as a catalog name and as a .gguf path, and its chat format (real_model)."""

from __future__ import annotations

import pytest

from introspect.runner.model_provider import load_local_model
from tests.models.real_model import real_model_dir, real_model_settings

pytestmark = pytest.mark.real_model

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def test_the_catalog_model_formats_chatml_and_names_paris() -> None:
    model = load_local_model(real_model_settings(model_device="cpu"))
    im_end = model.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert model.eos_token_ids[0] == im_end and model.supports_system and model.context_length == 8192
    text = model.tokenizer.decode(
        model.encode_prompt([{"role": "system", "content": "Be brief."}, *QUESTION])
    )
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>") and text.endswith(
        "<|im_start|>assistant\n"
    )
    generation = model.generate(QUESTION, max_new_tokens=24)[0]
    assert "Paris" in generation.text and generation.finish_reason == "stop"
    assert generation.model == "smollm2-135m-instruct" and len(model.weights_hash) == 64


def test_a_gguf_path_loads_directly() -> None:
    gguf = next((real_model_dir() / "source").glob("*.gguf"))
    model = load_local_model(real_model_settings(model_path=str(gguf), model_device="cpu"))
    assert model.name == "SmolLM2-135M-Instruct.Q4_1" and len(model.weights_hash) == 64
    assert "Paris" in model.generate(QUESTION, max_new_tokens=24)[0].text
