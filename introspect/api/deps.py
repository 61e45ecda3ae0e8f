"""Named ``Annotated`` dependencies for routes (FastAPI full-stack template style)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from introspect.api.auth import Authenticator, AuthError, Caller
from introspect.api.auth_throttle import TOO_MANY_FAILURES, FailedAuthThrottle
from introspect.api.ratelimit import RateLimiter
from introspect.config import Settings
from introspect.worker.dispatch import JobDispatcher


# Plain reads of app state are ``async def``: FastAPI runs a sync dependency in its thread pool, and
# that hand-off cost more than the read (several per request).
async def _session_factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.session_factory


async def _engine(request: Request) -> Engine:
    return request.app.state.engine


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _dispatcher(request: Request) -> JobDispatcher:
    return request.app.state.dispatcher


async def _caller(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Caller:
    authenticator: Authenticator = request.app.state.authenticator
    throttle: FailedAuthThrottle = request.app.state.auth_throttle
    host = request.client.host if request.client else None
    presented = bool(authorization or x_api_key)  # a key to check: a guess, if it is wrong
    try:
        # Without a bearer key (and with the key table's state cached) no database is involved:
        # no thread-pool hand-off either.
        caller = authenticator.authenticate_from_memory(authorization, host, x_api_key)
        if caller is None:
            if presented and await throttle.blocked(host or "-"):
                raise HTTPException(429, TOO_MANY_FAILURES, headers={"Retry-After": "60"})
            caller = await run_in_threadpool(authenticator.authenticate, authorization, host, x_api_key)
    except AuthError as exc:
        if presented:
            await throttle.failed(host or "-")
        raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from exc
    limiter: RateLimiter = request.app.state.rate_limiter
    if not await limiter.allow(caller.rate_key):
        raise HTTPException(429, "rate limit exceeded; retry in a minute", headers={"Retry-After": "60"})
    return caller


SessionFactoryDep = Annotated[sessionmaker[Session], Depends(_session_factory)]
EngineDep = Annotated[Engine, Depends(_engine)]
SettingsDep = Annotated[Settings, Depends(_settings)]
DispatcherDep = Annotated[JobDispatcher, Depends(_dispatcher)]
CallerDep = Annotated[Caller, Depends(_caller)]
