"""Who is using the admin view: a session cookie naming an API key, or anonymous loopback use.

``AdminDep`` is the dependency every admin page takes. Without a valid session it redirects to the
login page, except in embedded loopback mode with no key configured, where the API itself is open
(``Authenticator.authenticate`` decides that, so the view is never more open than the API).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from introspect.admin.session import COOKIE_NAME, read_session, session_secret
from introspect.api.auth import Authenticator, AuthError
from introspect.config import Settings
from introspect.store.engine import transaction
from introspect.store.models import ApiKey


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


def key_ref_still_valid(request: Request, key_ref: str) -> bool:
    settings: Settings = request.app.state.settings
    kind, _, value = key_ref.partition(":")
    if kind == "bootstrap":
        return value.isdigit() and int(value) < len(settings.api_keys)
    if kind != "key":
        return False
    try:
        key_id = uuid.UUID(value)
    except ValueError:
        return False
    with transaction(request.app.state.session_factory) as session:
        found = session.scalar(select(ApiKey.id).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
    return found is not None


def identity_of(request: Request) -> AdminIdentity | None:
    """The signed-in (or anonymous loopback) user, or None when a login is needed."""
    secret = session_secret(request.app.state.settings)
    data = read_session(secret, request.cookies.get(COOKIE_NAME))
    if data is not None and key_ref_still_valid(request, data.key_ref):
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
