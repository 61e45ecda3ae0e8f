"""``introspect gate calibrate|profiles``: a stored profile and its figures, or one clear error line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from introspect.cli.main import app
from introspect.config import get_settings
from tests.gate.test_profiles import store_history


@pytest.fixture
def configured(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    from introspect.store.engine import make_engine, make_session_factory

    monkeypatch.setenv("INTROSPECT_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()
    get_settings.cache_clear()


def test_calibrate_then_list(configured: sessionmaker[Session]) -> None:
    store_history(configured, "m1", 60)
    result = CliRunner().invoke(app, ["gate", "calibrate", "--model", "m1", "--precision-target", "0.8"])
    assert result.exit_code == 0, result.output
    assert "m1 stored as version 1" in result.output and "held-out precision" in result.output
    listed = CliRunner().invoke(app, ["gate", "profiles"])
    assert listed.exit_code == 0 and listed.stdout.startswith("* m1@- v1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "m1"], "not enough verified data for model 'm1': n=10"),
        (["--model", "m1", "--since", "yesterday"], "neither ISO 8601 nor a duration"),
        (["--model", "m1", "--precision-target", "2"], "--precision-target"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(
    configured: sessionmaker[Session], args: list[str], message: str
) -> None:
    store_history(configured, "m1", 5)
    result = CliRunner().invoke(app, ["gate", "calibrate", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_missed_target_stores_nothing_unless_accepted(configured: sessionmaker[Session]) -> None:
    store_history(configured, "noisy", 80, noise=True)
    args = ["gate", "calibrate", "--model", "noisy", "--precision-target", "0.99"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "not met" in result.output
    assert "no gate profiles stored" in CliRunner().invoke(app, ["gate", "profiles"]).output
    accepted = CliRunner().invoke(app, [*args, "--accept-below-target"])
    assert accepted.exit_code == 0 and "below target" in accepted.output
