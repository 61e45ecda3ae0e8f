"""Continuous batching of one local model's ``generate`` and ``score`` calls across threads.

Every job thread of a worker calls the same :class:`~introspect.models.local.LocalModel`. Instead of
queueing on a lock, each call becomes a request for one scheduler thread, which decodes all running
requests together one token per step: a request joins the running batch at the next token boundary
(prefilled alone, see :mod:`introspect.models.kv_batch`), each row leaves when it hits EOS, a stop
sequence or ``max_new_tokens``, and a cancelled request leaves at once, the others decoding on.
Teacher-forced ``score`` requests that arrive meanwhile run together, right-padded, in one forward
pass between two decoding steps. When nothing runs, the first request waits up to ``max_wait_s`` for
company before a partial batch starts.

Why not transformers' own continuous batching (``generate_batch`` / ``init_continuous_batching``,
transformers 5.23)? It cannot carry the token-statistics collector: (1) its logits processors see the
packed ``[num_tokens, V]`` rows of all requests with only each row's last input id -- no request
identity, and rows are re-packed as requests come and go -- so per-request O(T) statistics cannot be
attributed; unknown processors are also only "maybe supported" (a warning) and may be dropped;
(2) ``do_sample`` is one flag for the whole manager and sampling is one ``torch.multinomial`` over the
batch on the global RNG: greedy and sampled requests cannot share it, and there is no per-request
seed, nor per-request min-p; (3) it returns token ids (and chosen-token log-probs), never a row's
entropy, varentropy, self-certainty or top-k; (4) there is no teacher-forced scoring request.
So this module is the smallest loop that does: a plain ``DynamicCache`` re-aligned by left padding,
an attention mask and explicit position ids, the statistics of :mod:`introspect.uncertainty.logits`
taken from each step's raw ``[B, V]`` logits, and each request's own sampler
(:mod:`introspect.models.sampling`).

Exactness: a row's statistics are computed from the same raw logits row by the same
``row_sums``/``finish_stats`` as the ``generate``-time collector; batching changes only the order of
floating-point reductions inside the model (fp32: differences ~1e-6, tested within 1e-4).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from introspect.models.cancel import CancelCheck, GenerationCancelled, current_cancel_check
from introspect.models.sampling import Sampling
from introspect.models.stops import StopStrings
from introspect.uncertainty.token_stats import TokenStats

if TYPE_CHECKING:
    from collections.abc import Callable

    from transformers import PreTrainedModel

    from introspect.models.kv_batch import RunningBatch
    from introspect.models.sampling import TokenChooser

log = logging.getLogger(__name__)

# The scheduler thread ends after this long without work (a new request starts it again), so an
# unused model holds no thread.
_IDLE_EXIT_S = 1.0
_FLOAT_FIELDS = 5  # mass, first, second, sum_z, chosen_z; then the top logits


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """``max_batch_size``: rows decoded together (``n`` candidates count ``n``); a request larger
    than that runs alone. ``max_wait_s``: how long an idle scheduler lets a first request wait for
    others before it starts a partial batch (0: start at once)."""

    max_batch_size: int = 8
    max_wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RowResult:
    """One generated row: its statistics (ids included) and how it ended."""

    stats: TokenStats
    finish: str  # "eos" | "stop" (a stop sequence) | "length"
    text_before_stop: str | None = None


@dataclass(eq=False)
class _Row:
    request: _Generate
    index: int  # candidate number within the request
    ids: list[int] = field(default_factory=list)
    floats: list[np.ndarray[Any, Any]] = field(default_factory=list)  # per step: [5 + K]
    top_ids: list[np.ndarray[Any, Any]] = field(default_factory=list)  # per step: [K]


@dataclass(eq=False)
class _Generate:
    prompt: list[int]
    copies: int
    max_new_tokens: int
    sampling: Sampling
    eos: frozenset[int]
    stop: StopStrings | None
    cancelled: CancelCheck | None
    future: Future[list[RowResult]] = field(default_factory=Future)
    chooser: TokenChooser | None = None
    results: dict[int, RowResult] = field(default_factory=dict)


@dataclass(eq=False)
class _Score:
    prompts: list[list[int]]
    targets: list[list[int]]
    cancelled: CancelCheck | None
    future: Future[list[TokenStats]] = field(default_factory=Future)


class Batcher:
    """Runs one model's requests from many threads in shared forward passes (see the module doc)."""

    def __init__(
        self,
        model: PreTrainedModel,
        score_batch: Callable[[list[list[int]], list[list[int]]], list[TokenStats]],
        *,
        top_k: int,
        settings: BatchSettings,
    ) -> None:
        self.model = model
        self.score_batch = score_batch
        self.top_k = top_k
        self.settings = settings
        self._cv = threading.Condition()
        self._queue: deque[_Generate | _Score] = deque()
        self._thread: threading.Thread | None = None
        # Only the scheduler thread touches these.
        self._batch: RunningBatch | None = None
        self._rows: list[_Row] = []
        self._buffers: Any = None
        self._vocab = 0
        self.steps = 0  # decoding steps run (the bench reads it)
        self.row_steps = 0  # rows decoded, summed over steps
        self.max_rows = 0  # the most rows one step decoded

    # callers' side --------------------------------------------------------------------------------
    def generate(
        self,
        prompt: list[int],
        *,
        copies: int,
        max_new_tokens: int,
        sampling: Sampling,
        eos: list[int],
        stop: StopStrings | None = None,
    ) -> list[RowResult]:
        """``copies`` rows continuing ``prompt``; blocks until all have finished."""
        from introspect.models.sampling import TokenChooser

        if max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        device = next(self.model.parameters()).device
        request = _Generate(
            prompt, copies, max_new_tokens, sampling, frozenset(eos), stop, current_cancel_check()
        )
        request.chooser = TokenChooser(sampling, device)  # bad sampling options fail here, in the caller
        return self._submit(request).result()

    def score(self, prompts: list[list[int]], targets: list[list[int]]) -> list[TokenStats]:
        """Teacher-forced statistics of each ``targets[i]`` after ``prompts[i]``."""
        if not prompts:
            return []
        return self._submit(_Score(prompts, targets, current_cancel_check())).result()

    def _submit(self, request: Any) -> Future[Any]:
        with self._cv:
            self._queue.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="local-model-batcher", daemon=True)
                self._thread.start()
            self._cv.notify()
        future: Future[Any] = request.future
        return future

    # scheduler thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        import torch

        with torch.inference_mode():
            while True:
                admitted = self._admit()
                if admitted is None:
                    return
                try:
                    self._tick(admitted)
                except BaseException as exc:  # a failed forward fails the requests it carried
                    log.exception("batched decoding step failed")
                    self._fail_all(admitted, exc)

    def _admit(self) -> list[_Generate | _Score] | None:
        """Requests to start now; waits while idle (``max_wait_s`` for a partial batch); None: exit."""
        with self._cv:
            if not self._rows:
                idle_since = time.monotonic()
                while not self._queue:
                    if (
                        not self._cv.wait(timeout=_IDLE_EXIT_S)
                        and time.monotonic() - idle_since >= _IDLE_EXIT_S
                    ):
                        self._thread = None
                        return None
                deadline = time.monotonic() + self.settings.max_wait_s
                while self._queued_rows() < self.settings.max_batch_size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cv.wait(timeout=left)
            admitted: list[_Generate | _Score] = []
            rows = len(self._rows)
            while self._queue:
                head = self._queue[0]
                if isinstance(head, _Generate):
                    if rows and rows + head.copies > self.settings.max_batch_size:
                        break
                    rows += head.copies
                admitted.append(self._queue.popleft())
            return admitted

    def _queued_rows(self) -> int:
        return sum(
            r.copies if isinstance(r, _Generate) else self.settings.max_batch_size for r in self._queue
        )

    def _tick(self, admitted: list[_Generate | _Score]) -> None:
        """Scores, joins and one decoding step."""
        self._drop_cancelled()
        scores = [r for r in admitted if isinstance(r, _Score)]
        if scores:
            self._run_scores(scores)
        for request in admitted:
            if isinstance(request, _Generate):
                self._join(request)
        if self._rows:
            self._step()

    def _run_scores(self, requests: list[_Score]) -> None:
        live = [r for r in requests if not _cancel(r)]
        pairs = [(p, t) for r in live for p, t in zip(r.prompts, r.targets, strict=True)]
        size = max(1, self.settings.max_batch_size)
        stats: list[TokenStats] = []
        try:
            for start in range(0, len(pairs), size):
                chunk = pairs[start : start + size]
                stats += self.score_batch([p for p, _ in chunk], [t for _, t in chunk])
        except BaseException as exc:
            for r in live:
                r.future.set_exception(exc)
            return
        for r in live:
            r.future.set_result(stats[: len(r.prompts)])
            stats = stats[len(r.prompts) :]

    def _join(self, request: _Generate) -> None:
        from introspect.models.kv_batch import RunningBatch

        if _cancel(request):
            return
        if self._batch is None:
            self._batch = RunningBatch(self.model)
        try:
            self._batch.join(request.prompt, request.copies)
        except BaseException as exc:
            request.future.set_exception(exc)
            return
        self._rows += [_Row(request, i) for i in range(request.copies)]

    def _step(self) -> None:
        """Statistics of every row's next-token distribution, each request's choice, then a forward."""
        import torch

        from introspect.uncertainty.logits import RowBuffers, row_sums

        batch = self._batch
        assert batch is not None and batch.logits is not None
        logits = batch.logits
        self._vocab = logits.shape[-1]
        if self._buffers is None:
            self._buffers = RowBuffers()
        sums = row_sums(logits, top_k=self.top_k, buffers=self._buffers)
        chosen = torch.empty(len(self._rows), dtype=torch.long, device=logits.device)
        start = 0
        for request, count in _runs(self._rows):
            assert request.chooser is not None
            chosen[start : start + count] = request.chooser.choose(logits[start : start + count])
            start += count
        chosen_z = sums.shifted.gather(1, chosen.unsqueeze(1))
        columns = [sums.mass, sums.first, sums.second, sums.sum_z]
        floats = torch.cat([*(c.unsqueeze(1) for c in columns), chosen_z, sums.top_logits], dim=1)
        floats_np = floats.cpu().numpy()
        top_ids = sums.top_ids.cpu().numpy()
        ids = chosen.tolist()
        keep: list[int] = []
        for b, row in enumerate(self._rows):
            row.ids.append(ids[b])
            row.floats.append(floats_np[b])
            row.top_ids.append(top_ids[b])
            if not self._finish_if_done(row):
                keep.append(b)
        self.steps += 1
        self.row_steps += len(self._rows)
        self.max_rows = max(self.max_rows, len(self._rows))
        self._rows = [self._rows[b] for b in keep]
        batch.keep(keep)
        if self._rows:
            batch.advance(chosen[keep] if len(keep) != len(ids) else chosen)

    def _finish_if_done(self, row: _Row) -> bool:
        request = row.request
        text = None
        if row.ids[-1] in request.eos:
            finish = "eos"
        elif request.stop is not None and (text := request.stop.text_before_stop(row.ids)) is not None:
            finish = "stop"
        elif len(row.ids) >= request.max_new_tokens:
            finish = "length"
        else:
            return False
        request.results[row.index] = RowResult(self._stats(row), finish, text)
        if len(request.results) == request.copies:
            request.future.set_result([request.results[i] for i in range(request.copies)])
        return True

    def _stats(self, row: _Row) -> TokenStats:
        import torch

        from introspect.uncertainty.logits import RowSums, finish_stats, stats_from_arrays

        floats = torch.from_numpy(np.stack(row.floats))[None]  # [1, T, 5 + K]
        sums = RowSums(
            shifted=torch.empty((0, self._vocab)),  # finish_stats reads only V
            mass=floats[..., 0],
            first=floats[..., 1],
            second=floats[..., 2],
            sum_z=floats[..., 3],
            support=None,
            top_logits=floats[..., _FLOAT_FIELDS:],
            top_ids=torch.from_numpy(np.stack(row.top_ids))[None],
        )
        arrays = finish_stats(sums, floats[..., 4])
        return stats_from_arrays(arrays, 0, len(row.ids), row.ids, self.top_k)

    def _drop_cancelled(self) -> None:
        """Cancelled requests leave the queue and the batch now; the rest decode on."""
        with self._cv:
            waiting = [r for r in self._queue if not _cancel(r)]
            self._queue.clear()
            self._queue.extend(waiting)
        gone = {id(r.request) for r in self._rows if _cancel(r.request)}
        if not gone:
            return
        keep = [b for b, row in enumerate(self._rows) if id(row.request) not in gone]
        self._rows = [self._rows[b] for b in keep]
        assert self._batch is not None
        self._batch.keep(keep)

    def _fail_all(self, admitted: list[_Generate | _Score], exc: BaseException) -> None:
        for request in [*admitted, *(row.request for row in self._rows)]:
            if not request.future.done():
                request.future.set_exception(exc)
        self._rows, self._batch, self._buffers = [], None, None


def _cancel(request: _Generate | _Score) -> bool:
    """True when the request is over: its cancel check fired (its future then fails with
    :class:`GenerationCancelled`) or its future is already settled. A failing check counts as fired."""
    if request.future.done():
        return True
    if request.cancelled is None:
        return False
    try:
        fired = bool(request.cancelled())
    except Exception:  # a broken check must not take the scheduler down with it
        log.exception("cancel check failed")
        fired = True
    if fired:
        request.future.set_exception(GenerationCancelled("the request was cancelled"))
    return fired


def _runs(rows: list[_Row]) -> list[tuple[_Generate, int]]:
    """Consecutive rows of the same request (a request's rows are always adjacent)."""
    out: list[tuple[_Generate, int]] = []
    for row in rows:
        if out and out[-1][0] is row.request:
            out[-1] = (row.request, out[-1][1] + 1)
        else:
            out.append((row.request, 1))
    return out


def decoding_rows(batcher: Batcher) -> float:
    """Mean rows per decoding step so far (how full the batches were)."""
    return batcher.row_steps / batcher.steps if batcher.steps else 0.0


__all__ = ["BatchSettings", "Batcher", "GenerationCancelled", "RowResult", "decoding_rows"]
