"""The /admin router, assembled from one small router per page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from introspect.admin.pages import (
    auth,
    calibration,
    compare,
    dashboard,
    detail,
    export,
    inbox,
    jobs,
    labels,
    queue,
    trajectories,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(prefix="/admin", include_in_schema=False)
for _page in (
    auth,
    trajectories,
    detail,
    labels,
    jobs,
    queue,
    compare,
    inbox,
    dashboard,
    calibration,
    export,
):
    router.include_router(_page.router)


def static_files() -> StaticFiles:
    """The vendored CSS and JS, mounted at /admin/static (no CDN: the CSP allows only this origin)."""
    return StaticFiles(directory=STATIC_DIR)
