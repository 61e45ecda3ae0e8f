"""Who is using the admin view: a session cookie naming an API key, or anonymous loopback use.

``AdminDep`` is the dependency every admin page takes. Without a valid session it redirects to the
login page, except in embedded loopback mode with no key configured, where the API itself is open
(``Authenticator.authenticate`` decides that, so the view is never more open than the API).
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from introspect.admin.session import COOKIE_NAME, SessionData, key_fingerprint, read_session, session_secret
from introspect.api.auth import Authenticator, AuthError
from introspect.store.engine import transaction
from introspect.store.repositories.admin_sessions import is_revoked
from introspect.store.tables import ApiKey


@dataclass(frozen=True)
class AdminIdentity:
    key_ref: str
    anonymous: bool = False

    @property
    def source(self) -> str:
        """What label rows record as their author: ``admin:<key id>``."""
        ref = self.key_ref.removeprefix("key:")
        return f"admin:{ref}"

    @property
    def display(self) -> str:
        return "anonymous (loopback)" if self.anonymous else self.key_ref


def session_still_valid(request: Request, data: SessionData) -> bool:
    """The session's key is still the one it was opened with (configured, or stored and not revoked)
    and the session was not logged out."""
    secret = session_secret(request.app.state.settings)
    authenticator: Authenticator = request.app.state.authenticator

    def same_key(key_hash: str) -> bool:
        return hmac.compare_digest(key_fingerprint(secret, key_hash), data.key_fp)

    kind, _, value = data.key_ref.partition(":")
    key_id: uuid.UUID | None = None
    if kind == "key":
        try:
            key_id = uuid.UUID(value)
        except ValueError:
            return False
    elif kind != "bootstrap" or not any(same_key(h) for h in authenticator.bootstrap_hashes):
        return False
    with transaction(request.app.state.session_factory) as session:
        if key_id is not None:
            stored = session.scalar(
                select(ApiKey.key_hash).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            )
            if stored is None or not same_key(stored):
                return False
        return not is_revoked(session, data.session_id)


def current_session(request: Request) -> SessionData | None:
    """The valid session the request's cookie names, if any."""
    secret = session_secret(request.app.state.settings)
    data = read_session(secret, request.cookies.get(COOKIE_NAME))
    return data if data is not None and session_still_valid(request, data) else None


def identity_of(request: Request) -> AdminIdentity | None:
    """The signed-in (or anonymous loopback) user, or None when a login is needed."""
    data = current_session(request)
    if data is not None:
        return AdminIdentity(key_ref=data.key_ref)
    authenticator: Authenticator = request.app.state.authenticator
    try:
        caller = authenticator.authenticate(None, request.client.host if request.client else None)
    except AuthError:
        return None
    return AdminIdentity(key_ref="anonymous", anonymous=True) if caller.anonymous else None


def _require_admin(request: Request) -> AdminIdentity:
    identity = identity_of(request)
    if identity is None:
        target = request.url.path
        if request.url.query and request.method == "GET":
            target += "?" + request.url.query
        # 303 + Location: the browser lands on the login page, which sends it back here afterwards.
        raise HTTPException(303, "login required", headers={"Location": "/admin/login?next=" + quote(target)})
    return identity


AdminDep = Annotated[AdminIdentity, Depends(_require_admin)]
