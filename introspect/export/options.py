"""What to export: row filters and format options, validated once, recorded in every manifest.

Invalid values raise :class:`ExportParameterError` with a message naming the parameter, so the API can
answer 422 and the CLI can print one line instead of a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

Split = Literal["train", "eval"]
Keep = Literal["all", "improved", "success"]
KEEP_CHOICES: tuple[str, ...] = get_args(Keep)
SPLIT_CHOICES: tuple[str, ...] = get_args(Split)

# RISE (Qu et al. 2024) maps a reward r to the loss weight exp(r / tau) with tau = 0.4.
DEFAULT_TAU = 0.4
# Rewards lie in [-MAX_ABS_REWARD, MAX_ABS_REWARD] (verifier scores in [0, 1], human rewards bounded
# by the label form), so with tau >= MIN_TAU every weight is at most exp(500) ~ 1e217: a finite JSON
# number. A smaller tau would overflow in the middle of a streamed export, after its 200 went out.
MAX_ABS_REWARD = 10.0
MIN_TAU = 0.02
DEFAULT_EVAL_FRACTION = 0.1
_HASH_PREFIX_DIGITS = 8  # 32 bits of the task hash decide the split: fine enough for any fraction


class ExportParameterError(ValueError):
    """A filter or option value that cannot be used; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Which trajectories take part. ``None`` means "no constraint"."""

    graph: str | None = None
    model: str | None = None
    batch: str | None = None  # a batch's name or id (``run --dataset``, ``/v1/batches``)
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    success: bool | None = None  # after human labels are applied
    min_reward: float | None = None  # effective outcome reward >= min_reward
    has_human_label: bool | None = None
    split: Split | None = None
    eval_fraction: float = DEFAULT_EVAL_FRACTION
    include_unfinished: bool = False  # running trajectories are partial; leave them out by default

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                # Timestamps are stored in UTC; a naive bound is read as UTC rather than refused.
                object.__setattr__(self, name, value.replace(tzinfo=UTC))
        if self.since and self.until and self.until <= self.since:
            raise ExportParameterError("until must be later than since")
        if self.split is not None and self.split not in SPLIT_CHOICES:
            raise ExportParameterError(f"split must be one of {', '.join(SPLIT_CHOICES)}, not {self.split!r}")
        if not 0.0 <= self.eval_fraction <= 1.0:
            raise ExportParameterError(f"eval_fraction must be between 0 and 1, not {self.eval_fraction}")
        if self.min_reward is not None and self.min_reward != self.min_reward:
            raise ExportParameterError("min_reward must be a number, not NaN")

    @property
    def eval_threshold(self) -> str:
        """Task hashes below this string form the eval split (see :func:`split_of`)."""
        return eval_threshold(self.eval_fraction)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("since", "until"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """How rows are built, whatever the filters."""

    tau: float = DEFAULT_TAU
    keep: Keep = "all"
    revision_pairs: bool = False  # preference: failed attempt vs the revision that fixed it (opt-in)
    dedup: bool = True
    token_stats: bool = False  # raw: include the per-token arrays (large)
    page_size: int = 500  # trajectories per page of the server-side cursor

    def __post_init__(self) -> None:
        if not (MIN_TAU <= self.tau < float("inf")):
            raise ExportParameterError(f"tau must be a number >= {MIN_TAU}, not {self.tau}")
        if self.keep not in KEEP_CHOICES:
            raise ExportParameterError(f"keep must be one of {', '.join(KEEP_CHOICES)}, not {self.keep!r}")
        if not 1 <= self.page_size <= 10_000:
            raise ExportParameterError(f"page_size must be between 1 and 10000, not {self.page_size}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def eval_threshold(eval_fraction: float) -> str:
    """The hex prefix below which a task hash belongs to the eval split.

    The task hash is a SHA-256 hex digest, so its first 32 bits are uniform: comparing the hash string
    with a fixed prefix is a deterministic split that SQL (an index range) and Python agree on.
    """
    scale = 16**_HASH_PREFIX_DIGITS
    bound = min(round(eval_fraction * scale), scale)
    if bound >= scale:
        return "g"  # above every hex digit: everything is eval
    return format(bound, f"0{_HASH_PREFIX_DIGITS}x")


def split_of(task_hash: str, eval_fraction: float = DEFAULT_EVAL_FRACTION) -> Split:
    """The split of a task: deterministic in the task hash, stable across exports and backends."""
    return "eval" if task_hash < eval_threshold(eval_fraction) else "train"
