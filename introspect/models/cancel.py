"""Cancelling a model call from outside it: a job's cancel check travels with the calling context.

The runner opens a :func:`cancel_scope` around a job's graph run; a batched model request captures
the scope's check when it is submitted (the check is called from the batching thread, not the job's),
and the request leaves its batch at the next token boundary once the check says so, raising
:class:`GenerationCancelled` in the caller. Without a scope a request cannot be cancelled. No torch
here: the runner imports this module in every process.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

CancelCheck = Callable[[], bool]

_CHECK: contextvars.ContextVar[CancelCheck | None] = contextvars.ContextVar(
    "introspect_cancel_check", default=None
)


class GenerationCancelled(Exception):
    """The caller's cancel check fired while its model request was queued or running."""


@contextlib.contextmanager
def cancel_scope(check: CancelCheck) -> Iterator[None]:
    """Model requests submitted inside this block (in this context or one copied from it, as
    LangGraph's executors do) stop at a token boundary once ``check()`` is true. ``check`` must be
    cheap and thread-safe: it is polled once per decoding step."""
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def current_cancel_check() -> CancelCheck | None:
    return _CHECK.get()
