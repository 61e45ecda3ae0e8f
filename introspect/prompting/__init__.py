"""Prompt templates loaded from ``prompts/``: named, versioned, validated, hashed per turn."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from introspect.prompting.template import (
    PROMPTS_DIR,
    PromptError,
    PromptLibrary,
    PromptTemplate,
    parse_template,
)

__all__ = [
    "PROMPTS_DIR",
    "PromptError",
    "PromptLibrary",
    "PromptTemplate",
    "default_library",
    "library_with",
    "parse_template",
]


@lru_cache(maxsize=1)
def default_library() -> PromptLibrary:
    """The repository's ``prompts/`` directory, loaded once per process."""
    return PromptLibrary()


@lru_cache(maxsize=8)
def library_with(overlays: tuple[Path, ...]) -> PromptLibrary:
    """The built-in templates with ``overlays`` applied in order (loaded once per combination)."""
    return PromptLibrary(PROMPTS_DIR, overlays) if overlays else default_library()
