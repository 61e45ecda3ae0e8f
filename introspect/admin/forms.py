"""Reading HTML form posts without python-multipart: the admin forms are all urlencoded."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import HTTPException, Request

MAX_FORM_BYTES = 200_000


async def read_form(request: Request) -> dict[str, str]:
    """The first value of each field; 415 for another content type, 413 when too large."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(415, "expected an HTML form (application/x-www-form-urlencoded)")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    try:
        parsed = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=50
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "malformed form") from exc
    return {key: values[0] for key, values in parsed.items() if values}


def safe_next(target: str | None, default: str = "/admin/trajectories") -> str:
    """Only local admin paths: an open redirect through the login page would help phishing."""
    if not target or not target.startswith("/admin") or target.startswith("//") or "\\" in target:
        return default
    return target
