"""Admin web view of trajectories (server-rendered; design.md §7 security promises).

Mounted by ``introspect.api.app.create_app``::

    app.include_router(admin_router)
    app.mount("/admin/static", admin_static_files(), name="admin-static")
    app.add_middleware(AdminSecurityMiddleware)

The names load on first use (PEP 562), so importing a view-model module does not import every page
and, through them, the API and export packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

    from introspect.admin.routes import static_files
    from introspect.admin.security import AdminSecurityMiddleware

    router: APIRouter

__all__ = ["AdminSecurityMiddleware", "router", "static_files"]


def __getattr__(name: str) -> Any:
    if name in ("router", "static_files"):
        from introspect.admin import routes

        return getattr(routes, name)
    if name == "AdminSecurityMiddleware":
        from introspect.admin.security import AdminSecurityMiddleware

        return AdminSecurityMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
