"""Login with an API key, logout. The cookie names the key by id, is HttpOnly and SameSite=Strict."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from introspect.admin.forms import read_form, safe_next
from introspect.admin.identity import current_session, identity_of
from introspect.admin.session import (
    COOKIE_NAME,
    COOKIE_PATH,
    SESSION_SECONDS,
    key_fingerprint,
    session_secret,
    sign_session,
)
from introspect.admin.templating import render
from introspect.api.auth import Authenticator, AuthError
from introspect.api.auth_throttle import FailedAuthThrottle
from introspect.store.engine import transaction
from introspect.store.repositories.admin_sessions import revoke_session
from introspect.store.repositories.api_keys import hash_key

router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    identity = identity_of(request)
    if identity is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None}, identity=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    throttle: FailedAuthThrottle = request.app.state.auth_throttle
    client = request.client.host if request.client else "-"
    if await throttle.blocked(client):  # shared with the API: guesses there count here too
        return render(
            request, "login.html", {"next": target, "error": "Too many attempts; wait a minute."},
            identity=None, status_code=429,
        )  # fmt: skip
    authenticator: Authenticator = request.app.state.authenticator
    plaintext = form.get("api_key", "").strip()
    try:
        caller = await run_in_threadpool(authenticator.check_key, plaintext)
    except AuthError:
        await throttle.failed(client)
        return render(
            request, "login.html", {"next": target, "error": "That API key is not valid."},
            identity=None, status_code=401,
        )  # fmt: skip
    # Stored keys by id; bootstrap keys keep their label (``bootstrap:<n>``, what label rows record),
    # but the session is bound to the key's fingerprint, not to that position.
    key_ref = f"key:{caller.key_id}" if caller.key_id is not None else caller.rate_key
    secret = session_secret(request.app.state.settings)
    cookie = sign_session(secret, key_ref, key_fingerprint(secret, hash_key(plaintext)))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    data = current_session(request)
    if data is not None:  # the cookie may have been copied: end the session itself, not only the cookie
        with transaction(request.app.state.session_factory) as session:
            revoke_session(session, data.session_id, datetime.fromtimestamp(data.expires_at, UTC))
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response
