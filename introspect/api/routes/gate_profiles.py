"""/v1/gate/profiles: list per-model gate profiles; calibrate one from stored verified attempts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from introspect.api.deps import CallerDep, SessionFactoryDep
from introspect.api.routes.jobs import ERRORS
from introspect.gate.calibrate import CalibrationSettings, NotEnoughDataError
from introspect.gate.profile import split_model_ref
from introspect.gate.service import TargetNotMetError, calibrate_model
from introspect.store.engine import transaction
from introspect.store.repositories import gate_profiles
from introspect.store.tables import GateProfileRow

router = APIRouter(prefix="/gate/profiles", tags=["gate"])

ModelName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:/@+-]+$")]


class CalibrateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelName
    weights_hash: str = Field(default="", max_length=128, pattern=r"^[A-Za-z0-9:_-]*$")
    since: datetime | None = None
    precision_target: float = Field(default=0.9, ge=0.5, le=1.0)
    min_samples: int = Field(default=40, ge=10, le=1_000_000)
    accept_below_target: bool = False
    dry_run: bool = False


_PROFILE_EXAMPLE: dict[str, Any] = {
    "id": "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b",
    "model_name": "local",
    "weights_hash": "",
    "version": 2,
    "active": True,
    "meets_target": True,
    "source": "calibrated",
    "policy": {"min_self_certainty": 1.2},
    "predictor": None,
    "figures": {"precision": 0.92, "n": 120},
    "created_at": "2026-12-03T19:00:00Z",
}


class GateProfileResource(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PROFILE_EXAMPLE]})

    id: str | None
    model_name: str
    weights_hash: str
    version: int
    active: bool
    meets_target: bool
    source: str
    policy: dict[str, Any]
    predictor: dict[str, Any] | None
    figures: dict[str, Any]
    created_at: datetime | None


class GateProfileList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"data": [_PROFILE_EXAMPLE]}]})

    data: list[GateProfileResource]


def _resource(row: GateProfileRow) -> GateProfileResource:
    return GateProfileResource(
        id=str(row.id),
        model_name=row.model_name,
        weights_hash=row.weights_hash,
        version=row.version,
        active=row.active,
        meets_target=row.meets_target,
        source=row.source,
        policy=row.policy,
        predictor=row.predictor,
        figures=row.figures,
        created_at=row.created_at,
    )


@router.get("", response_model=GateProfileList, responses=ERRORS)
def list_profiles(
    _caller: CallerDep,
    factory: SessionFactoryDep,
    model: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> GateProfileList:
    """Stored profiles, newest version first per model; ``active`` marks the one jobs use."""
    with transaction(factory) as session:
        return GateProfileList(data=[_resource(r) for r in gate_profiles.list_profile_rows(session, model)])


@router.post(
    "/calibrate",
    status_code=status.HTTP_201_CREATED,
    response_model=GateProfileResource,
    responses={200: {"model": GateProfileResource, "description": "dry run: nothing stored"}, **ERRORS},
)
def calibrate(
    body: CalibrateRequest, response: Response, _caller: CallerDep, factory: SessionFactoryDep
) -> Any:
    """Calibrate ``model`` from its verified attempts; the result becomes its active profile.

    422 when there is not enough verified data, or when the stop rule's held-out precision misses
    ``precision_target`` (the figures come back; nothing is stored unless ``accept_below_target``)."""
    since = body.since if body.since is None or body.since.tzinfo else body.since.replace(tzinfo=UTC)
    settings = CalibrationSettings(target_precision=body.precision_target, min_samples=body.min_samples)
    model, at_weights = split_model_ref(body.model)  # "name@sha256", as turns record local models
    weights_hash = body.weights_hash or at_weights
    try:
        with transaction(factory) as session:
            outcome = calibrate_model(
                session,
                model,
                weights_hash=weights_hash,
                since=since,
                settings=settings,
                accept_below_target=body.accept_below_target,
                store=not body.dry_run,
            )
            stored_id = outcome.profile.id if outcome.stored else None
            row = None if stored_id is None else session.get(GateProfileRow, uuid.UUID(stored_id))
            resource = None if row is None else _resource(row)
    except NotEnoughDataError as exc:
        return JSONResponse(status_code=422, content={"detail": str(exc)})
    except TargetNotMetError as exc:
        return JSONResponse(status_code=422, content={"detail": str(exc), "figures": exc.calibration.figures})
    if resource is not None:
        response.headers["Location"] = f"/v1/gate/profiles?model={quote(body.model, safe='')}"
        return resource
    profile = outcome.profile
    return JSONResponse(
        status_code=200,
        content=GateProfileResource(id=None, active=False, created_at=None, **profile.to_json()).model_dump(
            mode="json"
        ),
    )
