"""Where SPARQL queries run: behind :class:`QueryEngine`, so the endpoint serves the embedded store and a remote
SPARQL server the same way.

- :class:`WorkerPool` (the embedded Oxigraph store): pyoxigraph has no time limit, so each query runs in one of a
  few worker *processes*, each holding a read-only handle on the store folder. A worker evaluates the query,
  writes the results in the negotiated format into chunks and sends them over a pipe; the server streams them to
  the client as they come. A worker that overruns the time limit is killed and replaced; the other workers keep
  serving. When the store is written (its generation changes) the workers are replaced, so they see the new data.
- :class:`StoreEngine` (any :class:`kg.store.base.Store`, e.g. the remote one): runs the query in a thread of the
  server; the remote server enforces the time limit itself (it is passed on when the store accepts ``timeout=``).
- :class:`StoreProbe` (with the worker pool): the server process's own read-only handle on the store folder,
  reopened with each generation, for lookups that are one index seek each (does this IRI occur, is it of this
  class: :meth:`QueryEngine.probe_store`); they skip the hop to a worker, which cost more than the lookup. Nothing
  whose cost is unbounded runs there (the time limit could not stop it). A remote store has no such handle and is
  asked with queries.

This module is imported by the worker processes too, so it imports nothing heavy at module level.

Wire protocol, one message per ``send_bytes``: server -> worker a JSON job; worker -> server ``R`` (ready after
opening the store), ``D`` + bytes (a chunk of output), ``E`` (end of output), ``S`` + message (syntax error,
nothing written), ``F`` + message (failure).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import inspect
import json
import logging
import multiprocessing
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from kg.errors import BadQuery, QueryNotEvaluable, QueryTimeout, QueryTooLarge, StoreError

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class QueryJob:
    """One query to run.

    ``format_name`` is a pyoxigraph format name: a ``RdfFormat`` member when ``graph`` (CONSTRUCT/DESCRIBE),
    else a ``QueryResultsFormat`` member. ``default_graphs``/``named_graphs`` are the protocol's
    default-graph-uri/named-graph-uri (None: not given); ``union_default`` makes the default graph the union of
    all graphs (used when neither the request nor the query names a dataset); ``base_iri`` resolves relative
    IRIs of the query (the endpoint's URL: the service-defined base the protocol allows). ``substitutions`` binds
    variables to RDF terms before evaluation (pyoxigraph ``substitutions=``, SEP-0007), each as
    ``(variable name, term)`` with the term encoded by :func:`encode_term`; never part of the query text.
    """

    query: str
    format_name: str
    graph: bool
    union_default: bool = True
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None
    substitutions: tuple[tuple[str, tuple[str, str, str | None, str | None]], ...] | None = None


def encode_term(term: Any) -> tuple[str, str, str | None, str | None]:
    """A pyoxigraph ``NamedNode`` or ``Literal`` as plain data a job can carry over the pipe:
    ``("iri", iri, None, None)`` or ``("literal", value, datatype IRI, language or None)``.
    Raises TypeError for other terms (blank nodes and triples are not bound by name)."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return ("iri", term.value, None, None)
    if isinstance(term, ox.Literal):
        return ("literal", term.value, term.datatype.value, term.language)
    raise TypeError(f"cannot bind a {type(term).__name__} as a query substitution")


def decode_substitutions(pairs: Any) -> dict[Any, Any] | None:
    """The pyoxigraph ``substitutions=`` mapping of a job's encoded ``substitutions`` (None when there are none)."""
    if not pairs:
        return None
    import pyoxigraph as ox

    mapping: dict[Any, Any] = {}
    for name, (kind, value, datatype, language) in pairs:
        if kind == "iri":
            term: Any = ox.NamedNode(value)
        elif language:
            term = ox.Literal(value, language=language)
        else:
            term = ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)
        mapping[ox.Variable(name)] = term
    return mapping


class QueryEngine(abc.ABC):
    """Runs queries with a time limit and streams their serialised results."""

    timeout: float

    async def start(self) -> None:
        """Get ready to serve (spawn workers, open the store). Raises :class:`StoreError` on failure."""

    async def close(self) -> None:
        """Stop serving and release everything."""

    @abc.abstractmethod
    def generation(self) -> str:
        """A value that changes whenever the store's content may have changed (the result cache's key part)."""

    async def current_generation(self) -> str:
        """:meth:`generation`, without blocking the event loop when finding it out takes I/O."""
        return self.generation()

    @abc.abstractmethod
    async def graph_names(self) -> frozenset[str]:
        """The store's named graphs."""

    async def probe_store(self) -> Any | None:
        """A read-only pyoxigraph ``Store`` of the current content, held by the server process, for index probes of
        bounded cost (one ``quads_for_pattern`` seek, its first quad taken): they need no query and no worker.
        None when the engine has none (a remote store): ask with a query instead. Anything whose cost is not
        bounded must stay a query, which gets the time limit."""
        return None

    @abc.abstractmethod
    def execute(self, job: QueryJob) -> AsyncIterator[bytes]:
        """Run ``job``; yields the serialised results in chunks.

        Errors the client must see as a status (:class:`BadQuery`, :class:`QueryTimeout`, :class:`StoreError`)
        are raised by the *first* step of the iteration, before any byte; a failure after output started ends the
        iteration with an exception (the connection is then cut, never silently truncated). Closing the iterator
        early (``aclose()``) cancels the query.
        """


# --- the worker process -----------------------------------------------------------------------------------------


def _isolate_network() -> None:
    """Best effort: move this worker into a new, empty network namespace, so that whatever query runs here
    cannot reach any host (defence in depth: SERVICE is already refused by the parser). Needs privileges;
    without them nothing changes."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newnet = 0x40000000
        if libc.unshare(clone_newnet) != 0:
            log.debug("worker keeps the host network (unshare: errno %s)", ctypes.get_errno())
    except (OSError, AttributeError):  # pragma: no cover - platform without unshare
        pass


class _ChunkWriter:
    """A binary file-like object for pyoxigraph's ``serialize``: buffers and sends ``D`` chunks."""

    def __init__(self, conn: Connection, size: int) -> None:
        self._conn = conn
        self._size = size
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= self._size:
            self._conn.send_bytes(b"D" + bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def flush(self) -> None:
        """Nothing: chunks are sent when full and at the end."""

    def finish(self) -> None:
        if self._buffer:
            self._conn.send_bytes(b"D" + bytes(self._buffer))
            self._buffer.clear()
        self._conn.send_bytes(b"E")


def _run_job(store: Any, job: dict[str, Any], conn: Connection, chunk_size: int) -> None:
    import pyoxigraph as ox

    if job.get("op") == "graphs":
        names = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
        conn.send_bytes(b"D" + json.dumps(names).encode())
        conn.send_bytes(b"E")
        return
    kwargs: dict[str, Any] = {"use_default_graph_as_union": job["union_default"]}
    if job.get("base_iri"):
        kwargs["base_iri"] = job["base_iri"]
    substitutions = decode_substitutions(job.get("substitutions"))
    if substitutions:
        kwargs["substitutions"] = substitutions
    if job["default_graphs"] is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in job["default_graphs"]]
        if job["named_graphs"] is None:
            kwargs["named_graphs"] = []
    if job["named_graphs"] is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in job["named_graphs"]]
        if job["default_graphs"] is None:
            kwargs["default_graph"] = []
    try:
        result = store.query(job["query"], **kwargs)
    except SyntaxError as exc:
        conn.send_bytes(b"S" + str(exc).encode())
        return
    except Exception as exc:  # noqa: BLE001 - reported to the server, which decides the status
        conn.send_bytes(b"F" + f"{type(exc).__name__}: {exc}".encode())
        return
    writer = _ChunkWriter(conn, chunk_size)
    try:
        if isinstance(result, ox.QueryTriples) != job["graph"]:
            raise TypeError("the query's form does not match the requested format")
        if job["graph"]:
            result.serialize(writer, format=getattr(ox.RdfFormat, job["format_name"]))
        else:
            result.serialize(writer, format=getattr(ox.QueryResultsFormat, job["format_name"]))
        writer.finish()
    except Exception as exc:  # noqa: BLE001 - evaluation errors surface while serialising
        conn.send_bytes(b"F" + f"{type(exc).__name__}: {exc}".encode())


def worker_main(store_path: str, conn: Connection, chunk_size: int = CHUNK_BYTES) -> None:
    """Entry point of a worker process: open the store read-only, then run jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    _isolate_network()
    import pyoxigraph as ox

    try:
        store = ox.Store.read_only(store_path)
    except Exception as exc:  # noqa: BLE001 - reported to the server
        conn.send_bytes(b"F" + f"cannot open the store {store_path}: {exc}".encode())
        return
    conn.send_bytes(b"R")
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            _run_job(store, orjson.loads(raw), conn, chunk_size)
        except (BrokenPipeError, EOFError, OSError):
            return


# --- the server side -------------------------------------------------------------------------------------------


#: A folder whose modification time is older than this (ns) has settled: its list of files is reused until its
#: modification time changes (a folder's time may be coarser than the writes within it, so a recent one is listed
#: afresh every time).
_SETTLED_NS = 2_000_000_000
#: folder -> (its st_mtime_ns, the part of the fingerprint that stays while that time does (the folder's time and
#: the names of its table files), [names of the files looked at on each call]) of the last listing of a settled
#: folder.
_LISTINGS: dict[str, tuple[int, bytes, list[str]]] = {}
#: folder -> (what its last fingerprint was computed from, that fingerprint): the same state is not hashed again.
_FINGERPRINTS: dict[str, tuple[tuple[bytes, tuple[tuple[str, int, int], ...]], str]] = {}
#: Files of a RocksDB folder that are never changed in place (written once, or replaced by a rename).
_REPLACED_WHOLE = re.compile(r"\d+\.sst$|CURRENT$|IDENTITY$|OPTIONS-\d+$")


def store_generation(path: str | Path) -> str:
    """A fingerprint of an Oxigraph (RocksDB) store folder that changes with every write: names, sizes and
    modification times of its files, leaving out the logs RocksDB rewrites on its own. Opening the store
    read-only changes nothing. Returns ``"missing"`` for a folder that does not exist.

    Called several times per request, so it is cheap once the folder has settled: the list of files is kept
    while the folder's own modification time stays the same (files are only created, renamed or deleted by
    changing it), with the part of the fingerprint it gives already encoded, and only the files that may change in
    place (the write-ahead ``*.log``, ``MANIFEST-*``, anything unknown) are looked at again. Table files (``*.sst``)
    are immutable once the manifest names them; ``CURRENT`` and ``OPTIONS-*`` are replaced by renaming a new file
    over them and ``IDENTITY`` is written once, which changes the folder's time; every write reaches the log or the
    manifest before readers can see it.
    """
    folder = os.fspath(path)
    try:
        folder_stat = os.stat(folder)
    except FileNotFoundError:
        return "missing"
    listing = _LISTINGS.get(folder)
    settled = time.time_ns() - folder_stat.st_mtime_ns > _SETTLED_NS
    if listing is None or listing[0] != folder_stat.st_mtime_ns or not settled:
        try:
            with os.scandir(folder) as entries:
                names = sorted(e.name for e in entries if not (e.name.startswith("LOG") or e.name == "LOCK"))
        except FileNotFoundError:
            return "missing"
        # Files that only change by being replaced are reported by name; the size and time of the others are read
        # on each call.
        fixed = f"{folder_stat.st_mtime_ns};".encode() + "".join(
            f"{name};" for name in names if _REPLACED_WHOLE.match(name)
        ).encode()
        listing = (folder_stat.st_mtime_ns, fixed, [name for name in names if not _REPLACED_WHOLE.match(name)])
        if settled:
            _LISTINGS[folder] = listing
        else:
            _LISTINGS.pop(folder, None)
    seen: list[tuple[str, int, int]] = []
    for name in listing[2]:
        try:
            stat = os.stat(os.path.join(folder, name))
        except FileNotFoundError:
            # Deleted since the listing (the folder's time then changed too): list again next time.
            _LISTINGS.pop(folder, None)
            seen.append((name, -1, -1))
            continue
        seen.append((name, stat.st_size, stat.st_mtime_ns))
    state = (listing[1], tuple(seen))
    last = _FINGERPRINTS.get(folder)
    if last is not None and last[0] == state:
        return last[1]
    digest = hashlib.blake2b(listing[1], digest_size=12)
    for name, size, mtime in seen:
        digest.update(f"{name}:gone;".encode() if size < 0 else f"{name}:{size}:{mtime};".encode())
    fingerprint = digest.hexdigest()
    _FINGERPRINTS[folder] = (state, fingerprint)
    return fingerprint


def _recv(conn: Connection, timeout: float) -> bytes | None:
    """Next message, or None when nothing came within ``timeout`` seconds. Raises EOFError if the worker died."""
    if not conn.poll(max(timeout, 0.0)):
        return None
    return conn.recv_bytes()


#: A job up to this size is written to the worker's pipe from the event loop (it fits the socket buffer, so the
#: write cannot block); a larger one from a thread.
_INLINE_SEND_BYTES = 32 * 1024


async def _send_async(conn: Connection, data: bytes) -> None:
    """Send one message to a worker without a thread hop when it is small."""
    if len(data) <= _INLINE_SEND_BYTES:
        conn.send_bytes(data)
    else:
        await asyncio.to_thread(conn.send_bytes, data)


async def _recv_async(conn: Connection, timeout: float) -> bytes | None:
    """Next message, waited for on the event loop (no thread hop), or None when nothing came within ``timeout``
    seconds. Raises EOFError if the worker died.

    Once the pipe is readable the whole message is being written by the worker (one ``send_bytes``), so reading
    it may wait only for the rest of a chunk already on its way.
    """
    if not conn.poll(0):
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = conn.fileno()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await asyncio.wait_for(ready, max(timeout, 0.0))
        except TimeoutError:
            return None
        finally:
            loop.remove_reader(fd)
            # uvloop leaves a watched descriptor non-blocking; the reads and writes of Connection expect blocking.
            os.set_blocking(fd, True)
    return conn.recv_bytes()


class _Worker:
    """The server's handle on one worker process."""

    def __init__(self, context: Any, store_path: str, generation: str, number: int) -> None:
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=worker_main, args=(store_path, child, CHUNK_BYTES), name=f"kg-query-worker-{number}", daemon=True
        )
        self.process.start()
        child.close()
        self.conn: Connection = parent
        self.generation = generation

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.join(timeout=5)
        with contextlib.suppress(Exception):
            self.conn.close()


#: While a query runs, how often (seconds) its worker's resident memory is compared with the pool's limit.
MEMORY_CHECK_SECONDS = 0.1
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (``/proc/<pid>/statm``), or None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_BYTES / 1e6
    except (OSError, ValueError, IndexError):
        return None


class StoreProbe:
    """The server process's own read-only handle on the store folder (see :meth:`QueryEngine.probe_store`),
    reopened when the store's generation changes, the way the workers are replaced."""

    def __init__(self, store_path: str) -> None:
        self.store_path = store_path
        self._current: tuple[str, Any] | None = None
        self._opening: tuple[str, asyncio.Task[Any]] | None = None

    async def handle(self, generation: str) -> Any | None:
        """The handle opened at ``generation`` (opened now, in a thread, when the last one is older; concurrent
        callers wait for the same opening), or None when the store cannot be opened (the caller queries)."""
        current = self._current
        if current is not None and current[0] == generation:
            return current[1]
        if self._opening is None or self._opening[0] != generation:
            self._opening = (generation, asyncio.ensure_future(asyncio.to_thread(self._open)))
        task = self._opening[1]
        try:
            store = await asyncio.shield(task)
        except Exception as exc:  # noqa: BLE001 - the queries still work; they will say what is wrong
            log.warning("cannot open %s for index probes (%s); using queries", self.store_path, exc)
            if self._opening is not None and self._opening[1] is task:
                self._opening = None
            return None
        if self._opening is not None and self._opening[1] is task:
            self._opening = None
            # The old handle is dropped here (probes run on the event loop, so none is using it).
            self._current = (generation, store)
        return store

    def _open(self) -> Any:
        import pyoxigraph as ox

        return ox.Store.read_only(self.store_path)

    def close(self) -> None:
        self._current = None
        if self._opening is not None:
            self._opening[1].cancel()
            self._opening = None


class WorkerPool(QueryEngine):
    """``size`` worker processes over the store folder ``store_path``; queries get ``timeout`` seconds, and a worker
    whose resident memory passes ``memory_mb`` while answering is stopped like an overrun (``None``: no limit)."""

    def __init__(
        self, store_path: str | Path, *, size: int = 2, timeout: float = 30.0, memory_mb: int | None = None
    ) -> None:
        self.store_path = str(store_path)
        self.size = size
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._context = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._spawning: set[asyncio.Task[None]] = set()
        self._counter = 0
        self._closed = False
        self._graphs: tuple[str, frozenset[str]] | None = None
        self._probe = StoreProbe(self.store_path)

    # life cycle
    async def start(self) -> None:
        if not Path(self.store_path).is_dir():
            raise StoreError(f"no store at {self.store_path}: build one first (kg build --store {self.store_path})")
        self._idle = asyncio.Queue()
        generation = self.generation()
        results = await asyncio.gather(*(self._spawn(generation) for _ in range(self.size)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self.close()
            raise StoreError(f"query workers could not start: {failures[0]}")
        log.info("%d query workers ready on %s (time limit %.1f s)", self.size, self.store_path, self.timeout)

    async def close(self) -> None:
        self._closed = True
        self._probe.close()
        for task in list(self._spawning):
            task.cancel()
        for worker in list(self._all):
            await asyncio.to_thread(worker.kill)
        self._all.clear()

    @property
    def live_workers(self) -> int:
        """How many worker processes are alive (the pool's current size)."""
        return sum(1 for w in self._all if w.process.is_alive())

    def idle_workers(self) -> int:
        """How many workers are waiting for a query."""
        return self._idle.qsize() if self._idle is not None else 0

    async def _spawn(self, generation: str) -> None:
        self._counter += 1
        worker = await asyncio.to_thread(_Worker, self._context, self.store_path, generation, self._counter)
        self._all.add(worker)
        try:
            message = await asyncio.to_thread(_recv, worker.conn, START_TIMEOUT)
        except (EOFError, OSError) as exc:
            message = b"F" + str(exc).encode()
        if message != b"R":
            self._all.discard(worker)
            await asyncio.to_thread(worker.kill)
            detail = message[1:].decode(errors="replace") if message else "no answer in time"
            raise StoreError(f"query worker failed to start: {detail}")
        if self._closed:
            self._all.discard(worker)
            await asyncio.to_thread(worker.kill)
            return
        assert self._idle is not None
        self._idle.put_nowait(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start another in the background, keeping the pool at full size."""
        self._all.discard(worker)
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, worker.kill)
        if self._closed:
            return

        async def respawn() -> None:
            delay = 0.5
            while not self._closed:
                try:
                    await self._spawn(self.generation())
                    return
                except StoreError as exc:
                    log.error("%s; retrying in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)

        task = loop.create_task(respawn())
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def _acquire(self, deadline: float) -> _Worker:
        assert self._idle is not None, "WorkerPool.start() was not awaited"
        current = self.generation()
        while True:
            remaining = deadline - time.monotonic()
            try:
                worker = await asyncio.wait_for(self._idle.get(), timeout=max(remaining, 0.001))
            except TimeoutError:
                raise QueryTimeout(
                    f"no query worker became free within the {self.timeout:g} s time limit; try again later"
                ) from None
            if worker.generation != current or not worker.process.is_alive():
                # The store changed since this worker opened it (or it died): replace it and take another.
                self._replace(worker)
                continue
            return worker

    def _release(self, worker: _Worker) -> None:
        assert self._idle is not None
        if worker.generation != self.generation():
            self._replace(worker)
        else:
            self._idle.put_nowait(worker)

    # queries
    def generation(self) -> str:
        return store_generation(self.store_path)

    async def graph_names(self) -> frozenset[str]:
        generation = self.generation()
        if self._graphs is not None and self._graphs[0] == generation:
            return self._graphs[1]
        chunks = [chunk async for chunk in self._run({"op": "graphs"})]
        names = frozenset(json.loads(b"".join(chunks)))
        self._graphs = (generation, names)
        return names

    async def probe_store(self) -> Any | None:
        if self._closed:
            return None
        return await self._probe.handle(self.generation())

    def execute(self, job: QueryJob) -> AsyncIterator[bytes]:
        # The job's fields as they are (tuples of strings; json writes them as lists): ``dataclasses.asdict`` would
        # deep-copy every substitution first.
        return self._run({"op": "query", **vars(job)})

    async def _run(self, payload: dict[str, Any]) -> AsyncIterator[bytes]:
        started = time.monotonic()
        deadline = started + self.timeout
        worker = await self._acquire(deadline)
        done = False
        try:
            await _send_async(worker.conn, orjson.dumps(payload))
            while True:
                remaining = deadline - time.monotonic()
                watch = self.memory_mb is not None and remaining > MEMORY_CHECK_SECONDS
                try:
                    message = await _recv_async(worker.conn, MEMORY_CHECK_SECONDS if watch else remaining)
                except (EOFError, OSError) as exc:
                    raise StoreError(f"the query worker died: {exc}") from exc
                if message is None and watch:
                    used = _resident_mb(worker.process.pid)
                    if used is not None and self.memory_mb is not None and used > self.memory_mb:
                        log.warning("query over the %d MB memory limit (%.0f MB); replacing its worker",
                                    self.memory_mb, used)
                        raise QueryTooLarge(
                            f"the query needed more than the {self.memory_mb} MB a query may use and was stopped; "
                            "narrow it (fewer rows, a LIMIT, fewer joined patterns)",
                            memory_limit_mb=self.memory_mb,
                        )
                    continue
                if message is None:
                    log.warning("query over the %.1f s limit; replacing its worker", self.timeout)
                    raise QueryTimeout(
                        f"the query did not finish within the {self.timeout:g} s time limit and was stopped",
                        time_limit=self.timeout,
                    )
                tag, body = message[:1], message[1:]
                if tag == b"D":
                    yield body
                elif tag == b"E":
                    done = True
                    return
                elif tag == b"S":
                    done = True
                    raise BadQuery(body.decode(errors="replace"))
                else:
                    done = True
                    detail = body.decode(errors="replace")
                    if detail.startswith("OSError"):
                        raise StoreError(f"the store failed: {detail}")
                    raise QueryNotEvaluable(f"the query parses but could not be evaluated: {detail}")
        finally:
            if done:
                self._release(worker)
            else:
                # Timed out, cancelled (client gone) or abandoned mid-stream: the worker may still be busy.
                self._replace(worker)


class StoreEngine(QueryEngine):
    """Queries through the :class:`kg.store.base.Store` interface, in threads of the server (the remote path:
    the SPARQL server enforces the time limit; it is passed on as ``timeout=`` when the store's ``query``
    accepts it). ``generation`` comes from ``generation_of(store)`` when given (else it never changes)."""

    def __init__(
        self,
        store: Any,
        *,
        timeout: float = 30.0,
        generation_of: Callable[[Any], str] | None = None,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self._generation_of = generation_of
        parameters = inspect.signature(store.query).parameters
        self._accepts_timeout = "timeout" in parameters
        self._accepts_base = "base_iri" in parameters

    async def close(self) -> None:
        await asyncio.to_thread(self.store.close)

    def generation(self) -> str:
        return self._generation_of(self.store) if self._generation_of else "static"

    async def current_generation(self) -> str:
        return await asyncio.to_thread(self.generation)

    async def graph_names(self) -> frozenset[str]:
        return frozenset(await asyncio.to_thread(self.store.graph_names))

    def _serialise(self, job: QueryJob) -> bytes:
        import pyoxigraph as ox

        kwargs: dict[str, Any] = {"use_default_graph_as_union": job.union_default}
        if job.default_graphs is not None:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
            kwargs["named_graphs"] = []
        if job.named_graphs is not None:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
            if job.default_graphs is None:
                kwargs["default_graph"] = []
        if self._accepts_timeout:
            kwargs["timeout"] = self.timeout
        if job.base_iri and self._accepts_base:
            kwargs["base_iri"] = job.base_iri
        substitutions = decode_substitutions(job.substitutions)
        if substitutions:
            kwargs["substitutions"] = substitutions
        result = self.store.query(job.query, **kwargs)
        if job.graph:
            return bytes(result.serialize(format=getattr(ox.RdfFormat, job.format_name)))
        return bytes(result.serialize(format=getattr(ox.QueryResultsFormat, job.format_name)))

    async def execute(self, job: QueryJob) -> AsyncIterator[bytes]:
        try:
            data = await asyncio.wait_for(asyncio.to_thread(self._serialise, job), timeout=self.timeout + 5)
        except TimeoutError:
            raise QueryTimeout(f"the query did not finish within the {self.timeout:g} s time limit") from None
        for start in range(0, len(data), CHUNK_BYTES):
            yield data[start : start + CHUNK_BYTES]
        if not data:
            yield b""
