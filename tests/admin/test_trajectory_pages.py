"""The pages through the real app: list, detail, labels (seen in an export), inbox, dashboard, export."""

from __future__ import annotations

import json
import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories.trajectories import list_rewards
from introspect.store.tables import Job
from tests.admin.conftest import ORIGIN
from tests.admin.hostile import HOSTILE, HOSTILE_TEXT, audit_html
from tests.admin.seed import seed_revision
from tests.admin.seed_cases import seed_answer, seed_failed_job


def test_list_filters_search_and_pages(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    for n in range(53):
        seed_revision(
            session_factory, prompt=f"Question {n}: what is {n} + 1?", graph="g-a" if n % 2 else "g-b"
        )
    seed_revision(session_factory, prompt="A rare walrus question", graph="g-c")
    first = admin_client.get("/admin/trajectories")
    assert first.status_code == 200
    assert first.text.count('<tr class="row">') == 50
    assert "walrus" in first.text  # newest first
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_url is not None
    second = admin_client.get(next_url.group(1).replace("&amp;", "&"))
    assert second.text.count('<tr class="row">') == 4 and 'rel="next"' not in second.text
    assert "Question 0:" in second.text
    filtered = admin_client.get("/admin/trajectories?graph=g-c&success=yes&status=succeeded&decision=revise")
    assert filtered.text.count('<tr class="row">') == 1 and "walrus" in filtered.text
    assert admin_client.get("/admin/trajectories?q=walrus").text.count('<tr class="row">') == 1
    assert "No trajectory matches" in admin_client.get("/admin/trajectories?q=walrus&graph=g-a").text
    bad = admin_client.get("/admin/trajectories?date_from=yesterday&cursor=nonsense&success=maybe")
    assert bad.status_code == 200 and "not a date" in bad.text and "no longer valid" in bad.text


def test_detail_shows_heatmap_diff_gate_and_labels_reach_the_export(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    seeded = seed_revision(session_factory)
    page = admin_client.get(f"/admin/trajectories/{seeded.trajectory_id}")
    assert page.status_code == 200
    html = page.text
    assert html.count('class="tok ') == 8  # 4 + 4 tokens, one span each
    assert 'data-h="0.1"' in html and "data-alts=" in html
    assert "<del>41</del>" in html and "<ins>42</ins>" in html
    assert "The sum is off by one" in html and "expected 42, got 41" in html
    assert "verifier_failed" in html and "max_turns" in html
    wrong_turn = seeded.turn_ids[0]
    saved = admin_client.post(
        f"/admin/trajectories/{seeded.trajectory_id}/labels",
        data={
            "turn_id": str(wrong_turn),
            "verdict": "correct",
            "value": "",
            "comment": "41 was accepted by the grader",
        },
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith(f"#turn-{wrong_turn}")
    assert "41 was accepted by the grader" in admin_client.get(saved.headers["location"]).text
    with transaction(session_factory) as s:
        (label,) = [r for r in list_rewards(s, seeded.trajectory_id) if r.kind == "human"]
        assert (label.turn_id, label.value, label.label, label.source) == (
            wrong_turn,
            1.0,
            True,
            "admin:bootstrap:0",
        )
    export = admin_client.get("/admin/export/download?format=raw&has_human_label=true")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    (row,) = [json.loads(line) for line in export.text.splitlines()]
    first_turn = row["turns"][0]
    assert first_turn["resolved"]["human_label_id"] == str(label.id)
    assert first_turn["resolved"]["correct"] is True
    assert any(r["comment"] == "41 was accepted by the grader" for r in first_turn["rewards"])


def test_label_validation(admin_client: TestClient, session_factory: sessionmaker[Session]) -> None:
    seeded = seed_revision(session_factory)
    path = f"/admin/trajectories/{seeded.trajectory_id}/labels"
    assert admin_client.post(path, data={"verdict": "", "value": ""}, headers=ORIGIN).status_code == 422
    assert admin_client.post(path, data={"value": "inf"}, headers=ORIGIN).status_code == 422
    assert admin_client.post(path, data={"value": "99"}, headers=ORIGIN).status_code == 422
    assert admin_client.post(path, data={"verdict": "maybe"}, headers=ORIGIN).status_code == 422
    other = seed_revision(session_factory)
    stray = {"verdict": "correct", "turn_id": str(other.turn_ids[0])}
    assert admin_client.post(path, data=stray, headers=ORIGIN).status_code == 404
    assert admin_client.post(path, data={"value": "0.5"}, headers=ORIGIN).status_code == 200
    assert admin_client.get(f"/admin/trajectories/{uuid.uuid4()}").status_code == 404
    assert admin_client.get("/admin/trajectories/not-a-uuid").status_code == 404


def test_hostile_text_is_escaped_everywhere(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    seeded = seed_revision(
        session_factory,
        prompt=HOSTILE_TEXT,
        first=HOSTILE_TEXT,
        second=HOSTILE_TEXT + " fixed",
        critique=HOSTILE_TEXT,
        graph="<b>graph</b>",
        model="<img src=x onerror=alert(1)>",
        job_status="waiting_human",
    )
    admin_client.post(
        f"/admin/trajectories/{seeded.trajectory_id}/labels",
        data={"verdict": "incorrect", "comment": HOSTILE_TEXT},
        headers=ORIGIN,
    )
    failed = seed_failed_job(
        session_factory,
        with_trajectory=True,
        error=HOSTILE_TEXT,
        meta={HOSTILE[0]: HOSTILE[1], "batch": HOSTILE[3]},
    )
    # The audit itself finds the corpus dangerous when it is not escaped.
    assert len(audit_html(HOSTILE_TEXT)) >= 10
    pages = [
        f"/admin/trajectories/{seeded.trajectory_id}",
        "/admin/trajectories",
        "/admin/trajectories?meta=%3Cscript%3E&tag=%22%3E%3Cscript%3E",
        "/admin/inbox",
        "/admin/dashboard",
        "/admin/dashboard?model=%3Cscript%3E&tag=%3Cimg%20src=x%3E",
        "/admin/calibration?model=%3Cscript%3E",
        "/admin/jobs",
        f"/admin/jobs/{failed.job_id}",
        f"/admin/trajectories/{failed.trajectory_id}",
        "/admin/queue?skip=%3Cscript%3E",
        f"/admin/compare?a={seeded.trajectory_id}&b=%3Cscript%3E",
        "/admin/export?graph=%3Cscript%3Ex%3C/script%3E",
    ]
    for path in pages:
        page = admin_client.get(path)
        assert page.status_code == 200, path
        assert audit_html(page.text) == [], path
        assert "window.__pwned" in page.text or path != pages[0]  # the text is there, as text


def test_inbox_answer_resumes_the_job(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    seeded = seed_revision(session_factory, job_status="waiting_human", prompt="Escalated: what is 6 x 7?")
    assert seeded.job_id is not None
    inbox = admin_client.get("/admin/inbox")
    assert "Escalated: what is 6 x 7?" in inbox.text and str(seeded.job_id) in inbox.text
    empty = admin_client.post(f"/admin/inbox/{seeded.job_id}/answer", data={"answer": "  "}, headers=ORIGIN)
    assert empty.status_code == 422
    answered = admin_client.post(
        f"/admin/inbox/{seeded.job_id}/answer", data={"answer": "42", "comment": "by hand"}, headers=ORIGIN
    )
    assert answered.status_code == 200 and "resumed" in answered.text
    with transaction(session_factory) as s:
        job = s.get(Job, seeded.job_id)
        assert job is not None and job.status == "queued"
        assert job.resume_value == {"answer": "42", "comment": "by hand"}
    again = admin_client.post(f"/admin/inbox/{seeded.job_id}/answer", data={"answer": "43"}, headers=ORIGIN)
    assert again.status_code == 409
    assert (
        admin_client.post(
            f"/admin/inbox/{uuid.uuid4()}/answer", data={"answer": "1"}, headers=ORIGIN
        ).status_code
        == 404
    )


def test_dashboard_and_export_page(admin_client: TestClient, session_factory: sessionmaker[Session]) -> None:
    for _ in range(3):
        seed_revision(session_factory)
    dashboard = admin_client.get("/admin/dashboard")
    assert dashboard.status_code == 200
    html = dashboard.text
    assert html.count("<svg") >= 4  # three bar charts and the accuracy@t curves
    # RISE figures: every seeded task is wrong at turn 1 and right at turn 2.
    assert 'id="rise-models"' in html and "0.0% → 100.0%" in html
    assert admin_client.get("/admin/dashboard?window=0&since=nope").status_code == 200
    calibration = admin_client.get("/admin/calibration").text
    assert calibration.count("<svg") >= 2 * 7 and 'id="calibration-table"' in calibration  # ROC + reliability
    assert "demo-llama" in calibration and "self-certainty (mean)" in calibration
    export = admin_client.get("/admin/export")
    assert export.status_code == 200 and 'value="rise-fastchat"' in export.text
    bad = admin_client.get("/admin/export/download?format=rise&tau=-1")
    assert bad.status_code == 422 and "tau" in bad.text
    unknown = admin_client.get("/admin/export/download?format=nope")
    assert unknown.status_code == 422 and "unknown export format" in unknown.text
    ok = admin_client.get("/admin/export/download?format=sft&dedup=true&tau=0.4&success=")
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/x-ndjson")


def test_batch_tags_filter_the_list_and_split_the_rise_figures(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    seed_answer(session_factory, prompt="alpha one", answer="4", success=True, batch="gsm8k-a")
    seed_answer(session_factory, prompt="alpha two", answer="5", success=False, batch="gsm8k-a")
    seed_answer(
        session_factory, prompt="beta one", answer="6", success=True, batch="gsm8k-b", model="smollm2"
    )
    seed_answer(
        session_factory, prompt="tagged by metadata", answer="7", success=True, meta={"run": "manual-3"}
    )
    listed = admin_client.get("/admin/trajectories?tag=gsm8k-a").text
    assert listed.count('<tr class="row">') == 2 and "alpha one" in listed and "beta" not in listed
    assert '<option value="gsm8k-b">' in listed  # the batch names are suggested
    assert admin_client.get("/admin/trajectories?tag=manual-3").text.count('<tr class="row">') == 1
    html = admin_client.get("/admin/dashboard").text
    tags = html[html.index('id="rise-tags"') :]
    tags = tags[: tags.index("</table>")]
    assert "gsm8k-a" in tags and "gsm8k-b" in tags and "manual-3" in tags
    assert re.search(r"gsm8k-a</td><td[^>]*>2</td>", tags)  # two tasks, one of them solved
    chosen = admin_client.get("/admin/dashboard?tag=gsm8k-b&model=smollm2").text
    assert "1 of them matching" in chosen
