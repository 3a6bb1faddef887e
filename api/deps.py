"""Request dependencies, as ``Annotated`` aliases: what a route needs from the application it runs in.

Everything lives on ``app.state`` (set up by :func:`api.app.create_app` and its lifespan), never in module globals,
so each app (and each test) has its own.
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


SettingsDep = Annotated[Settings, Depends(get_settings)]
QueryServiceDep = Annotated[QueryService, Depends(get_query_service)]
EngineDep = Annotated[QueryEngine, Depends(get_engine)]
CacheDep = Annotated[ResultCache, Depends(get_cache)]
LimiterDep = Annotated[ClientLimiter, Depends(get_limiter)]
