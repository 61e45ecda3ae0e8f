"""The default model provider: the local model (cached per process) and the configured remotes.

``"local"`` is the transformers model at ``settings.model_path`` -- the bundled demo model when that
is unset -- loaded once per process and shared by every job (``LocalModel`` batches their calls).
Any name in ``settings.remote_models`` is an OpenAI-compatible endpoint. torch and transformers are
imported only when the local model is first used, never by the API process.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from introspect.config import Settings
from introspect.models.batching import BatchSettings

if TYPE_CHECKING:
    from introspect.models.local import LocalModel

_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=2)
def _load_local(path: str, device: str, dtype: str, batching: BatchSettings | None) -> LocalModel:
    from introspect.models.local import LocalModel

    return LocalModel.from_pretrained(path, device=device, dtype=dtype, name="local", batching=batching)


def batch_settings(settings: Settings) -> BatchSettings | None:
    if not settings.local_batching:
        return None
    return BatchSettings(settings.local_max_batch_size, settings.local_max_wait_ms / 1000)


def local_model_path(settings: Settings) -> Path:
    if settings.model_path is not None:
        return settings.model_path
    from introspect.models.demo import model_path

    return Path(model_path())


class DefaultModelProvider:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def local_model(self) -> LocalModel:
        with _LOAD_LOCK:  # two jobs starting at once must not load the weights twice
            return _load_local(
                str(local_model_path(self.settings)),
                self.settings.model_device,
                self.settings.model_dtype,
                batch_settings(self.settings),
            )

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
