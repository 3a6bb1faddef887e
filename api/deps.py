"""Request dependencies, as ``Annotated`` aliases: what a route needs from the application it runs in.

Everything lives on ``app.state`` (set up by :func:`api.app.create_app` and its lifespan), never in module globals,
so each app (and each test) has its own.

The ``get_*`` functions are plain functions (routers may call them directly); the ``*Dep`` aliases depend on
``async`` wrappers of them: FastAPI runs a synchronous dependency in its thread pool, one hop per dependency per
request, which cost more than the lookups themselves under load (see docs/benchmarks.md, "HTTP load").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.cache import ResultCache
from api.limits import ClientLimiter
from api.querying import QueryService
from api.workers import QueryEngine
from kg.errors import StoreError
from kg.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_query_service(request: Request) -> QueryService:
    """The query service (checks, cache, engine). Raises StoreError (502) if the app has not started."""
    service = getattr(request.app.state, "query_service", None)
    if service is None:
        raise StoreError("the query engine is not running (the application's lifespan did not start)")
    return service


def get_engine(request: Request) -> QueryEngine:
    """The engine queries run on."""
    return get_query_service(request).engine


def get_cache(request: Request) -> ResultCache:
    """The result cache."""
    return request.app.state.result_cache


def get_limiter(request: Request) -> ClientLimiter:
    """The per-client concurrency limiter."""
    return request.app.state.client_limiter


async def _settings(request: Request) -> Settings:
    return get_settings(request)


async def _query_service(request: Request) -> QueryService:
    return get_query_service(request)


async def _engine(request: Request) -> QueryEngine:
    return get_engine(request)


async def _cache(request: Request) -> ResultCache:
    return get_cache(request)


async def _limiter(request: Request) -> ClientLimiter:
    return get_limiter(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
QueryServiceDep = Annotated[QueryService, Depends(_query_service)]
EngineDep = Annotated[QueryEngine, Depends(_engine)]
CacheDep = Annotated[ResultCache, Depends(_cache)]
LimiterDep = Annotated[ClientLimiter, Depends(_limiter)]
