"""Debian's Chromium under Playwright, locked down: no sandbox (containers), no background traffic.

Every request the page makes is recorded, and any request to another host is aborted and recorded,
so a test can assert that a page loaded nothing external. A missing Chromium fails the test with the
fix in the message; browser tests are never skipped.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin"

# Runs before any page script: records CSP violations and dialogs (alert/confirm) for the assertions.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclass
class Session:
    context: BrowserContext
    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        response = self.page.goto(self.origin + path)
        assert response is not None and response.status < 400, (path, response and response.status)

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__violations || []"))


@contextmanager
def chromium_session(origin: str) -> Iterator[Session]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(apt-get install -y chromium); browser tests must run, they are never skipped"
        )
    host = urlsplit(origin).netloc
    with tempfile.TemporaryDirectory(prefix="introspect-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        page = context.pages[0] if context.pages else context.new_page()
        session = Session(context=context, page=page, origin=origin)
        context.add_init_script(WATCH)

        def route(r: Route) -> None:
            url = r.request.url
            session.requests.append(url)
            if urlsplit(url).netloc != host:
                session.external.append(url)
                r.abort()
            else:
                r.continue_()

        def on_dialog(dialog: Any) -> None:
            session.dialogs.append(dialog.message)
            dialog.dismiss()

        context.route("**/*", route)
        page.on("dialog", on_dialog)
        page.on("console", lambda m: session.console_errors.append(m.text) if m.type == "error" else None)
        page.set_default_timeout(15_000)
        try:
            yield session
        finally:
            context.close()


def log_in(session: Session, key: str) -> None:
    session.goto("/admin/login")
    session.page.fill("input[name=api_key]", key)
    session.page.click("button[type=submit]")
    session.page.wait_for_url("**/admin/trajectories")
