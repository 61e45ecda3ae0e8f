"""``introspect gate calibrate|profiles``: per-model gate profiles from stored, verified attempts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from introspect.config import get_settings
from introspect.gate.calibrate import CalibrationSettings, NotEnoughDataError
from introspect.gate.profile import split_model_ref
from introspect.gate.service import TargetNotMetError, calibrate_model
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories import gate_profiles

app = typer.Typer(
    help="Per-model gate profiles (calibrated thresholds + learned predictor).", no_args_is_help=True
)
console = Console(stderr=True)
_RELATIVE = re.compile(r"^(\d+)([dh])$")


def parse_since(value: str | None) -> datetime | None:
    """ISO 8601 (naive = UTC), or a relative ``7d`` / ``12h``."""
    if value is None:
        return None
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return datetime.now(UTC) - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither ISO 8601 nor a duration like 7d or 12h", param_hint="--since"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _summary(figures: dict[str, Any]) -> str:
    stop = figures.get("heldout_stop") or {}
    aurocs = figures.get("auroc") or {}
    best = figures.get("best_single_metric")
    target = figures.get("target_precision")
    return (
        f"n={figures.get('n')} (fit {figures.get('n_fit')}, held-out {figures.get('n_heldout')}), "
        f"accuracy {figures.get('accuracy')}; stop rule {figures.get('stop_rule')}: held-out precision "
        f"{stop.get('precision')} at coverage {stop.get('coverage')} (target {target}); "
        f"predictor AUROC {figures.get('predictor_auroc')} vs best single metric {best} "
        f"{aurocs.get(best) if best else None}; ECE {figures.get('ece', {}).get('predictor')}"
    )


@app.command("calibrate")
def calibrate_command(
    model: str = typer.Option(..., "--model", help="Scorer model name, as recorded on its turns."),
    weights_hash: str = typer.Option("", "--weights-hash", help="Only turns of these weights (default any)."),
    since: str | None = typer.Option(None, help="Only attempts since (ISO 8601, or 7d / 12h)."),
    precision_target: float = typer.Option(
        0.9, "--precision-target", min=0.5, max=1.0, help="Held-out precision the stop rule must reach."
    ),
    min_samples: int = typer.Option(40, "--min-samples", min=10, help="Verified attempts needed at least."),
    accept_below_target: bool = typer.Option(
        False, help="Store a profile that never stops on logits alone when the target is missed."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report the figures; store nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON on stdout."),
) -> None:
    """Derive MODEL's gate profile from its verified attempts; it becomes the active profile.
    MODEL may be ``name@sha256`` (as turns record local models) to pick one set of weights."""
    since_at = parse_since(since)
    model, at_weights = split_model_ref(model)
    weights_hash = weights_hash or at_weights
    settings = CalibrationSettings(target_precision=precision_target, min_samples=min_samples)
    url = get_settings().resolved_database_url
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            outcome = calibrate_model(
                session,
                model,
                weights_hash=weights_hash,
                since=since_at,
                settings=settings,
                accept_below_target=accept_below_target,
                store=not dry_run,
            )
    except NotEnoughDataError as exc:
        raise _fail(str(exc)) from None
    except TargetNotMetError as exc:
        console.print(_summary(exc.calibration.figures), highlight=False, soft_wrap=True)
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        redacted = make_url(url).render_as_string(hide_password=True)
        raise _fail(
            f"cannot read {redacted}: {exc.__class__.__name__} (has `introspect db upgrade` been run?)"
        ) from None
    finally:
        engine.dispose()
    profile = outcome.profile
    if as_json:
        print(json.dumps(profile.to_json(), indent=2))
    state = "stored as" if outcome.stored else "not stored (dry run):"
    flag = "" if profile.meets_target else " [yellow](below target: logit-only stops off)[/yellow]"
    console.print(f"[green]{model}[/green] {state} version {profile.version}{flag}", highlight=False)
    console.print(_summary(profile.figures), highlight=False, soft_wrap=True)


@app.command("profiles")
def profiles_command(
    model: str | None = typer.Option(None, "--model", help="Only this model's profiles."),
) -> None:
    """List stored gate profiles (newest version first; * = active)."""
    url = get_settings().resolved_database_url
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            rows = [
                (r.active, gate_profiles.to_profile(r), r.created_at)
                for r in gate_profiles.list_profile_rows(session, model)
            ]
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read gate profiles: {exc.__class__.__name__}") from None
    finally:
        engine.dispose()
    if not rows:
        console.print("no gate profiles stored" + (f" for {model!r}" if model else ""))
        return
    for active, profile, created in rows:
        mark = "*" if active else " "
        key = f"{profile.model_name}@{profile.weights_hash[:12] or '-'} v{profile.version}"
        print(f"{mark} {key:<48} {profile.source:<10} {created:%Y-%m-%d %H:%M} {_summary(profile.figures)}")
