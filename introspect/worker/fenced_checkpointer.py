"""A checkpointer wrapper that refuses writes for jobs whose lease this process no longer holds.

Our own rows are fenced inside their transaction (``leases.fence``). LangGraph's checkpoint writes go
through the saver's own connection, so they are fenced here instead. While the heartbeat has renewed
the lease recently (within 80% of its length) no other worker can have claimed the job, so the write
goes ahead without a query; otherwise the job's current ``lease_version`` is compared with ours.
A worker that was paused past its lease (SIGSTOP, GC pause, partition) and wakes up then raises
``StaleLeaseError`` instead of forking the job's checkpoint history. The check and the
write are separate statements, so a pause of exactly that width remains possible; the recorder's
in-transaction fence still keeps every turn, event and reward row exact.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.repositories.leases import Lease, StaleLeaseError
from introspect.store.tables import Job

# job id -> (the lease held on it, whether it is certainly still ours without asking the database)
LeaseLookup = Callable[[uuid.UUID], tuple[Lease, bool] | None]


class FencedCheckpointer(BaseCheckpointSaver[Any]):
    def __init__(
        self, inner: BaseCheckpointSaver[Any], factory: sessionmaker[Session], lease_for: LeaseLookup
    ):
        super().__init__(serde=inner.serde)
        self.inner = inner
        self._factory = factory
        self._lease_for = lease_for

    def _check(self, config: RunnableConfig) -> None:
        thread = str(config.get("configurable", {}).get("thread_id", ""))
        try:
            job_id = uuid.UUID(thread)
        except ValueError:
            return  # not a job thread (e.g. a bare graph run): nothing to fence
        held = self._lease_for(job_id)
        if held is None:
            raise StaleLeaseError(f"no lease held on job {job_id}; checkpoint write refused")
        lease, certain = held
        if certain:
            return  # renewed recently: nobody else can have claimed the job yet
        with self._factory() as session:
            version = session.scalar(select(Job.lease_version).where(Job.id == job_id))
        if version != lease.version:
            raise StaleLeaseError(f"lease {lease.version} on job {job_id} is no longer held (now {version})")

    # writes: fenced -------------------------------------------------------------------------------
    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._check(config)
        return self.inner.put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._check(config)
        self.inner.put_writes(config, writes, task_id, task_path)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._check(config)
        return await self.inner.aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._check(config)
        await self.inner.aput_writes(config, writes, task_id, task_path)

    # reads and maintenance: delegated -------------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.inner.get_tuple(config)

    def list(self, config: RunnableConfig | None, **kwargs: Any) -> Iterator[CheckpointTuple]:
        return self.inner.list(config, **kwargs)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self.inner.aget_tuple(config)

    async def alist(self, config: RunnableConfig | None, **kwargs: Any) -> AsyncIterator[CheckpointTuple]:
        async for item in self.inner.alist(config, **kwargs):
            yield item

    def delete_thread(self, thread_id: str) -> None:
        self.inner.delete_thread(thread_id)

    async def adelete_thread(self, thread_id: str) -> None:
        await self.inner.adelete_thread(thread_id)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.inner.get_next_version(current, channel)
