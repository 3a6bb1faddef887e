"""Per-client limits: how many queries one client (by IP address) may have running at once."""

from __future__ import annotations

import threading
from collections import Counter

from kg.errors import TooManyRequests


class ClientLimiter:
    """Counts running queries per client; ``acquire`` raises :class:`TooManyRequests` (429) beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> None:
        """Count one more query for ``client``. Raises TooManyRequests when it already runs ``limit``."""
        with self._lock:
            if self._running[client] >= self.limit:
                raise TooManyRequests(
                    f"{self.limit} queries from this client are already running; wait for one to finish",
                    limit=self.limit,
                )
            self._running[client] += 1

    def release(self, client: str) -> None:
        """One query of ``client`` ended."""
        with self._lock:
            self._running[client] -= 1
            if self._running[client] <= 0:
                del self._running[client]

    def running(self, client: str) -> int:
        """How many queries ``client`` has running."""
        with self._lock:
            return self._running[client]
