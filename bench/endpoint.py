"""Endpoint benchmark: our SPARQL endpoint against pyoxigraph in-process, an rdflib endpoint and Virtuoso.

``python -m bench endpoint --triples 1000000`` (about 10 minutes on 2 cores):

1. generates declaration-shaped data in our vocabulary (declarations citing earlier ones of their forum, clauses with
   speech acts, kinds, topics, mentions and evidence nodes; one named graph per declaration plus a reference graph);
2. loads it into (a) an on-disk pyoxigraph store, (b) a private Virtuoso (``tests/helpers/virtuoso.py``, bulk
   loader), (c) an rdflib ``Graph`` behind a minimal FastAPI endpoint (``bench/_rdflib_endpoint.py``);
3. starts ``kg serve`` on a free port over the pyoxigraph store;
4. runs a query mix on each engine — our endpoint over HTTP, pyoxigraph in-process (the floor), the rdflib endpoint
   (capped per query; timeouts reported) and Virtuoso over HTTP — twice: *fresh* runs (each query text made unique
   by an unused ``PREFIX``, so no result cache can answer) and *repeated* runs (the same text again), and checks
   that every engine returns the same number of rows (and the same value for one-row aggregates);
5. measures throughput at 1, 8 and 32 concurrent clients against our endpoint with a bounded asyncio load generator
   (one kept-alive connection per client, one request in flight each): repeated queries (the light part of the mix)
   and distinct lookups (a new IRI each request);
6. prints Markdown tables (and writes them with the raw figures as JSON into the work folder).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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


def _json_answer(started: float, body: bytes) -> Answer:
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
        return _json_answer(started, content)

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

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log_path = log_path
        self.env = env
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        out = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.args, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_DIR, env=self.env, start_new_session=True
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


class _Connection:
    """One kept-alive HTTP/1.1 connection on asyncio streams: POST a form, read the whole response.

    The load generator's own client: httpx's AsyncClient cost about 5 ms of client time per request on this machine
    (measured: 7 ms per cached answer against 1.5 ms with ``http.client``), which would have been counted as the
    server's latency.
    """

    def __init__(self, host: str, port: int, path: str) -> None:
        self.host, self.port, self.path = host, port, path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, form: str, timeout: float) -> int:
        """Send ``form`` (urlencoded) and read the response; returns its status (0 when the connection failed)."""
        try:
            return await asyncio.wait_for(self._post(form.encode()), timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            await self.close()
            return 0

    async def _post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Accept: application/sparql-results+json\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
        self.writer.write(head + body)
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


async def _load(url: str, clients: int, seconds: float, make_query: Callable[[int, int], str]) -> dict[str, Any]:
    """``clients`` concurrent clients (one connection each, one request in flight each) sending requests one after
    the other for ``seconds``; returns requests/s, p50, p99 (ms), errors and the load generator's CPU share."""
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    connections = [_Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path) for _ in range(clients)]

    async def worker(number: int) -> None:
        nonlocal errors
        i = 0
        while time.perf_counter() < stop_at:
            form = urlencode({"query": make_query(number, i)})
            started = time.perf_counter()
            status = await connections[number].post(form, timeout=60)
            if status == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
            i += 1

    begun, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    elapsed = time.perf_counter() - begun
    client_cpu = (time.process_time() - cpu) / elapsed
    for connection in connections:
        await connection.close()
    ordered = sorted(latencies)

    def pct(p: float) -> float | None:
        return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1)))] * 1000 if ordered else None

    return {"clients": clients, "requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": pct(0.5),
            "p99_ms": pct(0.99), "errors": errors, "client_cpu": client_cpu}  # fmt: skip


# --- reporting ------------------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}x" if a / b < 10 else f"{a / b:.0f}x"


def report(results: dict[str, Any]) -> str:
    """Markdown tables of the results."""
    series: list[Series] = results["series"]
    engines = results["engines"]
    out = [f"Data: {results['triples']:,} triples, {results['declarations']:,} declarations, "
           f"{results['clauses']:,} clauses, {results['graphs']:,} named graphs. Loads: " +
           ", ".join(f"{k} {v:.1f} s" for k, v in results["loads"].items()) + ".", ""]  # fmt: skip
    if results.get("load_average"):
        low, mid, high = results["load_average"]
        out[0] += (f" Machine: {os.cpu_count()} cores shared with other work; 1-minute load average during the "
                   f"runs {low:.1f} to {high:.1f} (median {mid:.1f}).")  # fmt: skip
    index = {(s.engine, s.query, s.mode): s for s in series}
    for mode in ("fresh", "repeated"):
        out.append(f"Median / p95 per query, {mode} runs (n = runs timed):")
        out.append("")
        out.append("| query | rows | " + " | ".join(engines) + " |")
        out.append("| --- | --- |" + " --- |" * len(engines))
        for name in results["queries"]:
            cells = []
            rows = ""
            for engine in engines:
                s = index.get((engine, name, mode))
                if s is None:
                    cells.append("–")
                    continue
                if s.timeouts:
                    cells.append(f"timeout (> {results['rdflib_timeout']:.0f} s)")
                elif s.errors:
                    cells.append("error")
                else:
                    cells.append(f"{_ms(s.median)} / {_ms(s.p95)} (n={len(s.seconds)})")
                    rows = rows or str(s.rows)
            out.append(f"| {name} | {rows} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Ratios of medians (fresh runs unless marked repeated):")
    out.append("")
    ours, floor, rdfl, virt = (results["engine_names"][k] for k in ("ours", "floor", "rdflib", "virtuoso"))
    out.append("| query | ours / pyoxigraph in-process | ours repeated / pyoxigraph in-process | rdflib / ours | "
               "Virtuoso / ours | Virtuoso repeated / ours repeated |")  # fmt: skip
    out.append("| --- | --- | --- | --- | --- | --- |")
    totals: dict[str, float] = {}
    for name in results["queries"]:
        def med(engine: str, mode: str = "fresh") -> float | None:
            s = index.get((engine, name, mode))
            if s is None:
                return None
            if s.timeouts:
                return results["rdflib_timeout"]  # a lower bound
            return s.median

        o, f, r, v = med(ours), med(floor), med(rdfl), med(virt)
        orep, vrep = med(ours, "repeated"), med(virt, "repeated")
        for key, val in (("ours", o), ("floor", f), ("rdflib", r), ("virtuoso", v), ("ours_rep", orep), ("virt_rep", vrep)):
            if val is not None:
                totals[key] = totals.get(key, 0.0) + val
        timed_out = index.get((rdfl, name, "fresh"))
        rd = _ratio(r, o) + (" (≥, timeout)" if timed_out is not None and timed_out.timeouts else "")
        out.append(f"| {name} | {_ratio(o, f)} | {_ratio(orep, f)} | {rd} | {_ratio(v, o)} | {_ratio(vrep, orep)} |")
    out.append(
        f"| **whole mix (sum of medians)** | {_ratio(totals.get('ours'), totals.get('floor'))} | "
        f"{_ratio(totals.get('ours_rep'), totals.get('floor'))} | "
        f"{_ratio(totals.get('rdflib'), totals.get('ours'))} | {_ratio(totals.get('virtuoso'), totals.get('ours'))} | "
        f"{_ratio(totals.get('virt_rep'), totals.get('ours_rep'))} |"
    )
    out.append("")
    out.append("Counts check: " + results["counts_check"])
    out.append("")
    if results.get("throughput"):
        out.append("Throughput of our endpoint on loopback:")
        out.append("")
        out.append("| workload | clients | requests/s | p50 | p99 | errors | load generator CPU |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for row in results["throughput"]:
            p50 = "–" if row["p50_ms"] is None else f"{row['p50_ms']:.1f} ms"
            p99 = "–" if row["p99_ms"] is None else f"{row['p99_ms']:.1f} ms"
            out.append(f"| {row['workload']} | {row['clients']} | {row['rps']:.0f} | {p50} | {p99} | {row['errors']} | "
                       f"{row['client_cpu']:.0%} of a core |")  # fmt: skip
        out.append("")
    return "\n".join(out)


# --- the run --------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns the results (see :func:`report`)."""
    import pyoxigraph

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-endpoint-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}", flush=True)
    loads: dict[str, float] = {}
    started = time.perf_counter()
    data = generate(work / "data", args.triples)
    loads["generate"] = time.perf_counter() - started
    print(f"generated {data.triples:,} triples in {loads['generate']:.1f} s", flush=True)
    lookup = data.lookup_iris[len(data.lookup_iris) // 2]
    queries = query_mix(lookup)

    store_dir = work / "oxigraph"
    shutil.rmtree(store_dir, ignore_errors=True)
    started = time.perf_counter()
    store = pyoxigraph.Store(str(store_dir))
    store.bulk_load(path=str(data.nquads), format=pyoxigraph.RdfFormat.N_QUADS)
    store.optimize()
    loaded = len(store)
    graphs = sum(1 for _ in store.named_graphs())
    del store
    loads["pyoxigraph"] = time.perf_counter() - started
    print(f"pyoxigraph: {loaded:,} quads in {graphs:,} graphs, {loads['pyoxigraph']:.1f} s", flush=True)

    processes: list[Process] = []
    engines: list[Engine] = []
    names = {"ours": "our endpoint (HTTP)", "floor": "pyoxigraph in-process", "rdflib": "rdflib endpoint (HTTP)",
             "virtuoso": "Virtuoso (HTTP)"}  # fmt: skip
    virtuoso = None
    virtuoso_baseline = 0
    try:
        # our endpoint
        port = free_port()
        env = dict(os.environ, KG_MAX_QUERIES_PER_CLIENT="64", KG_WORKERS=str(args.workers))
        kg = shutil.which("kg", path=str(Path(sys.executable).parent)) or "kg"
        ours = Process([kg, "serve", "--store", str(store_dir), "--port", str(port), "--query-timeout",
                        str(args.rdflib_timeout)], work / "kg-serve.log", env)  # fmt: skip
        processes.append(ours)
        popen = ours.start()
        our_url = f"http://127.0.0.1:{port}/sparql"
        wait_http(f"{our_url}?query=ASK%7B%7D", 120, popen)
        engines.append(HttpEngine(names["ours"], our_url, args.rdflib_timeout + 10))
        engines.append(InProcessEngine(store_dir))

        if not args.skip_virtuoso:
            sys.path.insert(0, str(PROJECT_DIR))
            from tests.helpers.virtuoso import Virtuoso, virtuoso_available

            if virtuoso_available():
                virtuoso = Virtuoso(work / "virtuoso", memory_gb=args.virtuoso_gb, data_dirs=(data.nquads.parent,),
                                    max_seconds=int(args.rdflib_timeout))  # fmt: skip
                virtuoso.start()
                v_engine = HttpEngine(names["virtuoso"], virtuoso.sparql_url, args.rdflib_timeout + 10)
                baseline = v_engine.run(queries["COUNT(*)"])
                virtuoso_baseline = int(baseline.value or 0)
                started = time.perf_counter()
                virtuoso.bulk_load(data.nquads.parent, "data.nq", GRAPH + "unused")
                loads["Virtuoso"] = time.perf_counter() - started
                print(f"Virtuoso: loaded in {loads['Virtuoso']:.1f} s ({virtuoso_baseline} system triples before)", flush=True)
                engines.append(v_engine)
            else:
                print("Virtuoso: not installed (Debian: virtuoso-opensource); left out", flush=True)

        rdflib_engine = None
        if not args.skip_rdflib:
            r_port = free_port()
            rdf_proc = Process([sys.executable, "-m", "bench._rdflib_endpoint", str(data.ntriples), "--port", str(r_port)],
                               work / "rdflib.log")  # fmt: skip
            processes.append(rdf_proc)

            def restart_rdflib() -> None:
                print("  rdflib endpoint timed out before: restarting it", flush=True)
                rdf_proc.stop()
                wait_http(f"http://127.0.0.1:{r_port}/health", 300, rdf_proc.start())

            started = time.perf_counter()
            wait_http(f"http://127.0.0.1:{r_port}/health", 300, rdf_proc.start())
            loads["rdflib"] = time.perf_counter() - started
            print(f"rdflib endpoint: loaded in {loads['rdflib']:.1f} s", flush=True)
            rdflib_engine = HttpEngine(names["rdflib"], f"http://127.0.0.1:{r_port}/sparql", args.rdflib_timeout, restart_rdflib)
            engines.append(rdflib_engine)

        series: list[Series] = []
        nonce = [0]
        loads_seen: list[float] = []
        for engine in engines:  # one engine after the other: the rdflib endpoint restarts at most between queries
            for name, query in queries.items():
                for mode in ("fresh", "repeated"):
                    if mode == "repeated" and (engine is rdflib_engine or isinstance(engine, InProcessEngine)):
                        continue  # neither keeps results: a repeated run is another fresh run
                    loads_seen.append(os.getloadavg()[0])
                    reps = args.rdflib_reps if engine is rdflib_engine else args.reps
                    budget = args.rdflib_budget if engine is rdflib_engine else args.budget
                    s = measure(engine, name, query, mode, reps=reps, budget=budget, nonce=nonce)
                    if engine.name == names["virtuoso"] and name == "COUNT(*)" and s.value is not None:
                        s.value = str(int(s.value) - virtuoso_baseline)  # its own system graphs are in its union
                    series.append(s)
                    state = "timeout" if s.timeouts else ("error: " + s.errors[0][:120]) if s.errors else (
                        f"median {_ms(s.median)} p95 {_ms(s.p95)} n={len(s.seconds)} rows={s.rows}"
                        + (f" value={s.value}" if s.value is not None else "")
                        + (f" cache={','.join(sorted(set(s.cache)))}" if s.cache else ""))  # fmt: skip
                    print(f"{name:28} {engine.name:24} {mode:8} {state}", flush=True)

        problems = []
        for name in queries:
            answers = {(s.engine, s.mode): (s.rows, s.value) for s in series if s.query == name and s.seconds}
            if len(set(answers.values())) > 1:
                problems.append(f"{name}: {answers}")
        counts_check = ("identical row counts (and one-row values) on every engine that answered"
                        + (f"; Virtuoso's COUNT(*) less its {virtuoso_baseline} system triples" if virtuoso else "")
                        if not problems else "DIFFERENCES: " + "; ".join(problems))  # fmt: skip
        print("counts check:", counts_check, flush=True)

        throughput: list[dict[str, Any]] = []
        if args.duration > 0:
            light = [with_prologue(queries[n]) for n in ("topic filter", "4-way join", "lookup by IRI")]
            lookups = data.lookup_iris
            workloads: dict[str, Callable[[int, int], str]] = {
                "repeated queries (topic filter, 4-way join, lookup)": lambda n, i: light[(n + i) % len(light)],
                "distinct lookups by IRI (uncached)": lambda n, i: with_prologue(
                    f"SELECT ?p ?o WHERE {{ <{lookups[(n * 7919 + i) % len(lookups)]}> ?p ?o }}", n * 1_000_000 + i
                ),
            }
            for workload, make in workloads.items():
                for clients in (1, 8, 32):
                    loads_seen.append(os.getloadavg()[0])
                    row = asyncio.run(_load(our_url, clients, args.duration, make))
                    row["workload"] = workload
                    throughput.append(row)
                    print(f"throughput {workload} x{clients}: {row['rps']:.0f} req/s p50 {row['p50_ms']} ms "
                          f"p99 {row['p99_ms']} ms errors {row['errors']}", flush=True)  # fmt: skip
    finally:
        for engine in engines:
            engine.close()
        for process in processes:
            process.stop()
        if virtuoso is not None:
            virtuoso.stop()

    return {
        "triples": data.triples, "declarations": data.declarations, "clauses": data.clauses, "graphs": graphs,
        "loads": loads, "queries": list(queries), "engines": [e.name for e in engines], "engine_names": names,
        "series": series, "counts_check": counts_check, "throughput": throughput,
        "rdflib_timeout": args.rdflib_timeout, "work": str(work),
        "load_average": [min(loads_seen), statistics.median(loads_seen), max(loads_seen)] if loads_seen else None,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m bench endpoint [--triples N] ...``; prints the report; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench endpoint", description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000, help="about how many triples to generate")
    parser.add_argument("--workdir", help="folder for data, stores and logs (default: a new temporary folder)")
    parser.add_argument("--reps", type=int, default=15, help="timed runs per query and mode (fast engines)")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per query and mode before stopping early")
    parser.add_argument("--rdflib-reps", type=int, default=5)
    parser.add_argument("--rdflib-budget", type=float, default=20.0)
    parser.add_argument("--rdflib-timeout", type=float, default=60.0, help="per-query cap (rdflib; also the others)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput level (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="query worker processes of our endpoint")
    parser.add_argument("--virtuoso-gb", type=float, default=2.0, help="Virtuoso buffer pool size")
    parser.add_argument("--skip-rdflib", action="store_true")
    parser.add_argument("--skip-virtuoso", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    results = run(args)
    text = report(results)
    print()
    print(text)
    print(f"\n(total {time.perf_counter() - began:.0f} s)")
    out = Path(results["work"]) / "results.json"
    serialisable = dict(results, series=[asdict(s) | {"median": s.median, "p95": s.p95} for s in results["series"]])
    out.write_text(json.dumps(serialisable, indent=2), encoding="utf-8")
    (Path(results["work"]) / "report.md").write_text(text + "\n", encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
