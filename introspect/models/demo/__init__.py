"""The bundled demo model and its reference task (issue 4).

A tiny Llama trained by :mod:`introspect.models.demo.train` on arithmetic word problems, including
RISE-style retry episodes (Qu et al. 2024), so that the whole loop runs offline with real logits.
Importing this package is cheap: torch and transformers load only in ``train``/``tokenizer``.
"""

from __future__ import annotations

from pathlib import Path

from .task import EVAL_SEED, FEEDBACK, Fault, Problem, is_correct, make_problems, solve

__all__ = [
    "EVAL_SEED",
    "FEEDBACK",
    "Fault",
    "ModelPath",
    "Problem",
    "is_correct",
    "make_problems",
    "model_path",
    "solve",
]

_WEIGHTS = Path(__file__).resolve().parent / "weights"


class ModelPath(str):
    """A directory path that is a ``str`` -- what TRL and transformers test for (``isinstance(model,
    str)`` loads a path; a ``Path`` is taken for a model object) -- and still joins like a Path."""

    __slots__ = ()

    def __truediv__(self, other: str) -> Path:
        return Path(self) / other

    def __fspath__(self) -> str:
        return str(self)


def model_path() -> ModelPath:
    """The bundled model directory (config, safetensors, tokenizer), loadable offline; a ``str``."""
    return ModelPath(_WEIGHTS)
