"""What the runner needs from its host (the worker, the CLI, a test): injected, never global."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.retrievers import BaseRetriever
from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.orm import Session, sessionmaker

from introspect.config import Settings, get_settings
from introspect.prompting import PromptLibrary
from introspect.runner.context import ModelProvider

Notify = Callable[[uuid.UUID, dict[str, Any]], None]
RetrieverFactory = Callable[[str], BaseRetriever]


@dataclass
class RunnerDeps:
    """``retriever_factory`` maps a corpus name to any LangChain retriever (default: the database
    corpora); ``notify(job_id, event)`` is called after each event row commits (the worker passes a
    Redis publisher); ``should_stop()`` is polled at every node boundary and, when true, ends the run
    there with the job still leased and running (the worker then hands it back); ``prompts``
    overrides the repository's ``prompts/`` directory."""

    session_factory: sessionmaker[Session]
    checkpointer: BaseCheckpointSaver[Any]
    models: ModelProvider
    settings: Settings = field(default_factory=get_settings)
    retriever_factory: RetrieverFactory | None = None
    notify: Notify | None = None
    should_stop: Callable[[], bool] | None = None
    prompts: PromptLibrary | None = None
