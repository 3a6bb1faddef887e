"""A real uvicorn server of our app on 127.0.0.1 (a free port), in a thread of the test process.

    from helpers.server import live_server

    with live_server(Settings(store=str(path), query_timeout=2)) as base_url:
        httpx.get(base_url + "/sparql", params={"query": "ASK {}"})

The app's lifespan runs as in production (query worker processes over the store), so this tests the real thing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from api.server import listening_socket
from kg.settings import Settings


@contextmanager
def live_server(settings: Settings, *, app: Any = None, start_timeout: float = 60.0) -> Iterator[str]:
    """Serve ``app`` (default: ``create_app(settings)``) until the block ends; yields the base URL
    (``http://127.0.0.1:PORT``). Raises RuntimeError when the server does not start in time."""
    if app is None:
        from api.app import create_app

        app = create_app(settings)
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if errors or not thread.is_alive():
            raise RuntimeError(f"the test server did not start: {errors[0] if errors else 'it exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test server did not start in time")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
