"""The default model provider: the local model (cached per process) and the configured remotes.

``"local"`` is the model ``settings.model_path`` names -- a catalog name, a transformers directory or
a GGUF file; SmolLM2-135M-Instruct from the model cache when unset -- loaded once per process and
shared by every job (``LocalModel`` batches their calls). Any name in ``settings.remote_models`` is
an OpenAI-compatible endpoint. torch and transformers are imported only when the local model is
first used, never by the API process.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from introspect.config import Settings
from introspect.models.batching import BatchSettings
from introspect.models.sources import ModelSource, ModelSourceError, resolve_source

if TYPE_CHECKING:
    from introspect.models.local import LocalModel

_LOAD_LOCK = threading.Lock()


class ModelLoadError(RuntimeError):
    """The configured local model cannot be loaded; ``str()`` is one line for the operator."""


@lru_cache(maxsize=2)
def _load_local(
    source: ModelSource, device: str, dtype: str, chat_template: Path | None, batching: BatchSettings | None
) -> LocalModel:
    from introspect.models.local import LocalModel
    from introspect.models.weights import weights_sha256

    return LocalModel.from_pretrained(
        source.path,
        device=device,
        dtype=dtype,
        name=source.name,
        gguf_file=source.gguf_file,
        weights_sha256=weights_sha256(source.path, source.gguf_file),
        chat_template=chat_template,
        batching=batching,
    )


def batch_settings(settings: Settings) -> BatchSettings | None:
    if not settings.local_batching:
        return None
    return BatchSettings(settings.local_max_batch_size, settings.local_max_wait_ms / 1000)


def local_source(settings: Settings) -> ModelSource:
    """The configured local model's source (raises :class:`ModelSourceError`; no torch needed)."""
    return resolve_source(settings.model_path, settings.model_cache_dir)


def local_model_path(settings: Settings) -> Path:
    return local_source(settings).path


def load_local_model(settings: Settings) -> LocalModel:
    """The configured local model, loaded once per process; every failure is a ModelLoadError whose
    message names the model and the problem in one line."""
    try:
        source = local_source(settings)
    except ModelSourceError as exc:
        raise ModelLoadError(str(exc)) from None
    with _LOAD_LOCK:  # two jobs starting at once must not load the weights twice
        try:
            return _load_local(
                source,
                settings.model_device,
                settings.model_dtype,
                settings.chat_template,
                batch_settings(settings),
            )
        except Exception as exc:
            text = " ".join(str(exc).split()) or type(exc).__name__
            if len(text) > 300:
                text = text[:299] + "…"
            raise ModelLoadError(f"cannot load model {source.name!r} from {source.path}: {text}") from exc


class DefaultModelProvider:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def local_model(self) -> LocalModel:
        return load_local_model(self.settings)

    def check(self) -> None:
        """Load the local model now (raises ModelLoadError): ``serve``/``worker`` call this at start."""
        self.local_model()

    def model_status(self) -> str:
        """``ok``, or ``error: <why>`` -- what ``/v1/readyz`` reports for the model."""
        try:
            self.local_model()
        except ModelLoadError as exc:
            return f"error: {exc}"
        return "ok"

    def prompt_overrides(self) -> Path | None:
        """The local model's own prompt directory (the demo model's RISE conversation format)."""
        try:
            return local_source(self.settings).prompts
        except ModelSourceError:
            return None

    def chat_model(self, name: str) -> BaseChatModel:
        from introspect.models.chat import LocalChatModel, OpenAICompatChatModel

        if name == "local":
            return LocalChatModel(local_model=self.local_model())
        spec = self.settings.remote_models.get(name)
        if spec is None:
            raise KeyError(f"unknown model {name!r}")
        return OpenAICompatChatModel(
            model=spec.model,
            base_url=spec.base_url,
            api_key=None if spec.api_key is None else spec.api_key.get_secret_value(),
            top_logprobs=spec.top_logprobs,
            timeout=spec.timeout_s,
            **({} if spec.vocab_size is None else {"vocab_size": spec.vocab_size}),
        )

    def scorer(self) -> LocalModel:
        return self.local_model()


def default_model_provider(settings: Settings) -> DefaultModelProvider:
    return DefaultModelProvider(settings)
