"""A bounded, in-memory LRU cache of serialised SPARQL results.

The key is (normalised query, dataset, format, store generation): the generation changes whenever the store is
written, so an entry can only be served for the store content it was computed from. Every answer stays exact;
a repeated query is answered from memory without touching a worker.

>>> cache = ResultCache(max_bytes=10)
>>> cache.put(("q", "g1"), [b"12345"])
True
>>> cache.get(("q", "g1"))
[b'12345']
>>> cache.put(("big", "g1"), [b"x" * 11])
False
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class ResultCache:
    """At most ``max_bytes`` of result bytes; one entry may take at most a quarter of that (``max_entry_bytes``)."""

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes if max_entry_bytes is not None else max(max_bytes // 4, 1)
        if max_bytes and self.max_entry_bytes < 16:
            self.max_entry_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[list[bytes], int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> list[bytes] | None:
        """The chunks stored under ``key`` (and mark them recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, chunks: list[bytes]) -> bool:
        """Store ``chunks`` under ``key``, evicting the least recently used entries to stay within bounds.
        Returns False (and stores nothing) when the entry alone is larger than an entry may be."""
        size = sum(len(c) for c in chunks)
        if not self.max_bytes or size > self.max_entry_bytes:
            return False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._entries[key] = (chunks, size)
            self._size += size
            while self._size > self.max_bytes and self._entries:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._size -= evicted
            return True

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._size = 0
