"""Signed session cookies and the /admin security middleware (CSP, headers, Origin check)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from introspect.admin.forms import safe_next
from introspect.admin.security import CONTENT_SECURITY_POLICY, AdminSecurityMiddleware
from introspect.admin.session import SESSION_SECONDS, read_session, sign_session


def test_session_round_trip_tamper_and_expiry() -> None:
    secret = b"s" * 32
    cookie = sign_session(secret, "key:0b6f1e0e-0000-4000-8000-000000000000", "f" * 32)
    data = read_session(secret, cookie)
    assert data is not None and data.key_ref.startswith("key:") and data.key_fp == "f" * 32
    assert len(data.session_id) >= 24  # a fresh random id per login
    other = read_session(secret, sign_session(secret, data.key_ref, data.key_fp))
    assert other is not None and other.session_id != data.session_id
    assert "isk_" not in cookie  # only the key's id, never the key
    payload, mac = cookie.split(".")
    assert read_session(b"t" * 32, cookie) is None
    assert read_session(secret, payload[:-2] + "xx." + mac) is None
    assert read_session(secret, "garbage") is None and read_session(secret, None) is None
    assert read_session(secret, cookie, now=time.time() + SESSION_SECONDS + 5) is None


def test_safe_next_refuses_open_redirects() -> None:
    assert safe_next("/admin/trajectories/x?y=1") == "/admin/trajectories/x?y=1"
    for bad in ("https://evil.example/", "//evil.example/admin", "/admin\\@evil", "/v1/jobs", None):
        assert safe_next(bad) == "/admin/trajectories"


def _app() -> TestClient:
    app = FastAPI()

    @app.get("/admin/page")
    def page() -> PlainTextResponse:
        return PlainTextResponse("page")

    @app.post("/admin/page")
    def post() -> PlainTextResponse:
        return PlainTextResponse("posted")

    @app.post("/v1/other")
    def other() -> PlainTextResponse:
        return PlainTextResponse("api")

    app.add_middleware(AdminSecurityMiddleware)
    return TestClient(app, base_url="http://admin.test")


def test_headers_and_origin_check() -> None:
    client = _app()
    page = client.get("/admin/page")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.post("/admin/page").status_code == 403  # no Origin, no Referer
    assert client.post("/admin/page", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/admin/page", headers={"Origin": "null"}).status_code == 403
    assert (
        client.post("/admin/page", headers={"Referer": "http://evil.example/admin/page"}).status_code == 403
    )
    assert client.post("/admin/page", headers={"Origin": "http://admin.test"}).text == "posted"
    assert client.post("/admin/page", headers={"Referer": "http://admin.test/admin/x"}).text == "posted"
    # The REST API keeps bearer-token semantics; the check is for the cookie-authenticated view only.
    other = client.post("/v1/other")
    assert other.text == "api" and "content-security-policy" not in other.headers
