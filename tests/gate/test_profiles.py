"""Gate profiles in the database: calibrated from stored verified attempts, versioned, one active per
model, and used by a job whose scorer is that model (unless its config overrides them)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from introspect.gate.calibrate import CalibrationSettings, NotEnoughDataError
from introspect.gate.profile import GateProfile
from introspect.gate.service import TargetNotMetError, calibrate_model, resolve_profile
from introspect.store.engine import transaction
from introspect.store.repositories import gate_profiles
from introspect.store.repositories.trajectories import (
    TurnData,
    VerificationData,
    create_trajectory,
    record_turn,
)
from introspect.store.tables import GateProfileRow
from tests.graphs.fakes import CONFIDENT, FakeProvider, Reply, ScriptedChatModel
from tests.graphs.harness import Harness, actions, harness_for


def store_history(
    factory: sessionmaker[Session], model: str, n_tasks: int, seed: int = 0, noise: bool = False
) -> None:
    """Verified attempts of ``model``: right answers have a low mean NLL (unless ``noise``)."""
    rng = random.Random(seed)
    with transaction(factory) as session:
        for task in range(n_tasks):
            traj = create_trajectory(session, graph="self_critique", task_prompt=f"task {task} {seed}")
            for index in range(2):
                right = rng.random() < 0.5
                nll = rng.random() if noise else abs(rng.gauss(0.1 if right else 0.9, 0.15))
                stats = {"mean_self_certainty": rng.gauss(10, 1), "mean_nll": nll, "mean_logprob": -nll,
                         "gnll": 4 * nll, "n_tokens": 8, "mean_entropy": nll,
                         "mean_margin": 2 - nll}  # fmt: skip
                turn = TurnData(
                    index=index, phase="generate" if index == 0 else "revise", attempt=index + 1,
                    output="x", model=model, stats=stats,
                    verifications=[VerificationData(verifier="numeric", passed=right)],
                )  # fmt: skip
                record_turn(session, traj.id, turn, None)


def test_calibrate_stores_versions_with_one_active(session_factory: sessionmaker[Session]) -> None:
    store_history(session_factory, "m1", 60)
    store_history(session_factory, "other", 5, seed=3)
    settings = CalibrationSettings(target_precision=0.8)
    with transaction(session_factory) as session:
        first = calibrate_model(session, "m1", settings=settings)
    assert first.stored and first.profile.version == 1 and first.profile.meets_target
    assert first.profile.figures["n"] == 120  # only m1's attempts
    assert first.profile.predictor is not None
    with transaction(session_factory) as session:
        second = calibrate_model(session, "m1", settings=settings)
        active = gate_profiles.active_profile_row(session, "m1")
        count = session.scalar(select(func.count()).select_from(GateProfileRow))
    assert second.profile.version == 2 and active is not None and active.version == 2 and count == 2
    with transaction(session_factory) as session:
        # Unknown weights: the model's newest active profile by name; unknown model: none.
        found = resolve_profile(session, "m1", "sha256:feed")
        assert found is not None and found.version == 2
        assert resolve_profile(session, "nobody") is None


def test_turns_named_with_a_weights_prefix_match_their_full_hash(
    session_factory: sessionmaker[Session],
) -> None:
    full = "abcdef123456" + "0" * 52
    store_history(session_factory, "m2@abcdef123456", 60)
    store_history(session_factory, "m2@ffffff000000", 60, seed=4)  # other weights of the same name
    settings = CalibrationSettings(target_precision=0.8)
    with transaction(session_factory) as session:
        mine = calibrate_model(session, "m2", weights_hash=full, settings=settings)
        anything = calibrate_model(session, "m2", settings=settings)
    assert mine.profile.figures["n"] == 120 and anything.profile.figures["n"] == 240
    with transaction(session_factory) as session:
        found = resolve_profile(session, "m2", full)
        assert found is not None and found.weights_hash == full
        other = resolve_profile(session, "m2", "ffffff000000" + "1" * 52)
        assert other is not None and other.weights_hash == ""  # falls back to the unpinned profile


def test_short_history_and_missed_targets_store_nothing(session_factory: sessionmaker[Session]) -> None:
    store_history(session_factory, "m1", 5)
    with transaction(session_factory) as session, pytest.raises(NotEnoughDataError, match=r"n=10 "):
        calibrate_model(session, "m1")
    store_history(session_factory, "noisy", 80, noise=True)
    strict = CalibrationSettings(target_precision=0.99)
    with transaction(session_factory) as session, pytest.raises(TargetNotMetError, match="not met"):
        calibrate_model(session, "noisy", settings=strict)
    with transaction(session_factory) as session:
        assert gate_profiles.list_profile_rows(session) == []
        flagged = calibrate_model(session, "noisy", settings=strict, accept_below_target=True)
    assert flagged.stored and not flagged.profile.meets_target
    assert flagged.profile.policy["stop_on_confidence"] is False


def test_catalog_seeding_is_idempotent(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        added = gate_profiles.seed_catalog_profiles(session)
    with transaction(session_factory) as session:
        assert gate_profiles.seed_catalog_profiles(session) == 0
        rows = gate_profiles.list_profile_rows(session)
    assert len(rows) == added and all(r.active and r.source == "catalog" for r in rows)


@dataclass
class NamedScorer:
    """A scorer the runner identifies by name (the job's answers carry their own stats here)."""

    name: str
    weights_hash: str = ""

    def score(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("not called: the answers have statistics")


@pytest.fixture
def harness(db_url: str, session_factory: sessionmaker[Session]) -> Any:
    with harness_for(db_url, session_factory) as h:
        yield h


def _run(harness: Harness, config: dict[str, Any]) -> dict[str, Any]:
    local = ScriptedChatModel(script=[Reply("Paris.", CONFIDENT), Reply("Paris!", CONFIDENT)])
    deps = harness.deps(FakeProvider({"local": local}, score=NamedScorer("m1")))
    outcome = harness.run("self_critique", {"prompt": "Capital of France?"}, {"max_turns": 2, **config}, deps)
    return harness.resource(outcome.trajectory_id)


def test_a_job_uses_its_scorer_models_active_profile(harness: Harness) -> None:
    # No profile: the defaults call these logits confident and stop at once.
    assert actions(_run(harness, {})) == [("generate", "stop", "confident")]
    with transaction(harness.session_factory) as session:
        profile = GateProfile(model_name="m1", policy={"stop_on_confidence": False}, figures={"n": 100})
        gate_profiles.save_profile(session, profile)
    resource = _run(harness, {})
    assert actions(resource) == [("generate", "revise", "low_confidence"), ("revise", "stop", "max_turns")]
    decision = resource["turns"][0]["decision"]
    assert decision["profile"]["model"] == "m1" and decision["profile"]["version"] == 1
    assert decision["thresholds"]["stop_on_confidence"] is False
    # config.gate overrides the profile key by key; gate_profile=false ignores it altogether.
    override = _run(harness, {"gate": {"stop_on_confidence": True}})
    assert actions(override) == [("generate", "stop", "confident")]
    assert actions(_run(harness, {"gate_profile": False})) == [("generate", "stop", "confident")]


def test_a_profiles_predictor_scores_each_attempt(harness: Harness) -> None:
    from introspect.gate.predictor import fit_predictor
    from tests.graphs.fakes import stats

    rows = [stats(certainty=10 + i % 5, nll=0.01 * i) for i in range(40)]
    predictor = fit_predictor(rows, [i < 20 for i in range(40)])  # low NLL: right
    with transaction(harness.session_factory) as session:
        policy = {"min_self_certainty": 0.0, "max_mean_nll": None, "min_predicted_correct": 0.5}
        gate_profiles.save_profile(session, GateProfile(model_name="m1", policy=policy, predictor=predictor))
    resource = _run(harness, {})
    turn = resource["turns"][0]
    p = predictor.predict(CONFIDENT)
    assert p is not None and p > 0.5
    assert turn["stats"]["p_correct"] == pytest.approx(p, abs=1e-6)
    assert turn["decision"]["inputs"]["predicted_correct"] == pytest.approx(p)
    assert actions(resource) == [("generate", "stop", "confident")]


def test_sample_identity_reads_where_each_writer_records_the_weights() -> None:
    full = "ab" * 32
    assert gate_profiles.sample_identity("m", {"weights_hash": full}) == ("m", full)  # local model
    assert gate_profiles.sample_identity("m@abababababab", {}) == ("m", "abababababab")
    remote = {"scorer": "smol", "scorer_weights_hash": full}  # a remote answer the scorer read
    assert gate_profiles.sample_identity("gpt-x", remote) == ("smol", full)
