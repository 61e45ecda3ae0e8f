"""The README's first example on the default model, SmolLM2-135M-Instruct (pulled by scripts/test.sh)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from introspect.cli.main import app
from introspect.config import get_settings
from tests.models.real_model import real_model_settings

pytestmark = pytest.mark.real_model


@pytest.fixture
def default_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("INTROSPECT_DATABASE_URL", "INTROSPECT_REDIS_URL", "INTROSPECT_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTROSPECT_DATA_DIR", str(tmp_path / "data"))
    real_model_settings()
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_run_names_paris(default_model: None) -> None:
    result = CliRunner().invoke(app, ["run", "What is the capital of France?", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "Paris" in data["answer"]
    # Every turn records the model's real name and the sha256 of its weights, not "local".
    assert {t["model"] for t in data["turns"]} == {"smollm2-135m-instruct"}
    assert all(len(t["stats"]["weights_hash"]) == 64 for t in data["turns"])
