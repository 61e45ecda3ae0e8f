"""The FastAPI application factory. Nothing is built at import time; the lifespan owns resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

import introspect
from introspect.admin import AdminSecurityMiddleware
from introspect.admin import router as admin_router
from introspect.admin import static_files as admin_static_files
from introspect.api.auth import Authenticator
from introspect.api.auth_throttle import FailedAuthThrottle
from introspect.api.body_limit import BodySizeLimitMiddleware
from introspect.api.deps import _caller
from introspect.api.errors import install_error_handlers
from introspect.api.event_hub import JobEventHub
from introspect.api.hosts import HostCheckMiddleware
from introspect.api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from introspect.api.routes import batches, corpora, events, gate_profiles, health, jobs, trajectories
from introspect.config import Settings, get_settings
from introspect.runner.model_provider import default_model_provider
from introspect.store.engine import make_engine, make_session_factory
from introspect.worker.dispatch import ArqDispatcher, InProcessDispatcher, JobDispatcher
from introspect.worker.identity import worker_identity
from introspect.worker.runtime import start_worker_runtime

API_PREFIX = "/v1"


def create_app(
    settings: Settings | None = None,
    *,
    bound_host: str | None = None,
    model_provider: Any = None,
) -> FastAPI:
    """Build the app. ``model_provider`` replaces the model backends of the embedded worker (tests)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        factory = make_session_factory(engine)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = factory
        app.state.authenticator = Authenticator(settings, factory, bound_host or settings.host)
        limiter: RateLimiter = (
            RedisRateLimiter(settings.redis_url, settings.rate_limit_per_minute)
            if settings.redis_url
            else MemoryRateLimiter(settings.rate_limit_per_minute)
        )
        app.state.rate_limiter = limiter
        app.state.auth_throttle = FailedAuthThrottle(settings.redis_url, settings.auth_failures_per_minute)
        # One pub/sub connection for every SSE stream of this process (None: embedded mode, whose
        # streams read the log).
        hub = JobEventHub(settings.redis_url) if settings.redis_url else None
        app.state.event_hub = hub
        with ExitStack() as stack:
            dispatcher: JobDispatcher
            if settings.embedded:
                # The in-process worker's models; /v1/readyz asks them whether the model loads.
                app.state.model_provider = model_provider or default_model_provider(settings)
                core = stack.enter_context(
                    start_worker_runtime(
                        settings,
                        factory,
                        owner=worker_identity("embedded"),
                        models=app.state.model_provider,
                    )
                )
                app.state.worker_core = core
                dispatcher = InProcessDispatcher(core)
            else:
                dispatcher = ArqDispatcher(settings.redis_url or "", settings.queue_name)
            app.state.dispatcher = dispatcher
            try:
                yield
            finally:
                await dispatcher.close()
                await limiter.aclose()
                if hub is not None:
                    await hub.aclose()
        engine.dispose()

    app = FastAPI(
        title="Introspect",
        version=introspect.__version__,
        description=(
            "Runs LLM agents through generate → verify → gate → critique → revise, reads the "
            "uncertainty of every answer from a local model's logits, and keeps every trajectory "
            "as RISE-style training data."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)

    v1 = APIRouter(prefix=API_PREFIX)
    v1.include_router(health.router)
    v1.include_router(jobs.router)
    v1.include_router(batches.router)
    v1.include_router(events.router)
    v1.include_router(trajectories.router)
    v1.include_router(corpora.router)
    v1.include_router(gate_profiles.router)
    _include_exports(v1)
    app.include_router(v1)
    _include_faces(app)
    app.include_router(admin_router)
    app.mount("/admin/static", admin_static_files(), name="admin-static")
    app.add_middleware(AdminSecurityMiddleware)
    # Added last, so it runs first: no route, and not the admin Origin check, sees a refused Host.
    app.add_middleware(HostCheckMiddleware, allowed_hosts=settings.allowed_hosts)
    return app


def _include_exports(v1: APIRouter) -> None:
    from introspect.export.api import router as exports_router

    v1.include_router(exports_router, dependencies=[Depends(_caller)])


def _include_faces(app: FastAPI) -> None:
    """The faces other ecosystems already speak, each its own package on the job services: the
    LangGraph Agent Protocol at the root (where langgraph-sdk looks) and OpenAI's API under /v1."""
    from introspect.agent_protocol import router as agent_protocol_router
    from introspect.openai_face import router as openai_router

    app.include_router(agent_protocol_router)
    app.include_router(openai_router, prefix=API_PREFIX)
