"""The admin view as a trace tool, in Chromium: every page fits 1280x800 and 390x844 without sideways
scrolling, a failed job shows its error, the gate chart renders, heatmap colours follow the fixed
scale, and the label queue works from the keyboard. Screenshots of the new pages go to docs/."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories.trajectories import list_rewards
from introspect.testing.live_server import live_server
from tests.admin.browser import Session as Browser
from tests.admin.browser import chromium_session, log_in
from tests.admin.conftest import BOOTSTRAP_KEY
from tests.admin.seed import seed_revision, seed_story
from tests.admin.seed_cases import FAILURE, seed_answer, seed_best_of_n, seed_failed_job

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Whether anything makes the page wider than the window, and the nav links that are cut off.
OVERFLOW = """() => ({
  scroll: document.documentElement.scrollWidth, width: window.innerWidth,
  cut: [...document.querySelectorAll('header.top a, header.top button')]
    .filter(a => { const r = a.getBoundingClientRect();
                   return r.right > window.innerWidth + 1 || r.left < -1; })
    .map(a => a.textContent.trim()),
})"""


@dataclass
class Live:
    origin: str
    factory: sessionmaker[Session]


@pytest.fixture
def live(sqlite_url: str) -> Iterator[Live]:
    settings = Settings(database_url=sqlite_url, api_keys=[SecretStr(BOOTSTRAP_KEY)])
    app = create_app(settings, bound_host="127.0.0.1")
    engine = make_engine(sqlite_url)
    try:
        with live_server(app) as origin:
            yield Live(origin=origin, factory=make_session_factory(engine))
    finally:
        engine.dispose()


def _clean(s: Browser) -> None:
    assert s.external == [] and s.dialogs == [] and s.violations() == []
    assert s.console_errors == [], s.console_errors


def _doc_shot(s: Browser, name: str, *, selector: str | None = None, full_page: bool = False) -> None:
    """A screenshot kept with the test artifacts; with INTROSPECT_DOC_SCREENSHOTS=1 it also replaces
    the README's copy in docs/ (off by default, so a test run leaves the work tree clean)."""
    if selector:
        path = s.screenshot(name, full_page=False)
        s.page.locator(selector).first.screenshot(path=str(path))
    else:
        path = s.screenshot(name, full_page=full_page)
    if os.environ.get("INTROSPECT_DOC_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / f"admin-{name}.png")


def test_every_page_fits_desktop_and_phone_widths(live: Live) -> None:
    story = seed_story(live.factory)
    bon = seed_best_of_n(live.factory)
    failed = seed_failed_job(
        live.factory, with_trajectory=True, meta={"batch": "gsm8k-smoke", "owner": "ops"}
    )
    unsure = seed_answer(live.factory, prompt="Capital of Australia?", answer="It is Sydney", success=None,
                         entropies=[0.4, 1.2, 1.6], confident=False, model="smollm2-135m")  # fmt: skip
    pages = [
        "/admin/trajectories",
        f"/admin/trajectories/{story.trajectory_id}",
        f"/admin/trajectories/{bon}",
        f"/admin/trajectories/{failed.trajectory_id}",
        "/admin/jobs",
        f"/admin/jobs/{failed.job_id}",
        "/admin/queue",
        f"/admin/compare?a={story.trajectory_id}&b={unsure}",
        "/admin/inbox",
        "/admin/dashboard",
        "/admin/calibration",
        "/admin/export",
    ]
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        for viewport in (DESKTOP, PHONE):
            s.page.set_viewport_size(viewport)
            for path in pages:
                s.goto(path)
                fit = s.page.evaluate(OVERFLOW)
                assert fit["scroll"] <= fit["width"], (viewport, path, fit)
                assert fit["cut"] == [], (viewport, path, fit)
        s.page.set_viewport_size(PHONE)
        s.goto(f"/admin/trajectories/{story.trajectory_id}")
        _doc_shot(s, "phone-trajectory")
        s.page.set_viewport_size(DESKTOP)
        s.goto(f"/admin/trajectories/{story.trajectory_id}")
        _doc_shot(s, "trajectory")
        s.goto(f"/admin/trajectories/{bon}")
        _doc_shot(s, "best-of-n", selector="#candidates")
        s.goto(f"/admin/compare?a={story.trajectory_id}&b={unsure}")
        _doc_shot(s, "compare")
        s.goto("/admin/trajectories")
        _doc_shot(s, "list")
        _clean(s)


def test_a_failed_job_shows_its_error_attempts_and_last_event(live: Live) -> None:
    bare = seed_failed_job(live.factory, with_trajectory=False)
    started = seed_failed_job(live.factory, with_trajectory=True)
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        s.page.set_viewport_size(DESKTOP)
        s.goto(f"/admin/jobs/{bare.job_id}")
        problem = s.page.locator("#job-error").inner_text()
        assert FAILURE in problem and "after 3 attempts" in problem and "failed" in problem
        assert s.page.locator("#job-attempts").inner_text() == "3"
        assert "attempt_failed" in s.page.locator("#events").inner_text()
        assert "No trajectory was written" in s.page.locator("#runs").inner_text()
        _doc_shot(s, "job-failed")
        # The trajectory of a job that failed mid-run says so, instead of an empty timeline.
        s.goto(f"/admin/trajectories/{started.trajectory_id}")
        assert FAILURE in s.page.locator("#job-error").inner_text()
        assert "failed before its first turn" in s.page.locator("#timeline").inner_text()
        # The jobs list filters on failures and shows each error; the dashboard links to it.
        s.goto("/admin/dashboard")
        assert "(running)" not in s.page.locator("main").inner_text()
        assert "(no stop: job failed)" in s.page.locator("main").inner_text()
        s.page.click("#failed-jobs")
        s.page.wait_for_url("**/admin/jobs?status=failed")
        assert s.page.locator("#jobs tbody tr").count() == 2
        assert FAILURE[:40] in s.page.locator("#jobs").inner_text()
        _clean(s)


def test_gate_decisions_one_row_each_with_a_chart_and_sane_latency(live: Live) -> None:
    story = seed_story(live.factory)
    slow = seed_answer(live.factory, prompt="What is 2 + 2?", answer="The answer is 4", success=True)
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        s.page.set_viewport_size(DESKTOP)
        s.goto(f"/admin/trajectories/{story.trajectory_id}")
        charts = s.page.locator("#gate-charts svg")
        assert charts.count() >= 2  # mean entropy and attempt, each against its threshold
        entropy_chart = s.page.locator("#gate-charts svg[aria-label^='mean entropy']")
        assert entropy_chart.locator(".threshold").count() == 1
        assert entropy_chart.locator("circle.dot").count() == 2  # one point per decision
        assert entropy_chart.locator("circle.dot.ok").count() == 2  # both under the 1-nat cut
        box = entropy_chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
        rows = s.page.locator("#gate-table > tbody > tr.gate-step")
        assert rows.count() == 2  # one row per decision
        assert rows.nth(1).locator(".cell.deciding").inner_text().startswith("verified")
        assert s.page.locator("#thresholds").inner_text().count("max_turns") == 1  # thresholds once
        _doc_shot(s, "gate", selector="#gate")
        _doc_shot(s, "timings", selector="#timings")
        s.goto(f"/admin/trajectories/{slow}")
        timeline = s.page.locator("#timeline").inner_text()
        assert "1.9 s" in timeline and "e+" not in timeline
        _clean(s)


def test_heatmap_colours_follow_the_fixed_scale(live: Live) -> None:
    sure = seed_answer(
        live.factory, prompt="2 + 2?", answer="The answer is 4", entropies=[0.01, 0.02, 0.03, 0.03]
    )
    unsure = seed_answer(
        live.factory, prompt="3 + 3?", answer="The answer is 7", entropies=[1.6, 1.6, 1.6, 1.6]
    )
    colours = {}
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        s.page.set_viewport_size(DESKTOP)
        for name, tid in (("sure", sure), ("unsure", unsure)):
            s.goto(f"/admin/trajectories/{tid}")
            toks = s.page.locator(".heatmap .tok")
            colours[name] = {
                toks.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(4)
            }
            legend = s.page.locator(".scale-entropy").inner_text()
            assert "< 0.05" in legend and "≥ 2" in legend  # the same documented edges on every page
        # Each trajectory is one colour: its own maximum no longer paints the sure answer red.
        assert colours["sure"] == {"rgb(255, 255, 255)"}  # bucket 0: below 0.05 nats
        assert colours["unsure"] == {"rgb(221, 61, 36)"}  # bucket 8: 1.5-2 nats
        s.goto(f"/admin/trajectories/{unsure}")
        s.page.evaluate("document.getElementById('turns').scrollIntoView()")
        _doc_shot(s, "heatmap", selector="#turns")
        _clean(s)


def test_label_queue_from_the_keyboard(live: Live) -> None:
    oldest = seed_answer(live.factory, prompt="Oldest unverified", answer="maybe 3", entropies=[0.3, 0.9])
    middle = seed_answer(live.factory, prompt="Middle unverified", answer="maybe 5", entropies=[0.3, 0.9])
    newest = seed_answer(live.factory, prompt="Newest unverified", answer="maybe 9", entropies=[0.3, 0.9])
    seed_answer(live.factory, prompt="Verified and sure", answer="It is 4", success=True)
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        s.page.set_viewport_size(DESKTOP)
        s.goto("/admin/queue")
        item = s.page.locator("#queue-item")
        assert "Newest unverified" in item.inner_text() and "unverified" in item.inner_text()
        assert item.get_attribute("data-queue") == str(newest)
        _doc_shot(s, "queue")
        s.page.keyboard.press("c")
        s.page.wait_for_url("**/admin/queue?done=correct")
        assert s.page.locator("#queue-item").get_attribute("data-queue") == str(middle)
        s.page.keyboard.press("s")
        s.page.wait_for_url(f"**skip={middle}**")
        assert s.page.locator("#queue-item").get_attribute("data-queue") == str(oldest)
        # Typing a comment does not fire the shortcuts; the key after it does.
        comment = s.page.locator("input[name=comment]")
        comment.fill("says maybe")
        s.page.keyboard.press("i")
        assert comment.input_value() == "says maybei" and s.page.locator("#queue-item").count() == 1
        comment.fill("says maybe: hedged")
        s.page.locator("body").click(position={"x": 5, "y": 5})
        s.page.keyboard.press("i")
        s.page.wait_for_url("**done=incorrect**")
        assert "Nothing to label" in s.page.locator("#queue-empty").inner_text()
        _clean(s)
    with transaction(live.factory) as db:
        verdicts = {
            tid: [
                (r.label, r.comment, r.turn_id is not None)
                for r in list_rewards(db, tid)
                if r.kind == "human"
            ]
            for tid in (newest, middle, oldest)
        }
    assert verdicts == {
        newest: [(True, None, True)],
        middle: [],
        oldest: [(False, "says maybe: hedged", True)],
    }


def test_sortable_columns_and_job_metadata_search(live: Live) -> None:
    seed_answer(live.factory, prompt="short", answer="a b", meta={"batch": "run-7"}, latency_ms=20.0)
    seed_answer(live.factory, prompt="long", answer="a b c d e f", meta={"owner": "Zed"}, latency_ms=30.0)
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        s.page.set_viewport_size(DESKTOP)
        s.goto("/admin/trajectories?meta=zed")
        assert s.page.locator("#trajectories tbody tr.row").count() == 1
        s.goto("/admin/trajectories?tag=run-7")
        rows = s.page.locator("#trajectories tbody tr.row")
        assert rows.count() == 1 and "run-7" in rows.first.inner_text()
        s.goto("/admin/trajectories")
        tokens = s.page.locator("#trajectories thead th", has_text="Tokens")
        tokens.click()
        assert tokens.get_attribute("aria-sort") == "ascending"
        firsts = s.page.locator("#trajectories tbody tr.row td:nth-child(4)").all_inner_texts()
        assert firsts == ["short", "long"]
        tokens.click()
        firsts = s.page.locator("#trajectories tbody tr.row td:nth-child(4)").all_inner_texts()
        assert firsts == ["long", "short"]
        _clean(s)


def test_unknown_ids_are_404_pages_not_errors(live: Live) -> None:
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        for path in (f"/admin/jobs/{uuid.uuid4()}", "/admin/jobs/nope"):
            response = s.page.goto(s.origin + path)
            assert response is not None and response.status == 404
        s.goto("/admin/compare?a=nope&b=" + str(uuid.uuid4()))
        errors = s.page.locator(".error").all_inner_texts()
        assert "a: not a trajectory id" in errors and "b: no trajectory has that id" in errors
        assert s.external == [] and s.dialogs == [] and s.violations() == []


def test_dashboard_rise_figures_and_calibration_render(live: Live) -> None:
    for i in range(4):
        seed_revision(live.factory, prompt=f"Revised {i}: 17 + 25?")  # wrong at turn 1, right at turn 2
    for i in range(5):
        right = i < 3
        seed_answer(
            live.factory, prompt=f"Batch a {i}", answer="a b c", success=right, model="smollm2-135m",
            entropies=[0.05, 0.1, 0.2] if right else [0.8, 1.4, 1.9], batch="gsm8k-a",
        )  # fmt: skip
    seed_answer(live.factory, prompt="Batch b", answer="a b", success=True, batch="gsm8k-b")
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        s.page.set_viewport_size(DESKTOP)
        s.goto("/admin/dashboard")
        models = s.page.locator("#rise-models tbody tr")
        assert models.count() == 3  # all, demo-llama, smollm2-135m
        demo = s.page.locator("#rise-models tbody tr", has_text="demo-llama").locator("td").all_inner_texts()
        # Four tasks wrong at turn 1 and right at turn 2 (plus one right at once), solved ones stay solved.
        assert demo[:5] == ["demo-llama", "5", "20.0%", "100.0%", "100.0%"]
        assert demo[7] == "20.0% → 100.0%" and demo[8] == "100.0%"
        assert (
            s.page.locator("svg.accuracy").count() == 2
            and s.page.locator("svg.accuracy polyline").count() >= 3
        )
        s.page.locator("#rise").scroll_into_view_if_needed()
        _doc_shot(s, "dashboard-rise", selector="#rise")
        s.goto("/admin/calibration?model=smollm2-135m")
        assert s.page.locator("#model-detail").inner_text() == "smollm2-135m"
        assert s.page.locator("svg.roc").count() >= 5 and s.page.locator("svg.reliability").count() >= 5
        _doc_shot(s, "calibration")
        _clean(s)
