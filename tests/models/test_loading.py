"""Loading the configured model: one clear line for every way it can fail (issue 16 item 6, issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from introspect.api.app import create_app
from introspect.cli.main import app
from introspect.config import Settings
from introspect.models.weights import file_sha256
from introspect.runner.model_provider import ModelLoadError, default_model_provider, load_local_model


def settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(model_cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", **overrides)  # type: ignore[arg-type]


def test_the_demo_model_loads_by_name_and_records_its_weights(tmp_path: Path) -> None:
    model = load_local_model(settings(tmp_path, model_path="demo", model_device="cpu"))
    from introspect.models.demo import model_path

    digest = file_sha256(model_path() / "model.safetensors")
    assert model.name == "demo" and model.weights_hash == digest
    assert model.identity == f"demo@{digest[:12]}"
    generation = model.generate([{"role": "user", "content": "What is 2 + 3?"}], max_new_tokens=8)[0]
    assert generation.model == "demo" and generation.weights_hash == digest


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model_path": "/nonexistent/model"}, "model directory /nonexistent/model does not exist"),
        ({"model_path": "smollm2-135m-instruct"}, "introspect models pull smollm2-135m-instruct"),
        ({}, "introspect models pull smollm2-135m-instruct"),  # the default, not pulled here
        ({"model_path": "demo", "model_dtype": "float7"}, "unknown model dtype 'float7'"),
        ({"model_path": "demo", "model_device": "tpu"}, "unknown model device 'tpu'"),
    ],
)
def test_load_errors_are_one_line(tmp_path: Path, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ModelLoadError) as info:
        load_local_model(settings(tmp_path, **overrides))
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no CUDA device"):
        load_local_model(settings(tmp_path, model_path="demo", model_device="cuda"))


def test_an_empty_model_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    provider = default_model_provider(settings(tmp_path, model_path=str(empty)))
    assert provider.model_status() == f"error: model directory {empty} is empty"


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "8765"]])
def test_serve_and_worker_exit_2_with_one_line(tmp_path: Path, command: list[str], sqlite_url: str) -> None:
    env = {
        "INTROSPECT_DATABASE_URL": sqlite_url,  # a migrated database: the model is what is wrong
        "INTROSPECT_MODEL_PATH": str(tmp_path / "nope"),
        "INTROSPECT_DATA_DIR": str(tmp_path / "data"),
        "INTROSPECT_MODEL_CACHE_DIR": str(tmp_path / "cache"),
    }
    from introspect.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, command, env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: model directory {tmp_path / 'nope'} does not exist"]


def test_readyz_reports_a_model_that_cannot_load(tmp_path: Path, sqlite_url: str) -> None:
    broken = Settings(database_url=sqlite_url, model_path=str(tmp_path / "gone"))
    with TestClient(create_app(broken, bound_host="127.0.0.1")) as client:
        ready = client.get("/v1/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["model"] == f"error: model directory {tmp_path / 'gone'} does not exist"
    working = Settings(database_url=sqlite_url, model_path="demo", model_device="cpu")
    with TestClient(create_app(working, bound_host="127.0.0.1")) as client:
        ready = client.get("/v1/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "model": "ok"}
