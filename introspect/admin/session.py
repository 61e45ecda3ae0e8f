"""Signed session cookies: ``base64url(json) "." base64url(HMAC-SHA256)``.

The cookie names the API key by reference (its database id, or ``bootstrap:<n>``) and carries a keyed
fingerprint of the key's hash, never the key itself; each request re-checks that a key with that
fingerprint is still configured (bootstrap) or stored and not revoked (database), so removing,
rotating or revoking a key ends its sessions -- a position in a list would silently pass to the
key that took its place. Each session has a random id; logout records it server-side
(``admin_session_revocations``), so a copied cookie dies with the logout too.
The secret is ``settings.session_secret``; without one, a random per-process secret is used
(sessions then end when the process restarts and are not shared between replicas).

Hand-rolled rather than itsdangerous: the format is twenty lines with a constant-time compare and
tested, and it needs the expiry inside the signed payload anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from introspect.config import Settings

COOKIE_NAME = "introspect_admin"
COOKIE_PATH = "/admin"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class SessionData:
    """``key_ref`` is ``"key:<uuid>"`` for stored keys or ``"bootstrap:<n>"`` (a label) for configured ones;
    ``key_fp`` is :func:`key_fingerprint` of the key's hash; ``session_id`` names this login."""

    key_ref: str
    key_fp: str
    session_id: str
    expires_at: float


@lru_cache(maxsize=1)
def _process_secret() -> bytes:
    return secrets.token_bytes(32)


def session_secret(settings: Settings) -> bytes:
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        # Domain-separate the configured secret so it is never used raw for anything else.
        return hashlib.sha256(
            b"introspect-admin-session\0" + settings.session_secret.get_secret_value().encode()
        ).digest()
    return _process_secret()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_fingerprint(secret: bytes, key_hash: str) -> str:
    """Which key a session belongs to, without putting the key's own hash in a readable cookie."""
    return hmac.new(secret, b"admin-session-key\0" + key_hash.encode(), hashlib.sha256).hexdigest()[:32]


def sign_session(secret: bytes, key_ref: str, key_fp: str, *, now: float | None = None) -> str:
    issued = time.time() if now is None else now
    body = {"k": key_ref, "f": key_fp, "s": secrets.token_urlsafe(18), "exp": int(issued + SESSION_SECONDS)}
    payload = _b64(json.dumps(body).encode())
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def read_session(secret: bytes, cookie: str | None, *, now: float | None = None) -> SessionData | None:
    """The session in ``cookie`` if its signature is valid and it has not expired; else None."""
    if not cookie or len(cookie) > 1024 or "." not in cookie:
        return None
    payload, _, mac_text = cookie.partition(".")
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    try:
        given = _unb64(mac_text)
        data = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(expected, given) or not isinstance(data, dict):
        return None
    key_ref, key_fp, session_id, expires = data.get("k"), data.get("f"), data.get("s"), data.get("exp")
    if not (isinstance(key_ref, str) and isinstance(key_fp, str) and isinstance(session_id, str)):
        return None
    if not isinstance(expires, int):
        return None
    if expires < (time.time() if now is None else now):
        return None
    return SessionData(key_ref=key_ref, key_fp=key_fp, session_id=session_id, expires_at=float(expires))
