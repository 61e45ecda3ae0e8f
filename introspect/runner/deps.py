"""What the runner needs from its host (the worker, the CLI, a test): injected, never global."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.retrievers import BaseRetriever
from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.orm import Session, sessionmaker

from introspect.config import Settings, get_settings
from introspect.prompting import PromptLibrary
from introspect.runner.context import ModelProvider
from introspect.store.repositories.leases import Lease

Notify = Callable[[uuid.UUID, dict[str, Any]], None]
RetrieverFactory = Callable[[str], BaseRetriever]


class JobWatch(Protocol):
    """What the host already knows about a running job, so a node boundary can skip the database:
    whether the lease is certainly still held, and whether a cancel was seen (a worker polls for
    cancels of all its jobs at once; see ``introspect.worker.job_watch``)."""

    def lease_certain(self, lease: Lease) -> bool: ...

    def cancel_requested(self, job_id: uuid.UUID) -> bool: ...


@dataclass
class RunnerDeps:
    """``retriever_factory`` maps a corpus name to any LangChain retriever (default: the database
    corpora); ``notify(job_id, event)`` is called after each event row commits (the worker passes a
    Redis publisher); ``should_stop()`` is polled at every node boundary and, when true, ends the run
    there with the job still leased and running (the worker then hands it back); ``watch`` lets node
    boundaries skip their database query while the lease is certainly held (None: always ask);
    ``prompts`` overrides the repository's ``prompts/`` directory."""

    session_factory: sessionmaker[Session]
    checkpointer: BaseCheckpointSaver[Any]
    models: ModelProvider
    settings: Settings = field(default_factory=get_settings)
    retriever_factory: RetrieverFactory | None = None
    notify: Notify | None = None
    should_stop: Callable[[], bool] | None = None
    watch: JobWatch | None = None
    prompts: PromptLibrary | None = None
