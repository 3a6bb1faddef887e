"""What the benchmarks share: the generated data set in our vocabulary, the query mix, the engines a query runs on
(HTTP endpoints, pyoxigraph in-process), timing series, child processes, and the HTTP load generator (wrk, or a
bounded asyncio client where wrk is not installed).

Used by ``bench/endpoint.py`` (the endpoint comparison), ``bench/build.py`` (bulk loads) and ``bench/all.py`` (the
whole suite, ``make bench``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEC = "https://w3id.org/declarations/ontology#"
ID = "https://w3id.org/declarations/id/"
GRAPH = "https://w3id.org/declarations/graph/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
CITO = "http://purl.org/spar/cito/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"

TOPICS = [
    "remittances", "irregular-migration", "return-and-readmission", "human-trafficking", "migrant-smuggling",
    "labour-migration", "family-reunification", "integration", "xenophobia-and-discrimination", "asylum",
    "refugees", "statelessness", "border-management", "consular-protection", "diaspora", "brain-drain",
    "circular-migration", "development", "climate-and-migration", "migrant-children", "migrant-women",
    "health-of-migrants", "education", "data-and-statistics", "visa-policy", "regional-integration",
    "social-security", "decent-work", "detention", "rule-of-law",
]  # fmt: skip
ACTS = {  # lemma slug -> (lemma, kind class, surface form used in texts)
    "recognise": ("recognise", "AssertiveAct", "Recognise"),
    "reaffirm": ("reaffirm", "AssertiveAct", "Reaffirm"),
    "note": ("note", "AssertiveAct", "Note"),
    "express-concern": ("express concern", "AssertiveAct", "Express concern about"),
    "call-for": ("call for", "DirectiveAct", "Call for"),
    "urge": ("urge", "DirectiveAct", "Urge"),
    "invite": ("invite", "DirectiveAct", "Invite"),
    "request": ("request", "DirectiveAct", "Request"),
    "commit": ("commit", "CommissiveAct", "Commit to"),
    "resolve": ("resolve", "CommissiveAct", "Resolve to"),
    "undertake": ("undertake", "CommissiveAct", "Undertake to"),
    "agree": ("agree", "CommissiveAct", "Agree to"),
    "support": ("support", "SupportiveAct", "Support"),
    "welcome": ("welcome", "SupportiveAct", "Welcome"),
    "endorse": ("endorse", "SupportiveAct", "Endorse"),
}
KIND_OF = {"AssertiveAct": "Recognition", "DirectiveAct": "Appeal", "CommissiveAct": "Commitment", "SupportiveAct": "Endorsement"}
STATES = ["mexico", "brazil", "argentina", "chile", "colombia", "peru", "ecuador", "bolivia", "uruguay", "paraguay",
          "venezuela", "cuba", "guatemala", "honduras", "el-salvador", "nicaragua", "costa-rica", "panama",
          "dominican-republic", "haiti", "jamaica", "spain", "portugal", "france", "italy", "germany"] + [
    f"state-{i:03d}" for i in range(40)
]  # fmt: skip
FORUMS = 50
WORDS = ("cooperation dialogue partnership capacity policies framework protection rights dignity shared "
         "responsibility regional international national measures programmes mechanisms promote ensure strengthen "
         "access services communities origin transit destination countries governments").split()  # fmt: skip

QUERY_TOPIC = ID + "topic/remittances"
QUERY_STATE = ID + "state/mexico"
QUERY_ACT = ID + "speech-act/call-for"


# --- data -----------------------------------------------------------------------------------------------------------


def _lit(value: str, datatype: str | None = None, lang: str | None = None) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if lang:
        return f'"{escaped}"@{lang}'
    if datatype:
        return f'"{escaped}"^^<{datatype}>'
    return f'"{escaped}"'


def _int(n: int) -> str:
    return f'"{n}"^^<{XSD}integer>'


@dataclass
class Dataset:
    """The generated files and what is in them."""

    nquads: Path
    ntriples: Path
    triples: int
    declarations: int
    clauses: int
    lookup_iris: list[str]


def generate(folder: Path, triples: int, seed: int = 2010) -> Dataset:
    """Write about ``triples`` triples of declaration-shaped data to ``folder/data.nq`` (graphs) and ``data.nt``
    (the same triples, for rdflib); returns a :class:`Dataset`. Deterministic for a given seed."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    nq_path, nt_path = folder / "data.nq", folder / "data.nt"
    count = 0
    n_decl = n_clause = 0
    lookups: list[str] = []
    by_forum: dict[int, list[str]] = {}
    with nq_path.open("w", encoding="utf-8") as nq, nt_path.open("w", encoding="utf-8") as nt:

        def emit(graph: str, lines: list[str]) -> None:
            nonlocal count
            g = f" <{graph}> .\n"
            nq.write(g.join(lines) + g)
            nt.write(" .\n".join(lines) + " .\n")
            count += len(lines)

        ref: list[str] = []
        for slug in TOPICS:
            t = f"<{ID}topic/{slug}>"
            ref += [f"{t} <{RDF_TYPE}> <{SKOS}Concept>", f"{t} <{SKOS}inScheme> <{ID}scheme/topics>",
                    f"{t} <{SKOS}prefLabel> {_lit(slug.replace('-', ' '), lang='en')}"]  # fmt: skip
        for slug, (lemma, kind, _) in ACTS.items():
            a = f"<{ID}speech-act/{slug}>"
            ref += [f"{a} <{RDF_TYPE}> <{SKOS}Concept>", f"{a} <{RDF_TYPE}> <{DEC}{kind}>",
                    f"{a} <{SKOS}inScheme> <{ID}scheme/speech-acts>", f"{a} <{SKOS}prefLabel> {_lit(lemma, lang='en')}"]  # fmt: skip
        for i, slug in enumerate(STATES):
            s = f"<{ID}state/{slug}>"
            ref += [f"{s} <{RDF_TYPE}> <{DEC}State>", f"{s} <{RDFS}label> {_lit(slug.replace('-', ' ').title(), lang='en')}",
                    f"{s} <{DEC}isoCode> {_lit(f'X{i:02d}')}"]  # fmt: skip
        for k in range(FORUMS):
            ref += [f"<{ID}forum/forum-{k}> <{RDF_TYPE}> <{DEC}Forum>", f"<{ID}place/place-{k}> <{RDF_TYPE}> <{DEC}Place>"]
        emit(GRAPH + "reference", ref)

        acts = list(ACTS)
        while count < triples:
            key = f"gen-{n_decl:05d}"
            d = f"<{ID}declaration/{key}>"
            forum = n_decl % FORUMS
            year = 1990 + n_decl // FORUMS % 35
            meeting = f"<{ID}meeting/forum-{forum}-{n_decl}>"
            lines = [
                f"{d} <{RDF_TYPE}> <{DEC}Declaration>",
                f"{d} <{DCT}title> {_lit(f'Declaration {n_decl} of forum {forum}', lang='en')}",
                f"{d} <{DCT}date> {_lit(f'{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}', XSD + 'date')}",
                f"{d} <{DEC}adoptedAt> {meeting}",
                f"{meeting} <{RDF_TYPE}> <{DEC}Meeting>",
                f"{meeting} <{DEC}meetingOf> <{ID}forum/forum-{forum}>",
                f"{d} <{DEC}place> <{ID}place/place-{rng.randrange(FORUMS)}>",
                f"{d} <{DEC}sourceText> {_lit(f'Source text of declaration {n_decl}.')}",
            ]
            for state in rng.sample(STATES, rng.randint(3, 8)):
                lines.append(f"{d} <{DEC}adoptedBy> <{ID}state/{state}>")
            earlier = by_forum.setdefault(forum, [])
            for cited in rng.sample(earlier[-3:], min(len(earlier[-3:]), rng.randint(1, 2))):
                lines.append(f"{d} <{CITO}cites> {cited}")
            earlier.append(d)
            evidence = 0
            offset = 0
            for pos in range(1, rng.randint(15, 35) + 1):
                c = f"<{ID}clause/{key}/{pos}>"
                clause_acts = rng.sample(acts, 1 if rng.random() < 0.7 else 2)
                topics = rng.sample(TOPICS, 1 if rng.random() < 0.5 else 2)
                mentions = rng.sample(STATES, rng.randint(0, 2))
                words = " ".join(rng.choice(WORDS) for _ in range(8))
                text = f"{ACTS[clause_acts[0]][2]} the {words} on {topics[0].replace('-', ' ')}"
                if mentions:
                    text += f" with {mentions[0].replace('-', ' ').title()}"
                start, end = offset, offset + len(text)
                offset = end + 2
                lines += [
                    f"{c} <{RDF_TYPE}> <{DEC}Clause>",
                    f"{c} <{DEC}partOf> {d}",
                    f"{d} <{DEC}hasClause> {c}",
                    f"{c} <{DEC}position> {_int(pos)}",
                    f"{c} <{DEC}text> {_lit(text)}",
                    f"{c} <{DEC}start> {_int(start)}",
                    f"{c} <{DEC}end> {_int(end)}",
                ]
                for kind in sorted({KIND_OF[ACTS[a][1]] for a in clause_acts}):
                    lines.append(f"{c} <{RDF_TYPE}> <{DEC}{kind}>")
                facts = [(f"<{DEC}speechAct>", f"<{ID}speech-act/{a}>") for a in clause_acts]
                facts += [(f"<{DCT}subject>", f"<{ID}topic/{t}>") for t in topics]
                facts += [(f"<{DEC}mentions>", f"<{ID}state/{m}>") for m in mentions]
                for prop, value in facts:
                    evidence += 1
                    e = f"<{ID}evidence/{key}/{evidence}>"
                    lines += [
                        f"{c} {prop} {value}",
                        f"{c} <{DEC}hasEvidence> {e}",
                        f"{e} <{RDF_TYPE}> <{DEC}Evidence>",
                        f"{e} <{DEC}evidenceOf> {c}",
                        f"{e} <{DEC}property> {prop}",
                        f"{e} <{DEC}value> {value}",
                        f"{e} <{DEC}start> {_int(start)}",
                        f"{e} <{DEC}end> {_int(end)}",
                    ]
                n_clause += 1
                if rng.random() < 0.01:
                    lookups.append(c[1:-1])
            emit(GRAPH + f"declaration/{key}", lines)
            n_decl += 1
    return Dataset(nq_path, nt_path, count, n_decl, n_clause, lookups)


# --- the query mix --------------------------------------------------------------------------------------------------

PROLOGUE = f"PREFIX dec: <{DEC}>\nPREFIX dcterms: <{DCT}>\nPREFIX cito: <{CITO}>\n"


def query_mix(lookup_iri: str) -> dict[str, str]:
    """The named queries of the mix (full text, prologue included)."""
    return {
        "topic filter": f"SELECT ?c ?d WHERE {{ ?c dcterms:subject <{QUERY_TOPIC}> ; dec:partOf ?d }}",
        "4-way join": (
            f"SELECT ?c ?title WHERE {{ ?d dec:adoptedBy <{QUERY_STATE}> ; dcterms:title ?title . "
            f"?c dec:partOf ?d ; dec:speechAct <{QUERY_ACT}> ; dcterms:subject ?topic . "
            f"?topic a <{SKOS}Concept> }}"
        ),
        "group-by over all clauses": (
            "SELECT ?d (COUNT(?c) AS ?n) WHERE { ?c a dec:Clause ; dec:partOf ?d } GROUP BY ?d"
        ),
        "transitive citation path": (
            "SELECT ?d (COUNT(DISTINCT ?e) AS ?n) WHERE { ?d a dec:Declaration ; cito:cites+ ?e } GROUP BY ?d"
        ),
        "COUNT(*)": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "lookup by IRI": f"SELECT ?p ?o WHERE {{ <{lookup_iri}> ?p ?o }}",
        "text CONTAINS scan": 'SELECT ?c WHERE { ?c dec:text ?t FILTER(CONTAINS(LCASE(?t), "remittances")) }',
    }


def with_prologue(query: str, nonce: int | None = None) -> str:
    """The query with our prologue; with ``nonce``, one more unused PREFIX makes the text (and any cache key) new."""
    extra = f"PREFIX nonce{nonce}: <urn:bench:nonce:{nonce}>\n" if nonce is not None else ""
    return extra + PROLOGUE + query


# --- engines --------------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    seconds: float
    rows: int
    value: str | None  # the single value of a one-row, one-column answer
    timeout: bool = False
    error: str | None = None


class Engine:
    name = "engine"

    def run(self, query: str) -> Answer:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


def json_answer(started: float, body: bytes) -> Answer:
    seconds = time.perf_counter() - started
    data = json.loads(body)
    rows = data["results"]["bindings"]
    value = None
    if len(rows) == 1 and len(rows[0]) == 1:
        value = next(iter(rows[0].values()))["value"]
    return Answer(seconds, len(rows), value)


class HttpEngine(Engine):
    """A SPARQL endpoint over HTTP (POST form, SPARQL JSON results) on one kept-alive ``http.client`` connection,
    timed from sending the request to the last byte parsed (httpx's own overhead, about 1 ms per request here, would
    have been counted as the server's)."""

    def __init__(self, name: str, url: str, timeout: float, on_timeout: Callable[[], None] | None = None) -> None:
        from urllib.parse import urlsplit

        self.name = name
        self.url = url
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.timeout = timeout
        self.on_timeout = on_timeout
        self.connection: Any = None
        self.last_cache: str | None = None
        self.broken = False  # a request timed out: call on_timeout (restart) before the next one

    def run(self, query: str) -> Answer:
        import http.client
        from urllib.parse import urlencode

        if self.broken and self.on_timeout:
            self.on_timeout()
            self.broken = False
        body = urlencode({"query": query})
        headers = {"Accept": "application/sparql-results+json", "Content-Type": "application/x-www-form-urlencoded"}
        if self.connection is not None and self.connection.sock is not None and _peer_closed(self.connection.sock):
            self.close()  # the server dropped the idle kept-alive connection (Virtuoso after 10 s)
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.connection.request("POST", self.path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except TimeoutError:
            self.close()
            self.broken = True
            return Answer(time.perf_counter() - started, -1, None, timeout=True)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Answer(time.perf_counter() - started, -1, None, error=f"{type(exc).__name__}: {exc}")
        self.last_cache = response.getheader("x-cache")
        if response.status != 200:
            return Answer(time.perf_counter() - started, -1, None, error=f"HTTP {response.status}: {content[:200]!r}")
        return json_answer(started, content)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _peer_closed(sock: socket.socket) -> bool:
    """True when the other end has closed an idle connection (readable with nothing to read)."""
    import select

    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class InProcessEngine(Engine):
    """pyoxigraph in this process on a read-only handle of the on-disk store: query and iterate every solution."""

    name = "pyoxigraph in-process"

    def __init__(self, path: Path) -> None:
        import pyoxigraph

        self.store = pyoxigraph.Store.read_only(str(path))

    def run(self, query: str) -> Answer:
        started = time.perf_counter()
        result = self.store.query(query, use_default_graph_as_union=True)
        rows = [tuple(solution) for solution in result]  # type: ignore[union-attr]
        seconds = time.perf_counter() - started
        value = rows[0][0].value if len(rows) == 1 and len(rows[0]) == 1 else None
        return Answer(seconds, len(rows), value)

    def close(self) -> None:
        del self.store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 200; raises RuntimeError on timeout or when ``process`` exits."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


class Process:
    """A child process started in its own process group, stopped by its id."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:  # fmt: skip
        self.args = args
        self.log_path = log_path
        self.env = env
        self.cwd = cwd or PROJECT_DIR
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        out = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.args, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd, env=self.env, start_new_session=True
        )
        out.close()
        return self.popen

    def stop(self) -> None:
        popen, self.popen = self.popen, None
        if popen is None or popen.poll() is not None:
            return
        os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


# --- measuring ------------------------------------------------------------------------------------------------------


@dataclass
class Series:
    """Timings of one query on one engine in one mode."""

    engine: str
    query: str
    mode: str  # "fresh" or "repeated"
    seconds: list[float] = field(default_factory=list)
    rows: int | None = None
    value: str | None = None
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)
    cache: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def p95(self) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def measure(engine: Engine, name: str, query: str, mode: str, *, reps: int, budget: float, nonce: list[int]) -> Series:
    """Run ``query`` up to ``reps`` times (at least once, stopping when ``budget`` seconds are spent or on a
    timeout). ``fresh``: a new nonce prefix each run; ``repeated``: one warm-up run (not timed), then the same text."""
    series = Series(engine.name, name, mode)
    text = with_prologue(query, nonce[0])
    if mode == "repeated":
        warm = engine.run(text)
        if warm.timeout or warm.error:
            series.timeouts += int(warm.timeout)
            if warm.error:
                series.errors.append(warm.error)
            return series
    spent = 0.0
    for _ in range(reps):
        if mode == "fresh":
            nonce[0] += 1
            text = with_prologue(query, nonce[0])
        answer = engine.run(text)
        if answer.timeout:
            series.timeouts += 1
            break
        if answer.error:
            series.errors.append(answer.error)
            break
        series.seconds.append(answer.seconds)
        series.rows, series.value = answer.rows, answer.value
        if isinstance(engine, HttpEngine) and engine.last_cache:
            series.cache.append(engine.last_cache)
        spent += answer.seconds
        if spent > budget:
            break
    nonce[0] += 1
    return series


@dataclass(frozen=True)
class Request:
    """One request of a load: ``method`` and ``path`` (with its query string), an urlencoded form body for POST."""

    method: str
    path: str
    body: bytes = b""
    accept: str = "application/sparql-results+json"


def sparql_request(path: str, query: str) -> Request:
    """A SPARQL protocol POST of ``query`` (form-encoded) to ``path``, asking for SPARQL JSON."""
    from urllib.parse import urlencode

    return Request("POST", path, urlencode({"query": query}).encode())


class Connection:
    """One kept-alive HTTP/1.1 connection on asyncio streams: send a request, read the whole response.

    The load generator's own client: httpx's AsyncClient cost about 5 ms of client time per request on this machine
    (measured: 7 ms per cached answer against 1.5 ms with ``http.client``), which would have been counted as the
    server's latency.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: Request, timeout: float) -> int:
        """Send ``request`` and read the response; returns its status (0 when the connection failed or timed out)."""
        try:
            return await asyncio.wait_for(self._send(request), timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            await self.close()
            return 0

    async def _send(self, request: Request) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{request.method} {request.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: {request.accept}\r\n"
        if request.method == "POST":
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(request.body)}\r\n"
        self.writer.write((head + "\r\n").encode() + request.body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length is not None:
            await self.reader.readexactly(length)
        else:
            await self.reader.read()
            close = True
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def percentile(ordered: list[float], p: float) -> float | None:
    """The ``p`` quantile (0..1, nearest rank below) of an ascending list, or None when it is empty."""
    return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1)))] if ordered else None


#: The wrk script that sends a load's requests (``wrk_load``).
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_load.lua"
#: The requests written out for wrk per second of load: above this rate it sends the first ones again.
WRK_MAX_RATE = 6000


@functools.cache
def load_generator() -> str:
    """The load generator :func:`load` uses: ``"wrk <version>"`` when wrk is installed, else ``"asyncio"``."""
    import shutil

    if shutil.which("wrk") is None:
        return "asyncio"
    head = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    words = (head.stdout + head.stderr).split()
    return f"wrk {words[1]}" if len(words) > 1 else "wrk"


async def load(
    base_url: str, clients: int, seconds: float, make_request: Callable[[int, int], Request], *,
    ok: tuple[int, ...] = (200,), timeout: float = 60.0,
) -> dict[str, Any]:
    """``clients`` concurrent clients (one connection each, one request in flight each) sending the requests
    ``make_request(client, i)`` one after the other for ``seconds`` against ``base_url`` (scheme, host, port);
    returns requests/s, p50, p99 (ms), errors (a status not in ``ok``, or no answer within ``timeout``), the load
    generator's CPU share and its name, and ``rounds``: the most requests a client may have sent (``i`` stayed
    below it). wrk when it is installed (about a third of the CPU of the asyncio client per request, which shares
    the two cores with the server it measures), else :func:`asyncio_load`."""
    if load_generator() == "asyncio":
        return await asyncio_load(base_url, clients, seconds, make_request, ok=ok, timeout=timeout)
    return await wrk_load(base_url, clients, seconds, make_request, ok=ok, timeout=timeout)


async def wrk_load(
    base_url: str, clients: int, seconds: float, make_request: Callable[[int, int], Request], *,
    ok: tuple[int, ...] = (200,), timeout: float = 60.0,
) -> dict[str, Any]:
    """:func:`load` with wrk: one wrk thread keeps ``clients`` connections busy for ``seconds`` (rounded up to
    whole seconds, wrk's unit) with the requests of ``make_request`` taken round the clients
    (``(0, 0), (1, 0), … (0, 1), …``), written to a file first (``WRK_MAX_RATE`` a second; past them it starts
    again). Latencies are those of every response (the asyncio client's, of the successful ones)."""
    import resource
    import tempfile

    duration = max(1, int(-(-seconds // 1)))
    per_client = -(-duration * WRK_MAX_RATE // clients)

    def write_requests() -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8", delete=False) as out:
            for i in range(per_client):
                for number in range(clients):
                    request = make_request(number, i)
                    out.write(f"{request.method}\t{request.accept}\t{request.path}\t"
                              f"{request.body.decode('ascii')}\n")  # fmt: skip
        return out.name

    # In a thread: a second or so of writing must not hold up other clients on this event loop (the runaway one).
    path = await asyncio.to_thread(write_requests)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = await asyncio.create_subprocess_exec(
            "wrk", "-t1", f"-c{clients}", f"-d{duration}s", f"--timeout={max(1, round(timeout))}s",
            "-s", str(WRK_SCRIPT), base_url, "--", path, ",".join(map(str, ok)), "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await process.communicate()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(path)
    report = next((line for line in stdout.decode().splitlines() if line.startswith("WRKJSON ")), None)
    if process.returncode != 0 or report is None:
        raise RuntimeError(f"wrk failed (exit {process.returncode}): {(stderr or stdout).decode()[-500:]}")
    figures = json.loads(report.removeprefix("WRKJSON "))
    elapsed = figures["duration_us"] / 1e6
    succeeded = figures["responses"] - figures["failed"]
    unanswered = figures["socket_errors"] + figures["timeouts"]
    statuses = {int(k): v for k, v in figures["statuses"].items()} | ({0: unanswered} if unanswered else {})
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    # Line k of the file is request (client k % clients, i = k // clients); wrk takes the lines in order, and had
    # sent at most one more per connection than it got answers (or errors) for.
    rounds = -(-(figures["responses"] + figures["socket_errors"] + clients) // clients)
    return {"clients": clients, "requests": succeeded, "rps": succeeded / elapsed, "rounds": rounds,
            "p50_ms": figures["p50_us"] / 1000 if figures["responses"] else None,
            "p99_ms": figures["p99_us"] / 1000 if figures["responses"] else None,
            "errors": figures["failed"] + unanswered, "error_statuses": statuses, "client_cpu": cpu / elapsed,
            "generator": "wrk"}  # fmt: skip


async def asyncio_load(
    base_url: str, clients: int, seconds: float, make_request: Callable[[int, int], Request], *,
    ok: tuple[int, ...] = (200,), timeout: float = 60.0,
) -> dict[str, Any]:
    """:func:`load` with this module's own client (:class:`Connection`), when wrk is not installed."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + seconds
    connections = [Connection(parts.hostname or "127.0.0.1", parts.port or 80) for _ in range(clients)]

    rounds = 0

    async def worker(number: int) -> None:
        nonlocal errors, rounds
        i = 0
        while time.perf_counter() < stop_at:
            rounds = max(rounds, i + 1)
            request = make_request(number, i)
            started = time.perf_counter()
            status = await connections[number].send(request, timeout)
            if status in ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
                statuses[status] = statuses.get(status, 0) + 1
            i += 1

    begun, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    elapsed = time.perf_counter() - begun
    client_cpu = (time.process_time() - cpu) / elapsed
    for connection in connections:
        await connection.close()
    ordered = sorted(latencies)
    p50, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
    return {"clients": clients, "requests": len(latencies), "rps": len(latencies) / elapsed, "rounds": rounds,
            "p50_ms": None if p50 is None else p50 * 1000, "p99_ms": None if p99 is None else p99 * 1000,
            "errors": errors, "error_statuses": statuses, "client_cpu": client_cpu, "generator": "asyncio"}  # fmt: skip


def process_tree_rss_mb(pid: int) -> float:
    """Resident memory (MB) of process ``pid`` and all its descendants, read from /proc (0 when it is gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, ()))
    return total / 2**20


def tree_bytes(path: Path) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# --- reporting ------------------------------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}x" if a / b < 10 else f"{a / b:.0f}x"




def write_report_section(heading: str, text: str, path: Path | None = None) -> None:
    """Put ``text`` (which starts with ``heading``, e.g. ``"## Ingestion"``) into ``docs/benchmarks.md`` in place of
    the section under that heading, or at the end when there is none, leaving the other sections as they are."""
    if path is None:
        from kg.paths import DOCS_DIR

        path = DOCS_DIR / "benchmarks.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find(heading + "\n")
    if start == -1:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(heading))
        new = old[:start] + text + ("" if end == -1 else old[end + 1 :])
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
