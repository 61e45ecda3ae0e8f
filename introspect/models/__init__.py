"""Model backends that report token-level uncertainty with every answer.

Importing this package loads neither torch nor transformers nor LangChain: the backends load on
first attribute access (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from introspect.models.base import ChatBackend, Generation, Message

if TYPE_CHECKING:
    from introspect.models.chat import LocalChatModel, OpenAICompatChatModel, StatsChatModel
    from introspect.models.local import LocalModel
    from introspect.models.openai_compat import OpenAICompatModel

__all__ = [
    "ChatBackend",
    "Generation",
    "LocalChatModel",
    "LocalModel",
    "Message",
    "OpenAICompatChatModel",
    "OpenAICompatModel",
    "StatsChatModel",
]

_LAZY = {
    "LocalModel": "introspect.models.local",
    "OpenAICompatModel": "introspect.models.openai_compat",
    "LocalChatModel": "introspect.models.chat",
    "OpenAICompatChatModel": "introspect.models.chat",
    "StatsChatModel": "introspect.models.chat",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
