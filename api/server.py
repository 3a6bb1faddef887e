"""Running the application: ``serve(settings)`` with uvicorn, and ``get_once`` for ``kg serve --get``."""

from __future__ import annotations

import logging
import socket

from kg.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    """Serve the app on ``settings.host:settings.port`` until interrupted (one server process; queries run in
    ``settings.workers`` worker processes). Raises :class:`kg.errors.StoreError` when the store cannot be served."""
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
