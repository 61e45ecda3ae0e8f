"""The Host names this service answers to: a defence against DNS rebinding.

Without an API key the API is open to loopback callers. A page on ``rebind.evil.example`` whose name
the attacker re-points at 127.0.0.1 is, to the browser, same-origin with that name, so it could read
and write through a victim's browser -- and the admin Origin check would agree, since Origin and
Host both say ``rebind.evil.example``. So every request's Host must be a loopback name
(``localhost``, ``127.0.0.1``, ``[::1]``, any port) or one the operator lists in
``INTROSPECT_ALLOWED_HOSTS``; once API keys exist and no list is configured, any Host is answered
(the key, not the name, protects the API). Runs before everything else, so nothing downstream --
the Origin check included -- ever sees a Host that is not allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from introspect.api.auth import Authenticator

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def host_name(header: str | None) -> str | None:
    """The name in a Host header (lower case, without port or IPv6 brackets); None if malformed."""
    if not header:
        return None
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket:
            return None
    else:
        name, colon, port = header.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return None
    return name or None


class HostCheckMiddleware:
    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(h.strip().lower().strip("[]") for h in allowed_hosts if h.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or await self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        body = (
            b"Host not allowed: use localhost or 127.0.0.1, or list this name in INTROSPECT_ALLOWED_HOSTS\n"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"%d" % len(body)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _allowed(self, scope: Scope) -> bool:
        raw = next((bytes(v) for k, v in scope.get("headers", []) if k == b"host"), None)
        name = host_name(raw.decode("latin-1") if raw is not None else None)
        if name is not None and (name in LOOPBACK_NAMES or name in self.allowed):
            return True
        if self.allowed:
            return False
        # No list: any name once keys protect the API (cached; a database read at most every few s).
        authenticator: Authenticator | None = getattr(scope["app"].state, "authenticator", None)
        return authenticator is not None and await run_in_threadpool(authenticator.auth_required)
