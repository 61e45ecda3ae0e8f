"""End to end in Chromium: log in, filter, open a trajectory, hover a token, read a diff, label a turn
and find the label in an export, answer an escalation (the job resumes and finishes), and a corpus of
hostile outputs that executes nothing and loads nothing external."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.app import create_app
from introspect.config import RemoteModelSpec, Settings
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories.trajectories import RewardData, add_reward, list_rewards
from introspect.store.tables import Critique, Turn
from introspect.testing.live_server import live_server
from tests.admin.browser import chromium_session, log_in
from tests.admin.conftest import BOOTSTRAP_KEY
from tests.admin.hostile import HOSTILE, HOSTILE_TEXT
from tests.admin.seed import seed_revision, seed_story
from tests.admin.seed_cases import seed_answer, seed_failed_job
from tests.graphs.fakes import SCATTERED, FakeProvider, Reply, ScriptedChatModel

pytestmark = pytest.mark.browser

# What the rendered DOM could execute or fetch: script elements, inline handlers, active elements,
# and script/data/external URLs in links, sources and form actions.
DOM_AUDIT = """() => ({
  scripts: [...document.scripts].map(s => s.src),
  handlers: [...document.querySelectorAll('*')].flatMap(e =>
    [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name)),
  active: document.querySelectorAll(
    'iframe,object,embed,img,style,base,meta[http-equiv],form[action^=http]').length,
  jsLinks: [...document.querySelectorAll('[href],[src],[action]')].map(e =>
    e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
    .filter(u => /^\\s*(javascript|data|vbscript):/i.test(u) || /evil\\.example/.test(u)),
})"""


@dataclass
class Live:
    origin: str
    factory: sessionmaker[Session]
    local: ScriptedChatModel


@pytest.fixture
def live(sqlite_url: str) -> Iterator[Live]:
    """The embedded service (in-process worker) on a SQLite file, its model scripted: a scattered
    answer the gate escalates to a human."""
    local = ScriptedChatModel(script=[Reply("The answer is 7.", SCATTERED)])
    settings = Settings(
        database_url=sqlite_url,
        api_keys=[SecretStr(BOOTSTRAP_KEY)],
        remote_models={"strong": RemoteModelSpec(base_url="http://127.0.0.1:9/v1", model="strong")},
    )
    app = create_app(settings, bound_host="127.0.0.1", model_provider=FakeProvider({"local": local}))
    engine = make_engine(sqlite_url)
    try:
        with live_server(app) as origin:
            yield Live(origin=origin, factory=make_session_factory(engine), local=local)
    finally:
        engine.dispose()


def _clean(session: Any) -> None:
    assert session.external == [], session.external
    assert session.dialogs == [], session.dialogs
    assert session.violations() == []


def test_login_filter_open_hover_diff_label_export(live: Live) -> None:
    story = seed_story(live.factory)
    seed_revision(live.factory, prompt="Unrelated: capital of Peru?", second="Lima", graph="rag")
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        page = s.page
        assert page.locator("#trajectories tbody tr").count() == 2
        page.select_option("select[name=graph]", "self_critique")
        page.fill("input[name=q]", "apples")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**graph=self_critique**")
        rows = page.locator("#trajectories tbody tr")
        assert rows.count() == 1 and "17 apples" in rows.first.inner_text()
        s.screenshot("list-filtered")
        rows.first.locator("a").first.click()
        page.wait_for_url(f"**/admin/trajectories/{story.trajectory_id}")

        # Hover the digit the first attempt got wrong: the tooltip shows its numbers.
        page.set_viewport_size({"width": 1280, "height": 1180})
        page.evaluate("document.getElementById('turns').scrollIntoView()")
        first_turn = page.locator(f"#turn-{story.turn_ids[0]}")
        hot = first_turn.locator(".tok.e9").first
        hot.hover()
        tip = page.locator("#tok-tip")
        tip.wait_for(state="visible")
        text = tip.inner_text()
        assert "entropy" in text and "2.1 nats" in text
        assert "chosen log p" in text and "-0.89" in text and "(p=0.411)" in text
        assert "top alternatives" in text and "<alt>" in text
        assert hot.get_attribute("data-h") == "2.1"
        s.screenshot("trajectory-hover", full_page=False)

        # Switch the colouring: the same token changes colour, without reloading.
        entropy_colour = hot.evaluate("e => getComputedStyle(e).backgroundColor")
        page.click("[data-set-metric=self_certainty]")
        assert page.locator("#turns").get_attribute("data-metric") == "self_certainty"
        calm = first_turn.locator(".tok.e0").first
        assert calm.evaluate("e => getComputedStyle(e).backgroundColor") != entropy_colour
        assert "metric=self_certainty" in page.url

        # The revision's diff sits beside the critique that caused it.
        revision = page.locator(f"#turn-{story.turn_ids[1]} .revision")
        assert revision.locator("del").all_inner_texts() == ["3", "32"]
        assert revision.locator("ins").all_inner_texts() == [" and carry 1", "+ 1 ", "4", "42"]
        feedback = revision.locator(".feedback").inner_text()
        assert "forgot the carry" in feedback and "expected 42, got 32" in feedback
        assert revision.locator(".feedback strong").inner_text() == "carry"  # markdown, sanitised
        gate = page.locator("#gate").inner_text()
        assert "verifier_rejected" in gate and "varentropy" in gate

        # Label the wrong first answer as correct (the grader accepted 32) with a comment.
        form = first_turn.locator("form.label-form")
        form.locator("input[value=correct]").check()
        form.locator("textarea[name=comment]").fill("Accepted on appeal: the question was ambiguous.")
        form.locator("button[type=submit]").click()
        page.wait_for_url("**labelled=1**")
        assert "Accepted on appeal" in page.locator(f"#turn-{story.turn_ids[0]} .rewards").inner_text()
        page.locator(f"#turn-{story.turn_ids[0]}").scroll_into_view_if_needed()
        s.screenshot("trajectory-labelled")

        # The export page downloads a file that honours the label.
        s.goto("/admin/export")
        page.check("input[name=format][value=raw]")
        page.select_option("select[name=has_human_label]", "true")
        with page.expect_download() as download_info:
            page.click("#download")
        path = download_info.value.path()
        rows_out = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        assert [r["id"] for r in rows_out] == [str(story.trajectory_id)]
        resolved = rows_out[0]["turns"][0]["resolved"]
        assert resolved["correct"] is True and resolved["human_label_id"] is not None
        _clean(s)
    with transaction(live.factory) as db:
        (label,) = [r for r in list_rewards(db, story.trajectory_id) if r.kind == "human"]
        assert label.source == "admin:bootstrap:0" and label.turn_id == story.turn_ids[0]


def _wait_status(origin: str, job_id: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
    while True:
        job = httpx.get(f"{origin}/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] == status:
            return dict(job)
        assert time.monotonic() < deadline, f"job stayed {job['status']}, wanted {status}: {job}"
        time.sleep(0.1)


def test_answering_an_escalation_resumes_the_job(live: Live) -> None:
    created = httpx.post(
        f"{live.origin}/v1/jobs",
        headers={"Authorization": f"Bearer {BOOTSTRAP_KEY}"},
        json={
            "graph": "self_critique",
            "input": {"prompt": "What is 40 plus 2?", "reference": "42", "verifier": "numeric"},
            "config": {"escalation": "human"},
        },
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    waiting = _wait_status(live.origin, job_id, "waiting_human")
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        s.goto("/admin/inbox")
        card = s.page.locator(f"#job-{job_id}")
        assert "What is 40 plus 2?" in card.inner_text()
        assert "regime_scattered" in card.inner_text()
        s.screenshot("inbox")
        card.locator("textarea[name=answer]").fill("42")
        card.locator("button[type=submit]").click()
        s.page.wait_for_url("**/admin/inbox?answered=**")
        assert "resumed" in s.page.locator(".notice").inner_text()
        done = _wait_status(live.origin, job_id, "succeeded")
        assert done["trajectory_id"] == waiting["trajectory_id"]
        s.goto(f"/admin/trajectories/{done['trajectory_id']}")
        timeline = s.page.locator("#timeline").inner_text()
        assert "human" in timeline and "escalate" in timeline
        assert "human_answer" in s.page.locator("#gate").inner_text()
        assert s.page.locator("#escalations").count() == 1
        _clean(s)
    assert len(live.local.calls) == 1  # resuming never re-asks the model


def test_hostile_outputs_execute_nothing_and_load_nothing(live: Live) -> None:
    seeded = seed_revision(
        live.factory,
        prompt=HOSTILE_TEXT,
        first=HOSTILE_TEXT,
        second=HOSTILE_TEXT + "\nrevised",
        critique=HOSTILE_TEXT,
        graph="<img src=x onerror=window.__pwned=1>",
        model='"><script>window.__pwned=1</script>',
        job_status="waiting_human",
    )
    with transaction(live.factory) as db:
        add_reward(
            db,
            seeded.trajectory_id,
            RewardData(kind="human", value=0.0, label=False, comment=HOSTILE_TEXT, source="x"),
        )
        turn = db.get(Turn, seeded.turn_ids[1])
        assert turn is not None
        turn.retrieved = [{"title": h, "content": h, "score": 1.0} for h in HOSTILE[:6]] + HOSTILE[6:9]
        turn.decision = {
            "action": "stop",
            "reason": HOSTILE[0],
            "inputs": {HOSTILE[1]: HOSTILE[2]},
            "thresholds": {},
        }
        db.add(
            Critique(
                turn_id=seeded.turn_ids[1],
                trajectory_id=seeded.trajectory_id,
                critic=HOSTILE[3],
                verdict=HOSTILE[4][:20],
                issues=HOSTILE[:3],
                feedback=HOSTILE_TEXT,
            )
        )
    failed = seed_failed_job(
        live.factory,
        with_trajectory=True,
        error=HOSTILE_TEXT,
        meta={HOSTILE[0]: HOSTILE[1], "batch": HOSTILE[3]},
    )
    # An unverified hostile answer is what the label queue shows first.
    seed_answer(
        live.factory, prompt=HOSTILE_TEXT, answer=" ".join(HOSTILE[:4]).replace("  ", " "), model=HOSTILE[3]
    )
    pages = [
        f"/admin/trajectories/{seeded.trajectory_id}",
        f"/admin/trajectories/{seeded.trajectory_id}?metric=self_certainty",
        f"/admin/trajectories/{seeded.trajectory_id}?metric=probability",
        f"/admin/trajectories/{failed.trajectory_id}",
        f"/admin/jobs/{failed.job_id}",
        "/admin/jobs?status=failed",
        "/admin/queue",
        f"/admin/compare?a={seeded.trajectory_id}&b={failed.trajectory_id}",
        "/admin/calibration",
        "/admin/trajectories?meta=script",
        "/admin/trajectories",
        "/admin/trajectories?q=script",
        "/admin/inbox",
        "/admin/dashboard",
        f"/admin/export?graph={uuid.uuid4()}",
    ]
    with chromium_session(live.origin) as s:
        log_in(s, BOOTSTRAP_KEY)
        for path in pages:
            s.goto(path)
            page = s.page
            for details in page.locator("details").all():
                details.evaluate("d => d.open = true")
            for tok in page.locator(".tok").all()[:40]:
                tok.hover()
            page.wait_for_timeout(50)
            assert page.evaluate("typeof window.__pwned") == "undefined", path
            dom = page.evaluate(DOM_AUDIT)
            assert dom["scripts"] == [f"{live.origin}/admin/static/admin.js"], (path, dom["scripts"])
            assert dom["handlers"] == [] and dom["active"] == 0 and dom["jsLinks"] == [], (path, dom)
        s.goto("/admin/queue")
        assert "window.__pwned" in s.page.locator("#queue-item .final-answer").inner_text()  # queued, as text
        s.goto(f"/admin/trajectories/{seeded.trajectory_id}")
        assert "window.__pwned = 'script'" in s.page.locator(".final-answer").inner_text()  # shown as text
        s.screenshot("hostile-trajectory")
        _clean(s)
        assert all(r.startswith(live.origin) for r in s.requests)
