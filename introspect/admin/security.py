"""Security headers and the Origin check for everything under /admin (design.md §7).

A plain ASGI middleware so it covers the pages, the static files and error responses alike:

* a strict Content-Security-Policy: scripts, styles and every other fetch only from this origin, no
  inline script or style at all (the pages need none), no plugins, no framing, forms post only here;
* on state-changing requests, the ``Origin`` header (or ``Referer`` when a browser omits it) must
  name this host, else 403: together with SameSite=Strict cookies this stops cross-site request
  forgery (OWASP CSRF cheat sheet, "Verifying origin with standard headers").
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def same_origin(scope: Scope) -> bool:
    """True when Origin (or else Referer) names the host this request was sent to.

    Only host and port are compared: behind a TLS-terminating proxy the app sees ``http`` while the
    browser says ``https``, and the host still pins the request to this site.
    """
    host = _header(scope, b"host")
    if not host:
        return False
    claimed = _header(scope, b"origin")
    if claimed is None or claimed == "null":
        claimed = _header(scope, b"referer") if claimed is None else None
    if not claimed:
        return False
    try:
        netloc = urlsplit(claimed).netloc
    except ValueError:
        return False
    return bool(netloc) and netloc.lower() == host.lower()


class AdminSecurityMiddleware:
    def __init__(self, app: ASGIApp, prefix: str = "/admin") -> None:
        self.app = app
        self.prefix = prefix

    def _covers(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._covers(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith(self.prefix + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_HEADERS)
                if not is_static:
                    # Pages show private trajectories: keep them out of shared and back-button caches.
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        if scope.get("method", "GET") not in _SAFE_METHODS and not same_origin(scope):
            await _forbidden(send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


async def _forbidden(send: Send) -> None:
    body = b"Forbidden: cross-origin request (Origin does not match this host)\n"
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
