"""The calibration page per model: each metric's AUROC/ECE from stored verified attempts (checked
against scikit-learn), and the model's gate profile in force with its learned predictor scored."""

from __future__ import annotations

import math
import re

from fastapi.testclient import TestClient
from sklearn.metrics import roc_auc_score
from sqlalchemy.orm import Session, sessionmaker

from introspect.admin.views.calibration import METRICS, PREDICTOR, calibrate
from introspect.gate.predictor import CorrectnessPredictor
from introspect.gate.profile import GateProfile
from introspect.store.engine import transaction
from introspect.store.repositories.gate_profiles import save_profile
from tests.admin.seed_cases import seed_answer


def test_auroc_matches_scikit_learn_and_the_predictor_is_a_probability() -> None:
    samples = [
        ({"mean_entropy": 0.1 * (i % 7), "predicted_correct": 0.9 - 0.1 * (i % 7)}, i % 7 < 3)
        for i in range(40)
    ]
    by_key = {c.spec.key: c for c in (calibrate(spec, samples) for spec in (*METRICS, PREDICTOR))}
    labels = [ok for _, ok in samples]
    expected = roc_auc_score(labels, [-m["mean_entropy"] for m, _ in samples])
    auc = by_key["mean_entropy"].auc
    assert auc is not None and math.isclose(auc, expected)
    predictor = by_key["predicted_correct"]
    assert predictor.x_label == "predicted P(correct)" and predictor.auc is not None and predictor.auc > 0.9
    assert predictor.ece is not None and 0 <= predictor.ece <= 1


def test_calibration_page_per_model_with_the_gate_profile(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    for i in range(6):
        right = i % 2 == 0
        seed_answer(
            session_factory, prompt=f"q{i}", answer="a b c", success=right, model="tiny-a",
            entropies=[0.05, 0.1, 0.1] if right else [0.9, 1.2, 1.5],
        )  # fmt: skip
    seed_answer(session_factory, prompt="other", answer="x y", success=True, model="tiny-b")
    seed_answer(
        session_factory, prompt="other2", answer="x y", success=False, model="tiny-b", entropies=[1, 1]
    )
    predictor = CorrectnessPredictor(("mean_entropy",), (0.5,), (0.4,), (-3.0,), 0.0)
    with transaction(session_factory) as s:
        save_profile(
            s,
            GateProfile(
                model_name="tiny-a", policy={"min_predicted_correct": 0.7}, predictor=predictor,
                figures={"precision": 0.93}, meets_target=True,
            ),
        )  # fmt: skip
    page = admin_client.get("/admin/calibration")
    assert page.status_code == 200
    html = page.text
    table = html[html.index('id="calibration-table"') : html.index("</table>")]
    assert "tiny-a" in table and "tiny-b" in table and "v1" in table
    # The predictor separates right from wrong perfectly here: its AUROC cell reads 1.
    row = re.search(r"tiny-a</a>.*?</tr>", table, re.S)
    assert row is not None and row.group(0).count("1 / ") >= 2
    assert (
        'id="gate-profile"' in html
        and "min_predicted_correct" in html
        and "meets its precision target" in html
    )
    assert "learned predictor P(correct)" in html
    other = admin_client.get("/admin/calibration?model=tiny-b").text
    assert "No calibrated profile for this model" in other
    assert admin_client.get("/admin/calibration?window=x&since=y&tag=nope").status_code == 200
