from __future__ import annotations

from pathlib import Path

import pytest

from introspect.models.local import LocalModel
from tests.models.tiny import build_tiny_chat_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat-model"))


@pytest.fixture(scope="session")
def local_model(tiny_model_dir: Path) -> LocalModel:
    return LocalModel.from_pretrained(tiny_model_dir, device="cpu", dtype="float32")
