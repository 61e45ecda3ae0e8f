"""Login, sessions, logout, the loopback-only open mode, and the Origin check on writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from introspect.admin.session import COOKIE_NAME, COOKIE_PATH
from introspect.api.app import create_app
from introspect.config import Settings
from introspect.store.engine import transaction
from introspect.store.repositories.api_keys import create_api_key
from introspect.store.tables import ApiKey
from tests.admin.conftest import BASE, BOOTSTRAP_KEY, ORIGIN, admin_settings, login
from tests.admin.seed import seed_revision


def test_pages_need_a_login_and_the_cookie_is_safe(app_client: TestClient) -> None:
    page = app_client.get("/admin/trajectories?graph=x", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/login?next=/admin/trajectories%3Fgraph%3Dx"
    assert app_client.get("/admin/dashboard", follow_redirects=False).status_code == 303
    bad = app_client.post("/admin/login", data={"api_key": "isk_wrong"}, headers=ORIGIN)
    assert bad.status_code == 401 and "not valid" in bad.text
    good = app_client.post(
        "/admin/login",
        data={"api_key": BOOTSTRAP_KEY, "next": "/admin/dashboard"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/admin/dashboard"
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert BOOTSTRAP_KEY not in cookie and "bootstrap" not in cookie  # the id is inside, signed, not the key
    dashboard = app_client.get("/admin/dashboard")
    assert dashboard.status_code == 200 and "Dashboard" in dashboard.text
    assert "default-src 'none'" in dashboard.headers["content-security-policy"]
    out = app_client.post("/admin/logout", headers=ORIGIN, follow_redirects=False)
    assert out.status_code == 303 and f'{COOKIE_NAME}=""' in out.headers["set-cookie"]
    app_client.cookies.clear()
    assert app_client.get("/admin/trajectories", follow_redirects=False).status_code == 303


def test_login_is_rejected_cross_origin_and_forged_cookies_do_nothing(app_client: TestClient) -> None:
    forged = app_client.post(
        "/admin/login", data={"api_key": BOOTSTRAP_KEY}, headers={"Origin": "http://evil.example"}
    )
    assert forged.status_code == 403
    app_client.cookies.set(
        COOKIE_NAME, "eyJrIjogImJvb3RzdHJhcDowIiwgImV4cCI6IDk5OTk5OTk5OTl9.AAAA", path="/admin"
    )
    assert app_client.get("/admin/trajectories", follow_redirects=False).status_code == 303


def test_database_key_sessions_end_when_the_key_is_revoked(
    app_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with transaction(session_factory) as s:
        issued = create_api_key(s, "reviewer")
    login(app_client, issued.plaintext)
    seeded = seed_revision(session_factory)
    response = app_client.post(
        f"/admin/trajectories/{seeded.trajectory_id}/labels",
        data={"turn_id": str(seeded.turn_ids[0]), "verdict": "incorrect"},
        headers=ORIGIN,
    )
    assert response.status_code == 200 and f"admin:{issued.record.id}" in response.text
    with transaction(session_factory) as s:
        s.execute(update(ApiKey).where(ApiKey.id == issued.record.id).values(revoked_at=ApiKey.created_at))
    assert app_client.get("/admin/trajectories", follow_redirects=False).status_code == 303


def test_writes_need_a_same_origin_header(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    seeded = seed_revision(session_factory)
    path = f"/admin/trajectories/{seeded.trajectory_id}/labels"
    data = {"verdict": "correct"}
    assert admin_client.post(path, data=data).status_code == 403
    assert admin_client.post(path, data=data, headers={"Origin": "https://evil.example"}).status_code == 403
    assert admin_client.post(path, data=data, headers=ORIGIN).status_code == 200


@pytest.fixture
def open_client(db_url: str, redis_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url, redis_url=redis_url), bound_host="127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        yield client


def test_loopback_without_keys_is_open(open_client: TestClient) -> None:
    page = open_client.get("/admin/trajectories")
    assert page.status_code == 200 and "anonymous (loopback)" in page.text


def test_non_loopback_without_keys_stays_closed(db_url: str, redis_url: str) -> None:
    app = create_app(Settings(database_url=db_url, redis_url=redis_url), bound_host="0.0.0.0")
    with TestClient(app, base_url=BASE) as client:
        assert client.get("/admin/trajectories", follow_redirects=False).status_code == 303
        assert client.post("/admin/login", data={"api_key": "isk_x"}, headers=ORIGIN).status_code == 401


def _reuse(app_settings: Settings, cookie: str) -> int:
    """Status of an admin page fetched with ``cookie`` by a fresh browser on a fresh process."""
    app = create_app(app_settings, bound_host="127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        client.cookies.set(COOKIE_NAME, cookie, path=COOKIE_PATH)
        return client.get("/admin/trajectories", follow_redirects=False).status_code


def test_bootstrap_key_sessions_end_when_the_key_is_removed_or_rotated(db_url: str, redis_url: str) -> None:
    secret = SecretStr("a-session-secret-shared-by-replicas")
    before = admin_settings(db_url, redis_url, session_secret=secret)
    app = create_app(before, bound_host="127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        login(client)
        cookie = client.cookies[COOKIE_NAME]
    assert _reuse(before, cookie) == 200  # the same key on another replica: still signed in
    moved = before.model_copy(
        update={"api_keys": [SecretStr("isk_other-key-0123456789"), SecretStr(BOOTSTRAP_KEY)]}
    )
    assert _reuse(moved, cookie) == 200  # bound to the key, not to its position in the list
    rotated = before.model_copy(update={"api_keys": [SecretStr("isk_rotated-key-0123456789")]})
    assert _reuse(rotated, cookie) == 303  # the key in the same position is another key


def test_logout_ends_the_session_on_the_server(db_url: str, redis_url: str) -> None:
    settings = admin_settings(db_url, redis_url, session_secret=SecretStr("another-session-secret"))
    app = create_app(settings, bound_host="127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        login(client)
        copied = client.cookies[COOKIE_NAME]
        assert client.post("/admin/logout", headers=ORIGIN, follow_redirects=False).status_code == 303
        assert client.get("/admin/trajectories", follow_redirects=False).status_code == 303
    assert _reuse(settings, copied) == 303  # a copy of the cookie died with the logout
    app = create_app(settings, bound_host="127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        login(client)  # a new login is a new session, unaffected by the old one's logout
        assert client.get("/admin/trajectories", follow_redirects=False).status_code == 200
