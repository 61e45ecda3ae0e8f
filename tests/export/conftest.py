"""Export test helpers: run an export in memory, and the chat tokenizer TRL's checks apply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from introspect.export import ExportFilters, ExportOptions, get_format, stream_export
from introspect.models.demo import model_path


def run_export(
    factory: sessionmaker[Session],
    fmt: str,
    filters: ExportFilters | None = None,
    options: ExportOptions | None = None,
) -> list[dict[str, Any]]:
    spec = get_format(fmt)
    data = b"".join(stream_export(factory, spec, filters or ExportFilters(), options or ExportOptions()))
    if spec.json_array:
        rows = json.loads(data)
        assert isinstance(rows, list)
        return rows
    return [json.loads(line) for line in data.splitlines()]


def demo_tokenizer_available() -> bool:
    return (model_path() / "tokenizer_config.json").exists()


@pytest.fixture(scope="session")
def chat_tokenizer() -> PreTrainedTokenizerBase:
    """The demo model's tokenizer; until its weights are trained, the same builder on a small corpus."""
    if demo_tokenizer_available():
        return AutoTokenizer.from_pretrained(model_path())
    from introspect.models.demo.tokenizer import build_tokenizer

    corpus = ["What is 6 * 7? 6 * 7 = 42. The answer is 42.", "The answer is incorrect. Please try again."]
    return build_tokenizer(corpus * 20)
