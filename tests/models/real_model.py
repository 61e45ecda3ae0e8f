"""The real default model for the few tests that need it: SmolLM2-135M-Instruct from the model cache.

``scripts/test.sh`` pulls it once per run (``introspect models pull``) and sets
``INTROSPECT_REQUIRE_REAL_MODEL=1``, so in CI a missing model fails these tests instead of skipping
them; a developer without the pulled model sees them skipped with the command to run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from introspect.config import Settings
from introspect.models.catalog import DEFAULT_MODEL, cached_path, is_cached


def real_model_settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if not is_cached(settings.model_cache_dir, DEFAULT_MODEL):
        message = f"{DEFAULT_MODEL} is not pulled: run `introspect models pull {DEFAULT_MODEL}`"
        if os.environ.get("INTROSPECT_REQUIRE_REAL_MODEL") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return settings


def real_model_dir() -> Path:
    settings = real_model_settings()
    return cached_path(settings.model_cache_dir, DEFAULT_MODEL)
