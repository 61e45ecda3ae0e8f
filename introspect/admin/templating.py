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
        return f"{value:.{digits}g}"
    return str(value)


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
