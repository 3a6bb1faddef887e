"""The application factory: ``create_app(settings)`` builds a fresh FastAPI app from its routers.

The lifespan starts the query engine (worker processes over the embedded store, or the remote store) and stops
it on shutdown. Routers of other surfaces are included when their module exists (see :data:`OPTIONAL_ROUTERS`).
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.cache import ResultCache
from api.headers import SecurityHeadersMiddleware
from api.limits import ClientLimiter
from api.problems import install_problem_handlers
from api.querying import QueryService
from api.routers import sparql
from api.workers import QueryEngine, StoreEngine, WorkerPool
from kg import __version__
from kg.settings import Settings

log = logging.getLogger(__name__)

#: Router modules of the other surfaces, included (their ``router``) when they can be imported. No two of them
#: serve the same path, so the order changes no answer; it is the order FastAPI tries their routes in, one after
#: the other for every request, so the lookups that come in volume (linked data, then REST) come first.
OPTIONAL_ROUTERS: tuple[str, ...] = (
    "api.routers.linkeddata",
    "api.routers.rest",
    "api.routers.dataset",
    "api.routers.pages",
    "api.routers.ui",
)


def make_engine(settings: Settings) -> QueryEngine:
    """The query engine for ``settings.store``: worker processes over a folder, or the remote store's interface
    (threads; the remote server enforces the time limit)."""
    from kg.store import is_remote, open_store

    if is_remote(settings.store):
        store = open_store(settings, read_only=True)
        generation_of = getattr(store, "generation", None)
        return StoreEngine(
            store,
            timeout=settings.query_timeout,
            generation_of=(lambda s: str(s.generation())) if callable(generation_of) else None,
        )
    return WorkerPool(settings.store, size=settings.workers, timeout=settings.query_timeout,
                      memory_mb=settings.worker_memory_mb)


def _include_optional_routers(app: FastAPI) -> None:
    for name in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            log.debug("router %s not present", name)
            continue
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """A new application serving ``settings.store`` (default: settings from the environment).

    ``freeze_heap`` (for a server process, :func:`api.server.serve`): once started, everything the process holds
    so far (modules, the application, its routers and templates, about a million objects) is moved out of the
    garbage collector's reach (``gc.freeze``). A full collection walks every object it tracks, and over that heap it
    stopped the server for 50-60 ms a few times a minute under load, each time delaying every request in flight;
    those objects live as long as the process anyway.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        await engine.start()
        app.state.query_service = QueryService(engine, app.state.result_cache)
        if freeze_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            app.state.query_service = None
            await engine.close()

    app = FastAPI(
        title="Declarations knowledge graph",
        version=__version__,
        description="SPARQL 1.1 endpoint, linked data and REST lookup over a knowledge graph of intergovernmental "
        "declarations.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.result_cache = ResultCache(settings.result_cache_bytes)
    app.state.client_limiter = ClientLimiter(settings.max_queries_per_client)
    app.state.query_service = None
    install_problem_handlers(app)
    # A read-only public endpoint without credentials: any web page may query it (CORS).
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        # Linked-data clients need the validators and links too (Last-Modified is safelisted already).
        expose_headers=["X-Cache", "ETag", "Link", "Location", "Content-Location", "X-Total-Count"],
    )
    # nosniff and Referrer-Policy on every response, a CSP on HTML without one (outermost: errors get them too).
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(sparql.router)
    _include_optional_routers(app)
    return app
