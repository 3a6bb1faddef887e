"""Running the application: ``serve(settings)`` with uvicorn, and ``get_once`` for ``kg serve --get``."""

from __future__ import annotations

import ctypes.util
import logging
import os
import socket
import sys

from kg.errors import BadInput
from kg.settings import Settings

log = logging.getLogger(__name__)

#: Set in the environment of a server process restarted with the allocator preloaded (and so of its workers).
ALLOCATOR_MARK = "KG_ALLOCATOR_PRELOADED"


def jemalloc_library() -> str | None:
    """The name the dynamic loader knows jemalloc by (``libjemalloc.so.2``), or None when it is not installed."""
    return ctypes.util.find_library("jemalloc")


def use_allocator(settings: Settings) -> None:
    """Restart this process (the same PID, arguments and environment, ``execv``) with jemalloc preloaded, when
    ``settings.allocator`` asks for it and it is installed; the query workers it spawns inherit it. Returns when
    nothing is to be done: already preloaded, ``system``, or ``auto`` without jemalloc (logged).

    The embedded store (RocksDB) allocates and frees a buffer for each block it reads; glibc's malloc spent about
    a third of a query worker's CPU on that at 10M triples. Raises :class:`kg.errors.BadInput` for ``jemalloc``
    when it is not installed.
    """
    if settings.allocator == "system" or os.environ.get(ALLOCATOR_MARK):
        return
    library = jemalloc_library()
    if library is None:
        if settings.allocator == "jemalloc":
            raise BadInput("KG_ALLOCATOR=jemalloc, but jemalloc is not installed (Debian: apt-get install libjemalloc2)")
        log.info("jemalloc is not installed (Debian: libjemalloc2): serving with the system allocator")
        return
    preload = os.environ.get("LD_PRELOAD", "")
    os.environ["LD_PRELOAD"] = f"{library} {preload}".strip()
    os.environ[ALLOCATOR_MARK] = library
    sys.stdout.flush()
    sys.stderr.flush()
    # sys.orig_argv is the command line as given (``kg serve ...``, ``python -m kg.cli serve``, ``python -c ...``).
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def serve(settings: Settings) -> None:
    """Serve the app on ``settings.host:settings.port`` until interrupted (one server process; queries run in
    ``settings.workers`` worker processes), with the allocator of ``settings.allocator`` (:func:`use_allocator`).
    Raises :class:`kg.errors.StoreError` when the store cannot be served."""
    use_allocator(settings)
    import uvicorn

    from api.app import create_app

    app = create_app(settings, freeze_heap=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[listening_socket(settings.host, settings.port)])


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket with ``TCP_NODELAY`` (inherited by accepted connections on Linux): without it a
    response written in two pieces on a kept-alive connection waits for the client's delayed ACK (~40 ms)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def get_once(settings: Settings, path: str) -> tuple[int, str, bytes]:
    """Answer one ``GET path`` in-process (the app's start-up and shut-down included).

    Returns (status, content type, body).
    """
    import warnings

    from api.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get(path)
    return response.status_code, response.headers.get("content-type", ""), response.content
