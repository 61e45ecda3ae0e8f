"""/v1/trajectories/{id}: the whole trajectory, shaped like ``introspect run --json``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from introspect.api.deps import CallerDep, SessionFactoryDep
from introspect.api.routes.jobs import ERRORS
from introspect.api.services.jobs import NotFoundError
from introspect.runner.resource import trajectory_resource
from introspect.store.engine import transaction

router = APIRouter(prefix="/trajectories", tags=["trajectories"])


@router.get("/{trajectory_id}", responses=ERRORS)
def get_trajectory(
    trajectory_id: uuid.UUID, _caller: CallerDep, factory: SessionFactoryDep
) -> dict[str, Any]:
    """All turns with stats, gate decisions, verifications, critiques and rewards."""
    with transaction(factory) as session:
        resource = trajectory_resource(session, trajectory_id)
    if resource is None:
        raise NotFoundError(f"trajectory {trajectory_id} not found")
    return resource
