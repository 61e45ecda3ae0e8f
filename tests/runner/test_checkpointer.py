"""The Postgres checkpointer serves a worker's job threads concurrently, one pooled connection each."""

from __future__ import annotations

import threading
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint

from introspect.runner.checkpointer import make_checkpointer


def test_a_slow_checkpoint_read_does_not_block_other_threads(pg_url: str) -> None:
    with make_checkpointer(pg_url) as saver:
        config: Any = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
        for _ in range(2):
            config = saver.put(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
        # A half-read listing keeps its connection (and, in stock PostgresSaver, a process-wide
        # lock) until it is exhausted -- as a thread in the middle of a query does.
        listing = saver.list({"configurable": {"thread_id": "t1"}})
        next(listing)
        done = threading.Event()

        def read() -> None:
            saver.get_tuple({"configurable": {"thread_id": "t1"}})
            done.set()

        threading.Thread(target=read, daemon=True).start()
        assert done.wait(10), "a second thread waited for the first one's query"
        listing.close()
