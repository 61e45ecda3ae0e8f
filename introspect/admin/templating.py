"""Jinja2 environment and the one render helper every page uses.

Autoescaping is on for every template; the only filter that returns markup is ``markdown``, which
sanitises with nh3 (``introspect.admin.markdown``). Built lazily: nothing is created at import time.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from introspect.admin.identity import AdminIdentity
from introspect.admin.markdown import render_markdown
from introspect.admin.views.gate import stop_tone, tone_of


def fmt_number(value: Any, digits: int = 3) -> str:
    """Numbers for people: ``None``/NaN as an em dash, floats to ``digits`` significant digits."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if abs(value) >= 10**digits:
            return f"{value:.0f}"  # 1890, not "1.89e+03": %g switches to exponents past ``digits``
        return f"{value:.{digits}g}"
    return str(value)


def fmt_duration(ms: Any) -> str:
    """Milliseconds for people: "0.4 ms", "182 ms", "1.9 s", "42 s", "3 min 5 s"."""
    if ms is None or isinstance(ms, bool) or not isinstance(ms, int | float) or not math.isfinite(ms):
        return "—"
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def fmt_json(value: Any) -> str:
    """Pretty JSON as plain text (escaped by the template like any other string)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def truncate(text: str | None, length: int = 120) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("introspect.admin", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = render_markdown
    env.filters["num"] = fmt_number
    env.filters["time"] = fmt_time
    env.filters["dur"] = fmt_duration
    env.globals["gate_tone"] = tone_of
    env.globals["stop_tone"] = stop_tone
    env.filters["pjson"] = fmt_json
    env.filters["short"] = truncate
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    identity: AdminIdentity | None,
    status_code: int = 200,
) -> HTMLResponse:
    page = environment().get_template(template)
    html = page.render(request_path=request.url.path, identity=identity, **context)
    return HTMLResponse(html, status_code=status_code)
