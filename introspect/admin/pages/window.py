"""The "which trajectories" controls the dashboard and calibration pages share: the newest N, since a
date, one model, one batch/run tag. Bad values become a message on the page, never a 4xx/500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.datastructures import QueryParams

from introspect.admin.queries.attempts import TrajectoryAttempts
from introspect.admin.queries.dashboard import DEFAULT_WINDOW, MAX_WINDOW


@dataclass(frozen=True)
class Window:
    size: int
    since: datetime | None
    model: str | None
    tag: str | None

    def keep(self, t: TrajectoryAttempts) -> bool:
        return (self.model is None or t.model == self.model) and (self.tag is None or t.tag == self.tag)

    def form(self) -> dict[str, str]:
        return {
            "window": str(self.size),
            "since": self.since.date().isoformat() if self.since else "",
            "model": self.model or "",
            "tag": self.tag or "",
        }


def parse_window(params: QueryParams, errors: list[str]) -> Window:
    size = DEFAULT_WINDOW
    raw = params.get("window", "").strip()
    if raw:
        try:
            size = int(raw)
        except ValueError:
            errors.append("window: a whole number of trajectories")
        else:
            if not 1 <= size <= MAX_WINDOW:
                errors.append(f"window: between 1 and {MAX_WINDOW}")
                size = min(max(size, 1), MAX_WINDOW)
    since = None
    if raw_since := params.get("since", "").strip():
        try:
            parsed = datetime.fromisoformat(raw_since)
            since = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            errors.append("since: not a date (YYYY-MM-DD)")
    model = (params.get("model") or "").strip()[:200] or None
    tag = (params.get("tag") or "").strip()[:200] or None
    return Window(size=size, since=since, model=model, tag=tag)
