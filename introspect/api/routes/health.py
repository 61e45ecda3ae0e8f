"""/v1/healthz (the process is up) and /v1/readyz (its database and Redis answer and, in embedded
mode where this process runs jobs, its local model loads)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from introspect.api.schemas import HealthStatus

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthStatus)
def healthz() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get("/readyz", response_model=HealthStatus, responses={503: {"model": HealthStatus}})
async def readyz(request: Request) -> JSONResponse:
    checks = {"database": await run_in_threadpool(_check_database, request)}
    redis_url = request.app.state.settings.redis_url
    if redis_url:
        checks["redis"] = await _check_redis(redis_url)
    model_status = getattr(getattr(request.app.state, "model_provider", None), "model_status", None)
    if callable(model_status):
        checks["model"] = str(await run_in_threadpool(model_status))
    ok = all(v == "ok" for v in checks.values())
    body = HealthStatus(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(status_code=200 if ok else 503, content=body.model_dump())


def _check_database(request: Request) -> str:
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


async def _check_redis(url: str) -> str:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        await client.ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    finally:
        await client.aclose()
