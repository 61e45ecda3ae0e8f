"""View-models as pure functions: heatmap buckets, word diffs, ROC-AUC, reliability, SVG, markdown."""

from __future__ import annotations

import itertools
import math
import random

from introspect.admin.markdown import render_markdown
from introspect.admin.svg import bar_chart, reliability_chart, roc_chart
from introspect.admin.views.calibration import METRICS, calibrate, reliability, roc_auc, roc_curve
from introspect.admin.views.diff import word_diff
from introspect.admin.views.heatmap import ENTROPY_SCALE, SC_SCALE, build_heatmap
from tests.admin.seed import compact_stats


def test_heatmap_reads_the_compact_token_stats_format() -> None:
    stats = compact_stats(["The", " answer", " is", " 4", "2", "\n"], [0.0, 0.5, 1.0, 2.0, 0.1, 0.2])
    heat = build_heatmap(stats)
    assert heat is not None and heat.exact and heat.has_self_certainty
    assert [c.text for c in heat.cells][:5] == ["The", " answer", " is", " 4", "2"]
    assert heat.cells[5].text == "↵\n"  # a bare newline stays hoverable
    cells = heat.cells
    # Fixed edges: 0 nats is the calmest bucket, 2.0 nats the hottest, 0.5 nats sits at bucket 5.
    assert [c.entropy_bucket for c in cells] == [0, 5, 7, 9, 2, 3]
    # Self-certainty is hot where it is low (8 - 2h here): 8 nats -> bucket 3, 4 nats -> bucket 5.
    assert cells[0].sc_bucket == 3 and cells[3].sc_bucket == 5
    # Chosen-token probability exp(-0.05 - 0.4 h): 0.95 -> calmest, 0.42 (h = 2) -> bucket 6.
    assert cells[0].prob_bucket == 0 and cells[3].prob_bucket == 6
    assert cells[1].logprob is not None and math.isclose(cells[1].logprob, -0.25, rel_tol=1e-4)
    assert cells[1].alternatives[0][0] == " answer" and len(cells[1].alternatives) == 3
    assert '" answer"' in cells[1].alternatives_json


def test_heatmap_handles_non_finite_and_missing_values() -> None:
    stats = compact_stats(["a", "b"], [0.5, 1.0])
    stats["logprob"][0] = None  # -inf: a masked token
    stats["entropy"][1] = None  # unknown
    stats["self_certainty"] = None  # backend without the full logits row
    stats["tokens"] = None  # ids only
    heat = build_heatmap(stats)
    assert heat is not None and not heat.has_self_certainty
    assert heat.cells[0].logprob == -math.inf
    assert heat.cells[1].entropy is not None and math.isnan(heat.cells[1].entropy)
    assert heat.cells[1].entropy_bucket == -1 and heat.cells[0].sc_bucket == -1
    assert heat.cells[0].text == "⟨100⟩"
    assert build_heatmap(None) is None


def test_heatmap_scales_are_fixed_and_documented_by_their_legend() -> None:
    # The same value lands in the same bucket whatever else the trajectory holds.
    assert ENTROPY_SCALE.bucket(0.03) == 0 and ENTROPY_SCALE.bucket(1.6) == 8
    assert ENTROPY_SCALE.bucket(100.0) == 9 and SC_SCALE.bucket(20.0) == 0 and SC_SCALE.bucket(0.5) == 9
    legend = ENTROPY_SCALE.legend()
    assert len(legend) == 10 and legend[0] == (0, "< 0.05") and legend[-1] == (9, "≥ 2")
    assert SC_SCALE.legend()[0] == (0, "≥ 14") and SC_SCALE.legend()[-1] == (9, "< 1")


def test_word_diff_marks_changed_words_and_rebuilds_both_texts() -> None:
    before, after = "The answer is 41.\nDone", "The answer is 42.\nDone"
    d = word_diff(before, after)
    assert d.changed and d.inserted == 1 and d.deleted == 1
    assert [s.text for s in d.segments if s.op == "delete"] == ["41"]
    assert [s.text for s in d.segments if s.op == "insert"] == ["42"]
    assert "".join(s.text for s in d.segments if s.op != "insert") == before
    assert "".join(s.text for s in d.segments if s.op != "delete") == after
    assert not word_diff("same", "same").changed


def test_roc_auc_matches_pairwise_definition_with_ties() -> None:
    rng = random.Random(7)
    scores = [round(rng.random(), 1) for _ in range(60)]
    labels = [rng.random() < 0.3 + 0.5 * s for s in scores]
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    pairwise = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
    auc = roc_auc(scores, labels)
    assert auc is not None and math.isclose(auc, pairwise)
    assert roc_auc([1.0, 2.0], [True, True]) is None
    curve = roc_curve(scores, labels)
    assert curve[0] == (0.0, 0.0) and curve[-1] == (1.0, 1.0)
    # Trapezoid area under the curve equals the rank statistic.
    area = sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in itertools.pairwise(curve))
    assert math.isclose(area, pairwise)


def test_reliability_bins_and_calibrate() -> None:
    bins = reliability([0.05, 0.15, 0.95, 1.0], [False, True, True, True])
    assert [(b.count, b.accuracy) for b in bins] == [(1, 0.0), (1, 1.0), (2, 1.0)]
    samples = [({"mean_logprob": -0.1 * i, "mean_entropy": 0.2 * i}, i < 5) for i in range(10)]
    by_key = {c.spec.key: c for c in (calibrate(spec, samples) for spec in METRICS)}
    assert by_key["mean_logprob"].auc == 1.0 and by_key["mean_entropy"].auc == 1.0
    assert by_key["mean_self_certainty"].n == 0 and by_key["mean_self_certainty"].auc is None
    assert by_key["mean_logprob"].x_label == "confidence"


def test_svg_charts_escape_labels() -> None:
    hostile = "</text><script>alert(1)</script>"
    out = str(bar_chart([(hostile, 3.0)], title=hostile))
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert str(roc_chart([(0.0, 0.0), (0.5, 0.8), (1.0, 1.0)], title="roc")).count("<polyline") == 1
    rel = reliability([0.2, 0.8], [False, True])
    assert str(reliability_chart(rel, title="r", x_label="<b>")).count('class="bin"') == 2


def test_markdown_has_no_raw_html_and_no_dangerous_links() -> None:
    html = str(
        render_markdown(
            "**hi** <script>alert(1)</script> [x](javascript:alert(1)) ![i](http://evil.example/i.png)"
        )
    )
    assert "<strong>hi</strong>" in html
    assert "<script" not in html and "javascript:" not in html.replace("[x](javascript:", "")
    assert "<img" not in html and "evil.example" not in html
    assert str(render_markdown("[ok](https://example.org)")).count('rel="noopener noreferrer nofollow"') == 1


def test_waterfall_places_model_calls_before_the_rest_of_each_interval() -> None:
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from introspect.admin.views.waterfall import build_waterfall

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    job = SimpleNamespace(created_at=t0 - timedelta(milliseconds=100))
    traj = SimpleNamespace(created_at=t0, finished_at=t0 + timedelta(milliseconds=2600))
    turns = [
        SimpleNamespace(
            index=0, phase="generate", model="m", latency_ms=1000.0, created_at=t0 + timedelta(seconds=1.5)
        ),
        # The critic's call is written with the attempt it judged (one record_turns batch).
        SimpleNamespace(
            index=1, phase="critique", model="c", latency_ms=200.0, created_at=t0 + timedelta(seconds=1.5)
        ),
        SimpleNamespace(
            index=2, phase="revise", model="m", latency_ms=800.0, created_at=t0 + timedelta(seconds=2.5)
        ),
    ]
    w = build_waterfall(traj, job, turns)  # type: ignore[arg-type]
    steps = [(s.label, s.kind, round(s.start_ms), round(s.duration_ms)) for s in w.steps]
    assert steps == [
        ("queued → started", "wait", 0, 100),
        ("#0 generate · m", "model", 100, 1000),
        ("#1 critique · c", "model", 1100, 200),
        ("#0, 1 setup · score · verify · gate · write", "other", 1300, 300),
        ("#2 revise · m", "model", 1600, 800),
        ("#2 score · verify · gate · write", "other", 2400, 200),
        ("finish (rewards, settle)", "finish", 2600, 100),
    ]
    assert round(w.model_ms) == 2000 and round(w.other_ms) == 500 and round(w.total_ms) == 2700
