"""The whole benchmark suite in one command (``make bench`` = ``python -m bench all``): writes docs/benchmarks.md.

Two data sets: **1M** — declaration texts (:mod:`bench.corpus`) through our own ingestion (extract, convert,
SHACL-check, write), on one core and on two; **10M** — generated triples in our vocabulary
(:func:`bench.common.generate`) bulk loaded (:mod:`bench.build`). On each: the query mix (the endpoint benchmark's
seven queries, the parameter-free files of ``queries/``, lookups by IRI and heavy analytical queries) on our
endpoint over HTTP, pyoxigraph in-process, Virtuoso and (1M only) the rdflib endpoint, with row counts compared;
HTTP load at 1, 8 and 32 clients (SPARQL, linked data ``/id`` → ``/doc``, REST ``/api/...``), the same while a
runaway query is being stopped by the time limit, and the server's memory (its process and its query workers).
With ``--before DIR`` (a checkout of an earlier commit) the load is also run against that server, side by side.

Each part writes its figures to ``WORK/SCALE.json`` as soon as it is done; ``--report-only`` renders the report from
those files (so a run cut short still yields the parts that finished).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench.common import (
    GRAPH,
    ID,
    PROJECT_DIR,
    Engine,
    HttpEngine,
    InProcessEngine,
    Process,
    Request,
    free_port,
    load,
    load_generator,
    measure,
    ms,
    process_tree_rss_mb,
    query_mix,
    ratio,
    sparql_request,
    tree_bytes,
    wait_http,
    with_prologue,
)

log = logging.getLogger(__name__)

DOC = PROJECT_DIR / "docs" / "benchmarks.md"
HISTORY = Path(__file__).with_name("history.md")
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LEVELS = (1, 8, 32)
#: Clauses taken from the store as keys of the loads (the levels of a workload use different ones).
LOAD_CLAUSES = 40_000


# --- the machine ----------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions of everything measured."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kb = int(f.readline().split()[1])
    versions = {"python": platform.python_version()}
    for package in ("pyoxigraph", "rdflib", "fastapi", "starlette", "uvicorn", "uvloop", "httptools"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    virtuoso = "not installed"
    if shutil.which("virtuoso-t"):
        done = subprocess.run(["virtuoso-t", "-?"], capture_output=True, text=True, check=False)
        for line in (done.stdout + done.stderr).splitlines():
            if "Version" in line:
                virtuoso = line.strip()
                break
    versions["virtuoso"] = virtuoso
    versions["load generator"] = load_generator()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True,
                            text=True, check=False).stdout.strip()  # fmt: skip
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_kb / 2**20, "os": platform.platform(),
            "versions": versions, "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip


@contextmanager
def pinned(cores: int) -> Iterator[None]:
    """Run the body with this process (and the children it starts) on the first ``cores`` cores."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(sorted(before)[:cores]))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# --- building the data sets -----------------------------------------------------------------------------------------


def ingest_set(work: Path, triples: int, processes: int) -> dict[str, Any]:
    """The 1M set: enough generated declaration texts for about ``triples`` triples, ingested on one core (one
    process, bulk writes) and on two (``processes`` workers + the writer); the second store is kept as
    ``work/oxigraph`` and dumped to N-Quads (Virtuoso) and N-Triples (rdflib). Returns the figures."""
    import pyoxigraph as ox

    from bench import corpus, ingest
    from kg.ingest import Pipeline

    logging.getLogger("kg").setLevel(logging.ERROR)
    sample = corpus.generate(work / "sample", 40, seed=7)
    pipeline = Pipeline()
    per_declaration = statistics.mean(len(pipeline.prepare_file(p).quads) for p in sample)
    n = max(10, int(triples / per_declaration))
    started = time.perf_counter()
    paths = corpus.generate(work / "corpus", n)
    generated = time.perf_counter() - started
    print(f"1M: {n} declaration texts ({per_declaration:.0f} triples each on average) in {generated:.1f} s", flush=True)
    runs = []
    with pinned(1):
        runs.append(ingest.single(paths, work, bulk=True))
    runs[-1].name = "one core: one process, bulk writes"
    print(f"  {runs[-1].name}: {runs[-1].per_second:.1f} declarations/s", flush=True)
    runs.append(ingest.parallel(paths, work, processes=processes, bulk=True))
    runs[-1].name = f"two cores: {processes} extraction workers + the writer, bulk writes"
    print(f"  {runs[-1].name}: {runs[-1].per_second:.1f} declarations/s", flush=True)
    shutil.rmtree(work / "store-single", ignore_errors=True)
    store_dir = work / "oxigraph"
    shutil.rmtree(store_dir, ignore_errors=True)
    (work / "store-parallel").rename(store_dir)
    store = ox.Store(str(store_dir))
    store.optimize()
    quads = len(store)
    graphs = sum(1 for _ in store.named_graphs())
    data = work / "data"
    data.mkdir(exist_ok=True)
    store.dump(str(data / "data.nq"), format=ox.RdfFormat.N_QUADS)
    with (data / "data.nt").open("wb") as nt:
        for quad in store.quads_for_pattern(None, None, None, None):
            nt.write(f"{quad.subject} {quad.predicate} {quad.object} .\n".encode())
    query = (f"SELECT ?c WHERE {{ GRAPH ?g {{ ?c a <https://w3id.org/declarations/ontology#Clause> }} "
             f"FILTER(STRSTARTS(STR(?c), '{ID}clause/')) }}")  # fmt: skip
    clauses = [s["c"].value for s in store.query(query)]  # type: ignore[index,union-attr]
    declarations = sum(1 for _ in store.query(
        "SELECT ?d WHERE { GRAPH ?g { ?d a <https://w3id.org/declarations/ontology#Declaration> } }"))  # fmt: skip
    del store
    return {
        "kind": "ingested", "requested": triples, "declarations_generated": n, "generate_seconds": generated,
        "runs": [asdict(r) | {"per_second": r.per_second, "triples_per_second": r.triples_per_second} for r in runs],
        "triples": quads, "graphs": graphs, "declarations": declarations, "clauses": len(clauses),
        "lookup_iris": clauses[:: max(1, len(clauses) // 2000)], "store_bytes": tree_bytes(store_dir),
        "nquads": str(data / "data.nq"), "ntriples": str(data / "data.nt"),
    }  # fmt: skip


def bulk_figures(work: Path, triples: int) -> list[dict[str, Any]]:
    """Bulk loading generated triples of the 1M size on one core and on two (fresh stores, child processes)."""
    from bench.build import bulk_load
    from bench.common import generate

    data = generate(work / "generated", triples)
    rows = []
    for cores in (1, 2):
        figures = bulk_load(data.nquads, work / f"bulk-{cores}", cores=cores)
        shutil.rmtree(work / f"bulk-{cores}", ignore_errors=True)
        rows.append(figures)
        print(f"  bulk load {figures['quads']:,} quads on {cores} core(s): {figures['seconds']:.1f} s", flush=True)
    shutil.rmtree(work / "generated", ignore_errors=True)
    return rows


# --- the query mix --------------------------------------------------------------------------------------------------


def named_queries() -> dict[str, str]:
    """The files of ``queries/`` that run without parameters (every parameter optional), as ``queries/NAME``."""
    from api.queries import load_queries
    from kg.paths import QUERIES_DIR

    out = {}
    for name, query in sorted(load_queries(QUERIES_DIR).items()):
        if all(not p.required for p in query.parameters):
            out[f"queries/{name}"] = query.sparql
    return out


def full_mix(lookup: str, named: set[str] | None = None) -> dict[str, str]:
    """The seven queries of the endpoint benchmark, the parameter-free files of ``queries/``, a DESCRIBE-like
    lookup of a declaration and one more heavy aggregate."""
    mix = query_mix(lookup)
    mix["kinds per topic (heavy)"] = (
        "SELECT ?topic ?kind (COUNT(?c) AS ?n) WHERE { ?c dcterms:subject ?topic ; a ?kind . "
        "FILTER(?kind IN (dec:Commitment, dec:Appeal, dec:Recognition, dec:Endorsement)) } GROUP BY ?topic ?kind"
    )
    try:
        mix.update({k: v for k, v in named_queries().items() if named is None or k.removeprefix("queries/") in named})
    except Exception as exc:  # noqa: BLE001 - the suite goes on with the fixed mix; the report says so
        log.warning("queries/ left out of the mix: %s", exc)
    return mix


# --- servers --------------------------------------------------------------------------------------------------------


class Server:
    """``kg serve`` (from ``source``, default this checkout) over ``store`` on a free port, with ``timeout``."""

    def __init__(self, store: Path, log_path: Path, *, timeout: float, workers: int = 2,
                 source: Path | None = None) -> None:  # fmt: skip
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, KG_MAX_QUERIES_PER_CLIENT="256", KG_WORKERS=str(workers))
        if source is not None:
            env["PYTHONPATH"] = str(source)
            if "uvloop" not in (source / "pyproject.toml").read_text(encoding="utf-8"):
                # A commit from before uvloop and httptools were dependencies ran on asyncio + h11.
                blocker = Path(tempfile.mkdtemp(prefix="bench-before-"))
                (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['uvloop'] = None\n"
                                                          "sys.modules['httptools'] = None\n")  # fmt: skip
                env["PYTHONPATH"] = f"{source}:{blocker}"
        code = "import sys; from kg.cli import main; sys.argv[0] = 'kg'; sys.exit(main())"
        # Started in ``source`` when given: ``python -c`` puts the working folder first on sys.path.
        self.process = Process([sys.executable, "-c", code, "serve", "--store", str(store), "--port", str(self.port),
                                "--query-timeout", str(timeout)], log_path, env, cwd=source)  # fmt: skip

    def start(self) -> Server:
        popen = self.process.start()
        wait_http(f"{self.base}/sparql?query=ASK%7B%7D", 180, popen)
        return self

    @property
    def pid(self) -> int:
        assert self.process.popen is not None
        return self.process.popen.pid

    def rss_mb(self) -> float:
        return process_tree_rss_mb(self.pid)

    def stop(self) -> None:
        self.process.stop()


class MemorySampler:
    """Samples the RSS of a process tree every ``interval`` seconds in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, process_tree_rss_mb(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Workload:
    """One load workload: ``make(client, i)`` gives client ``client``'s ``i``-th request; ``ok`` the statuses that
    count as success; ``keys_per_request`` how many keys of each list it draws from a request uses (0: none), and
    ``space`` the length of the shortest of those lists."""

    make: Callable[[int, int], Request]
    ok: tuple[int, ...]
    keys_per_request: float = 0
    space: int = 0


class LoadKeys:
    """The IRIs the *distinct* workloads look up: clauses (SPARQL lookups, linked data, REST evidence) and
    declarations (REST), and for each workload the number of the first key the next level may use.

    Client ``n``'s ``j``-th key at a level of ``c`` clients is key number ``start + j*c + n``, spread over a list
    by a prime step, so no two requests of a level share a key and a level that starts where the previous one
    ended (:meth:`advance`) repeats none of its keys: no answer can come from the server's result cache until a
    list runs out (then keys come round again; :meth:`advance` reports how many were sent before)."""

    STEP = 104729  # a prime: key numbers that differ by less than a list's length pick different items

    def __init__(self, clauses: list[str], declarations: list[str]) -> None:
        self.clauses, self.declarations = clauses, declarations
        self.next: dict[str, int] = {}

    def pick(self, items: list[str], number: int) -> str:
        step = self.STEP if len(items) % self.STEP else 1
        return items[(number * step) % len(items)]

    def advance(self, name: str, workload: Workload, start: int, clients: int, rounds: int) -> dict[str, int]:
        """Record that a level of ``clients`` clients of ``workload`` starting at key ``start`` sent at most
        ``rounds`` requests per client; returns the keys it used (``from``, ``to``) and how many of them earlier
        levels had sent (``repeated``: past the end of a list of ``space`` keys)."""
        per_request, space = workload.keys_per_request, workload.space
        used = (int((rounds - 1) * per_request) + 1) * clients if rounds and per_request else 0
        self.next[name] = start + used
        return {"from": start, "to": start + used, "space": space,
                "repeated": max(0, min(used, start + used - space))}  # fmt: skip


def workloads(lookups: list[str], keys: LoadKeys, start: int = 0, clients: int = 1) -> dict[str, Workload]:
    """The load workloads by name, for a level of ``clients`` clients whose keys start at key ``start``."""
    light = [with_prologue(q) for q in list(query_mix(lookups[0]).values())[:1]]
    light += [with_prologue(query_mix(lookups[0])["4-way join"]), with_prologue(query_mix(lookups[0])["lookup by IRI"])]

    def key(items: list[str], n: int, j: int) -> str:
        return keys.pick(items, start + j * clients + n)

    def sparql_repeated(n: int, i: int) -> Request:
        return sparql_request("/sparql", light[(n + i) % len(light)])

    def sparql_lookup(n: int, i: int) -> Request:
        iri = key(keys.clauses, n, i)
        return sparql_request("/sparql", with_prologue(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}",
                                                       (start + i * clients + n)))  # fmt: skip

    def linked_data(n: int, i: int) -> Request:
        path = key(keys.clauses, n, i // 2).removeprefix(ID)
        if i % 2 == 0:
            return Request("GET", f"/id/{path}", accept="text/turtle")
        return Request("GET", f"/doc/{path}", accept="text/turtle")

    def rest(n: int, i: int) -> Request:
        if i % 2 == 0:
            clause = key(keys.clauses, n, i // 2).removeprefix(ID + "clause/")
            return Request("GET", f"/api/evidence?{urlencode({'clause': clause})}", accept="application/json")
        declaration = key(keys.declarations, n, i // 2).removeprefix(ID + "declaration/")
        return Request("GET", f"/api/declaration?{urlencode({'declaration': declaration})}", accept="application/json")

    return {
        "SPARQL, repeated light queries (cached)": Workload(sparql_repeated, (200,)),
        "SPARQL, distinct lookups by IRI (uncached)": Workload(sparql_lookup, (200,), 1, len(keys.clauses)),
        "linked data /id (303) then /doc (Turtle), distinct IRIs": Workload(linked_data, (200, 303), 0.5,
                                                                            len(keys.clauses)),
        "REST /api/evidence and /api/declaration, distinct keys": Workload(
            rest, (200,), 0.5, min(len(keys.clauses), len(keys.declarations))),
    }


async def _with_runaway(base: str, clients: int, seconds: float, make: Callable[[int, int], Request],
                        ok: tuple[int, ...], timeout: float) -> dict[str, Any]:  # fmt: skip
    """The load, while one more client keeps a runaway query running (a new text each time)."""
    from bench.common import Connection

    runaway: list[tuple[int, float]] = []
    stop_at = time.perf_counter() + seconds
    host, port = base.removeprefix("http://").split(":")

    async def runaway_client() -> None:
        connection = Connection(host, int(port))
        k = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status = await connection.send(sparql_request("/sparql", with_prologue(RUNAWAY, 90_000_000 + k)),
                                           timeout * 3 + 10)  # fmt: skip
            runaway.append((status, time.perf_counter() - started))
            k += 1
        await connection.close()

    task = asyncio.create_task(runaway_client())
    row = await load(base, clients, seconds, make, ok=ok)
    await task
    row["runaway"] = [{"status": s, "seconds": t} for s, t in runaway]
    return row


def run_loads(server: Server, lookups: list[str], keys: LoadKeys, seconds: float, names: list[str] | None = None,
              levels: tuple[int, ...] = LEVELS, timeout: float = 60.0) -> list[dict[str, Any]]:  # fmt: skip
    """Every workload (or those in ``names``) at every level, each level on keys no earlier level of ``keys`` sent;
    rows with the server's peak memory and the keys used."""
    rows = []
    for name in workloads(lookups, keys):
        if names is not None and name not in names:
            continue
        for clients in levels:
            start = keys.next.get(name, 0)
            workload = workloads(lookups, keys, start, clients)[name]
            with MemorySampler(server.pid) as sampler:
                row = asyncio.run(load(server.base, clients, seconds, workload.make, ok=workload.ok, timeout=timeout))
            row |= {"workload": name, "server_peak_rss_mb": sampler.peak, "load_average": os.getloadavg()[0],
                    "keys": keys.advance(name, workload, start, clients, row["rounds"])}  # fmt: skip
            rows.append(row)
            print(f"  {name} x{clients}: {row['rps']:.0f} req/s p50 {row['p50_ms'] or 0:.1f} ms "
                  f"p99 {row['p99_ms'] or 0:.1f} ms errors {row['errors']} {row['error_statuses'] or ''}"
                  f" keys {row['keys']['from']}-{row['keys']['to']} of {row['keys']['space']}", flush=True)  # fmt: skip
    return rows


# --- one scale ------------------------------------------------------------------------------------------------------


def scale_run(name: str, work: Path, store_dir: Path, nquads: Path, ntriples: Path | None, lookups: list[str],
              args: argparse.Namespace, result: dict[str, Any], save: Callable[[], None]) -> None:  # fmt: skip
    """Query mix, loads, runaway and memory on one data set; fills ``result`` part by part (``save()`` after
    each)."""
    import pyoxigraph as ox

    reader = ox.Store.read_only(str(store_dir))
    # The keys of the loads: every declaration, and up to LOAD_CLAUSES clauses (in the store's order, which
    # follows the hash of their IRIs).
    declarations = [s["d"].value for s in reader.query(  # type: ignore[index,union-attr]
        "SELECT ?d WHERE { GRAPH ?g { ?d a <https://w3id.org/declarations/ontology#Declaration> } }")]
    clauses = [s["c"].value for s in reader.query(  # type: ignore[index,union-attr]
        f"SELECT ?c WHERE {{ GRAPH ?g {{ ?c a <https://w3id.org/declarations/ontology#Clause> }} "
        f"FILTER(STRSTARTS(STR(?c), '{ID}clause/')) }} LIMIT {LOAD_CLAUSES}")]
    del reader
    result["load_keys"] = {"clauses": len(clauses), "declarations": len(declarations)}
    lookup = lookups[len(lookups) // 2]
    named = getattr(args, "named", None)
    mix = full_mix(lookup, set(named.split(",")) if named and named != "all" else None)
    result["queries"] = list(mix)
    heavy_timeout = args.timeout
    server = Server(store_dir, work / "kg-serve.log", timeout=heavy_timeout).start()
    result["memory"] = {"server_at_start_mb": server.rss_mb()}
    engines: list[Engine] = [HttpEngine("our endpoint (HTTP)", server.base + "/sparql", heavy_timeout + 10),
                             InProcessEngine(store_dir)]  # fmt: skip
    processes: list[Process] = []
    virtuoso = None
    virtuoso_baseline = 0
    rdflib_engine = None
    try:
        if not args.skip_virtuoso:
            sys.path.insert(0, str(PROJECT_DIR))
            from tests.helpers.virtuoso import Virtuoso, virtuoso_available

            if virtuoso_available():
                vdir = work / "virtuoso"
                reuse = args.reuse_virtuoso is not None and (vdir / "virtuoso.db").exists()
                if reuse:
                    (vdir / "virtuoso.log").unlink(missing_ok=True)  # its "Server online" would end the wait early
                else:
                    shutil.rmtree(vdir, ignore_errors=True)
                virtuoso = Virtuoso(vdir, memory_gb=args.virtuoso_gb, data_dirs=(nquads.parent,),
                                    max_seconds=int(heavy_timeout), start_timeout=180)  # fmt: skip
                try:
                    virtuoso.start()
                except RuntimeError as exc:
                    if not (reuse and "already have role" in str(exc)):
                        raise  # a reused database has its grant already; the server is up

                v_engine = HttpEngine("Virtuoso (HTTP)", virtuoso.sparql_url, heavy_timeout + 10)
                if reuse:
                    # Loaded by an earlier run of the suite over the same data (its load time given on the command
                    # line); the system graphs are the same 2,496 triples as in a fresh instance.
                    virtuoso_baseline = args.virtuoso_baseline
                    result["virtuoso_load_seconds"] = args.reuse_virtuoso
                    result["virtuoso_reused"] = True
                else:
                    virtuoso_baseline = int(v_engine.run(with_prologue(mix["COUNT(*)"])).value or 0)
                    started = time.perf_counter()
                    virtuoso.bulk_load(nquads.parent, nquads.name, GRAPH + "unused")
                    result["virtuoso_load_seconds"] = time.perf_counter() - started
                result["virtuoso_bytes"] = sum(f.stat().st_size for f in vdir.glob("*.db"))
                print(f"{name}: Virtuoso loaded in {result['virtuoso_load_seconds']:.1f} s", flush=True)
                engines.append(v_engine)
        if ntriples is not None and not args.skip_rdflib:
            r_port = free_port()
            rdf_proc = Process([sys.executable, "-m", "bench._rdflib_endpoint", str(ntriples), "--port", str(r_port)],
                               work / "rdflib.log")  # fmt: skip
            processes.append(rdf_proc)

            def restart_rdflib() -> None:
                rdf_proc.stop()
                wait_http(f"http://127.0.0.1:{r_port}/health", 600, rdf_proc.start())

            started = time.perf_counter()
            wait_http(f"http://127.0.0.1:{r_port}/health", 600, rdf_proc.start())
            result["rdflib_load_seconds"] = time.perf_counter() - started
            result["rdflib_rss_mb"] = process_tree_rss_mb(rdf_proc.popen.pid) if rdf_proc.popen else None
            print(f"{name}: rdflib endpoint loaded in {result['rdflib_load_seconds']:.1f} s", flush=True)
            rdflib_engine = HttpEngine("rdflib endpoint (HTTP)", f"http://127.0.0.1:{r_port}/sparql",
                                       args.rdflib_timeout, restart_rdflib)  # fmt: skip
            engines.append(rdflib_engine)

        series = []
        nonce = [0]
        core = set(query_mix(lookup)) | {"kinds per topic (heavy)"}
        for engine in engines:
            for qname, query in mix.items():
                for mode in ("fresh", "repeated"):
                    if mode == "repeated" and (engine is rdflib_engine or isinstance(engine, InProcessEngine)):
                        continue
                    if isinstance(engine, InProcessEngine) and any(
                        s["query"] == qname and s["engine"] == engines[0].name and (s["timeouts"] or s["errors"])
                        for s in series
                    ):
                        continue  # in-process has no time limit: a query over ours' limit could run for many minutes
                    if engine is rdflib_engine and qname not in core:
                        continue  # the core mix only: rdflib's time on the rest would outlast the whole run
                    reps = args.rdflib_reps if engine is rdflib_engine else args.reps
                    budget = args.rdflib_budget if engine is rdflib_engine else args.budget
                    s = measure(engine, qname, query, mode, reps=reps, budget=budget, nonce=nonce)
                    if engine.name == "Virtuoso (HTTP)" and qname == "COUNT(*)" and s.value is not None:
                        s.value = str(int(s.value) - virtuoso_baseline)
                    series.append(asdict(s) | {"median": s.median, "p95": s.p95})
                    state = ("timeout" if s.timeouts else "error: " + s.errors[0][:100] if s.errors else
                             f"median {ms(s.median)} p95 {ms(s.p95)} n={len(s.seconds)} rows={s.rows}")  # fmt: skip
                    print(f"{name} {qname:34} {engine.name:24} {mode:8} {state}", flush=True)
        result["engines"] = [e.name for e in engines]
        result["series"] = series
        result["virtuoso_baseline"] = virtuoso_baseline
        problems = []
        for qname in mix:
            answers = {(s["engine"], s["mode"]): (s["rows"], s["value"]) for s in series
                       if s["query"] == qname and s["seconds"]}  # fmt: skip
            if len(set(answers.values())) > 1:
                problems.append(f"{qname}: " + ", ".join(f"{e} {m}: {r}" for (e, m), r in answers.items()))
        result["counts_problems"] = problems
        save()
    except BaseException:
        server.stop()
        raise
    finally:
        for engine in engines:
            engine.close()
        for process in processes:
            process.stop()
        if virtuoso is not None:
            result["virtuoso_rss_mb"] = process_tree_rss_mb(virtuoso.pid) if virtuoso.pid else None
            virtuoso.stop()

    try:
        print(f"{name}: loads", flush=True)
        result["memory"]["server_at_rest_mb"] = server.rss_mb()
        result["loads"] = run_loads(server, lookups, LoadKeys(clauses, declarations), args.duration)
        result["memory"]["server_after_load_mb"] = server.rss_mb()
        save()
    finally:
        server.stop()

    # The runaway: a server with a short time limit, one client always running a query that cannot finish.
    server = Server(store_dir, work / "kg-serve-runaway.log", timeout=args.runaway_timeout).start()
    try:
        rows = []
        wname, keys = "SPARQL, distinct lookups by IRI (uncached)", LoadKeys(clauses, declarations)
        for clients in LEVELS:
            start = keys.next.get(wname, 0)
            workload = workloads(lookups, keys, start, clients)[wname]
            with MemorySampler(server.pid) as sampler:
                row = asyncio.run(_with_runaway(server.base, clients, max(args.duration, args.runaway_timeout * 2.2),
                                                workload.make, workload.ok, args.runaway_timeout))  # fmt: skip
            row |= {"workload": "SPARQL, distinct lookups by IRI, one runaway query", "server_peak_rss_mb": sampler.peak,
                    "keys": keys.advance(wname, workload, start, clients, row["rounds"])}  # fmt: skip
            rows.append(row)
            stopped = [r for r in row["runaway"] if r["status"] in (503, 504)]
            print(f"  runaway x{clients}: {row['rps']:.0f} req/s p50 {row['p50_ms'] or 0:.1f} p99 "
                  f"{row['p99_ms'] or 0:.1f} errors {row['errors']}; runaway stopped {len(stopped)} times", flush=True)  # fmt: skip
        result["runaway"] = rows
        save()
    finally:
        server.stop()

    if args.before:
        print(f"{name}: before/after, side by side", flush=True)
        pairs: list[dict[str, Any]] = []
        old = Server(store_dir, work / "kg-serve-before.log", timeout=heavy_timeout, source=Path(args.before))
        new = Server(store_dir, work / "kg-serve-after.log", timeout=heavy_timeout).start()
        # Both servers get the same keys at each level, keys that no earlier level sent.
        keys = LoadKeys(clauses, declarations)
        try:
            for wname in list(workloads(lookups, keys)):
                for clients in (1, 8, 32):
                    start = keys.next.get(wname, 0)
                    row = run_loads(new, lookups, keys, args.before_duration, [wname], (clients,), 10.0)[0]
                    pairs.append(row | {"version": "after"})
                    after_end, keys.next[wname] = keys.next[wname], start
                    # The earlier server is started for each level and stopped after it, so queries it still
                    # runs (a request given up after 10 s keeps its worker busy) cannot slow the next level.
                    old.start()
                    try:
                        row = run_loads(old, lookups, keys, args.before_duration, [wname], (clients,), 10.0)[0]
                    finally:
                        old.stop()
                    pairs.append(row | {"version": "before"})
                    keys.next[wname] = max(after_end, keys.next[wname])
            result["before_after"] = pairs
            result["before_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.before,
                                                     capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
            save()
        finally:
            old.stop()
            new.stop()


# --- the report -----------------------------------------------------------------------------------------------------


def _series_index(result: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(s["engine"], s["query"], s["mode"]): s for s in result.get("series", [])}


def _cell(s: dict[str, Any] | None, cap: float) -> str:
    if s is None:
        return "–"
    if s["timeouts"]:
        return f"timeout (> {cap:.0f} s)"
    if s["errors"]:
        return "error"
    return f"{ms(s['median'])} / {ms(s['p95'])}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} ms"


def mix_section(name: str, r: dict[str, Any], args_caps: dict[str, float]) -> tuple[list[str], dict[str, float | None]]:
    """Tables of the query mix for one scale; returns the lines and the whole-mix ratios."""
    idx = _series_index(r)
    engines = r.get("engines", [])
    ours, floor, virt, rdfl = "our endpoint (HTTP)", "pyoxigraph in-process", "Virtuoso (HTTP)", "rdflib endpoint (HTTP)"
    out = [f"Median / p95 per query, fresh runs (each request's text made new, so no cache answers); "
           f"repeated runs for the servers that keep results:", "",
           "| query | rows | " + " | ".join(engines) + f" | {ours} repeated | Virtuoso repeated |",
           "| --- | ---: |" + " ---: |" * (len(engines) + 2)]  # fmt: skip
    sums: dict[str, float] = {}
    counted: dict[str, int] = {}
    for q in r.get("queries", []):
        rows = ""
        cells = []
        for e in engines:
            s = idx.get((e, q, "fresh"))
            cells.append(_cell(s, args_caps["rdflib"] if e == rdfl else args_caps["timeout"]))
            if s and s["seconds"] and not rows:
                rows = str(s["rows"])
        for e in (ours, virt):
            cells.append(_cell(idx.get((e, q, "repeated")), args_caps["timeout"]))
        out.append(f"| {q} | {rows} | " + " | ".join(cells) + " |")
    out.append("")

    def med(e: str, q: str, mode: str = "fresh") -> float | None:
        s = idx.get((e, q, mode))
        if s is None:
            return None
        if s["timeouts"]:
            return args_caps["rdflib"] if e == rdfl else None
        return s["median"]

    out += ["Ratios of medians (fresh unless marked):", "",
            "| query | ours / pyoxigraph in-process | ours repeated / in-process | Virtuoso / ours | rdflib / ours |",
            "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for q in r.get("queries", []):
        o, f, v, rd = med(ours, q), med(floor, q), med(virt, q), med(rdfl, q)
        rt = idx.get((rdfl, q, "fresh"))
        mark = " (≥, timeout)" if rt and rt["timeouts"] else ""
        out.append(f"| {q} | {ratio(o, f)} | {ratio(med(ours, q, 'repeated'), f)} | {ratio(v, o)} | "
                   f"{ratio(rd, o) + mark if rd is not None else '–'} |")  # fmt: skip

    def pair(a: str, b: str, a_mode: str = "fresh") -> tuple[float | None, float | None, int]:
        """Sums of medians of ``a`` and ``b`` over the queries both answered, and how many."""
        qs = [q for q in r.get("queries", []) if med(a, q, a_mode) is not None and med(b, q) is not None]
        if not qs:
            return None, None, 0
        return sum(med(a, q, a_mode) or 0 for q in qs), sum(med(b, q) or 0 for q in qs), len(qs)

    totals: dict[str, float | None] = {}
    cells = []
    for key, (a, b, mode) in {"floor": (ours, floor, "fresh"), "repeated": (ours, floor, "repeated"),
                              "virtuoso": (virt, ours, "fresh"), "rdflib": (rdfl, ours, "fresh")}.items():  # fmt: skip
        sa, sb, n = pair(a, b, mode)
        totals[key] = None if sa is None or not sb else sa / sb
        timed_out = key == "rdflib" and any((idx.get((rdfl, q, "fresh")) or {}).get("timeouts") for q in r.get("queries", []))
        cells.append("–" if totals[key] is None else f"**{ratio(sa, sb)}{' (≥)' if timed_out else ''}** (n={n})")
    out.append("| **whole mix (sum of medians over the queries both answered)** | " + " | ".join(cells) + " |")
    out.append("")
    problems = r.get("counts_problems")
    if problems is not None:
        out.append("Counts check: " + ("identical row counts (and one-row values) on every engine that answered"
                                       + (f"; Virtuoso's COUNT(\\*) less its {r.get('virtuoso_baseline')} triples of "
                                          "its own system graphs" if r.get("virtuoso_baseline") else "")
                                       if not problems else "**DIFFERENCES**: " + "; ".join(problems)) + ".")  # fmt: skip
        out.append("")
    return out, totals


def load_table(rows: list[dict[str, Any]], memory: bool = True) -> list[str]:
    out = ["| workload | clients | requests/s | p50 | p99 | errors |" + (" server RSS peak |" if memory else ""),
           "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if memory else "")]  # fmt: skip
    for row in rows:
        errors = str(row["errors"]) + (f" ({row['error_statuses']})" if row.get("error_statuses") else "")
        out.append(f"| {row['workload']} | {row['clients']} | {row['rps']:.0f} | {_pct(row['p50_ms'])} | "
                   f"{_pct(row['p99_ms'])} | {errors} |" + (f" {row.get('server_peak_rss_mb', 0):.0f} MB |" if memory else ""))  # fmt: skip
    repeated = [row for row in rows if row.get("keys", {}).get("repeated")]
    if repeated:
        out.append("")
    for row in repeated:
        keys = row["keys"]
        out.append(f"- {row['workload']}, {row['clients']} clients: {keys['repeated']:,} of its "
                   f"{keys['to'] - keys['from']:,} keys had been sent at an earlier level (the lists ran out at "
                   f"{keys['space']:,}); those answers may have come from the result cache.")  # fmt: skip
    return out


def _keys_text(r: dict[str, Any]) -> str:
    """The lists of keys the loads of one scale used."""
    keys = r.get("load_keys")
    if not keys:
        return "the store's clauses and declarations"
    return f"{keys['declarations']:,} declarations and {keys['clauses']:,} clauses of the store"


def _generator_text(results: dict[str, Any]) -> str:
    """Which load generator sent the load (``bench/common.py: load``)."""
    generator = results.get("machine", {}).get("versions", {}).get("load generator", "asyncio")
    if generator.startswith("wrk"):
        return (f"wrk ({generator.removeprefix('wrk ')}, Debian's package; one thread, the requests of "
                "`bench/wrk_load.lua` from a file written for the level)")
    return "A bounded asyncio load generator (`bench/common.py: asyncio_load`; wrk was not installed)"


def render(results: dict[str, Any]) -> str:
    """The whole of docs/benchmarks.md from the results of the parts that finished."""
    m = results.get("machine", {})
    v = m.get("versions", {})
    caps = {"timeout": results.get("timeout", 60.0), "rdflib": results.get("rdflib_timeout", 30.0)}
    out = ["# Benchmarks", "",
           "`make bench` (= `python -m bench all`, `bench/all.py`) builds both data sets, runs every measurement "
           "below and writes this file; never part of `make test`. The parts also run alone: `python -m bench "
           "endpoint | ingest | build | link` (see each module's docstring).", "",
           "## Machine and versions", "",
           f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb', 0):.0f} GiB RAM, {m.get('os')}; "
           f"commit {m.get('commit')}, run {m.get('date')}. Python {v.get('python')}, pyoxigraph {v.get('pyoxigraph')}, "
           f"rdflib {v.get('rdflib')}, FastAPI {v.get('fastapi')}, Starlette {v.get('starlette')}, uvicorn "
           f"{v.get('uvicorn')} (uvloop {v.get('uvloop')}, httptools {v.get('httptools')}), Virtuoso: "
           f"{v.get('virtuoso')}.", "",
           "**The machine is shared**: two cores, used during the run by other engineers' test suites as well "
           "(1-minute load averages are given with the load figures; 2 would be a saturated machine). Absolute "
           "times are inflated and noisy, differently for each engine; ratios are the steadier figures, and the "
           "before/after comparison interleaves the two servers level by level for that reason.", ""]  # fmt: skip
    summary_at = len(out)
    targets: list[str] = []

    # build and ingest
    one, ten = results.get("1M", {}), results.get("10M", {})
    out += ["## Build and ingest", ""]
    ing = one.get("ingest")
    if ing:
        out += [f"**1M set, through our ingestion**: {ing['declarations_generated']:,} generated declaration texts "
                f"(`bench/corpus.py`: three layouts, 3–14 clauses, one or two speech acts per clause, topics, "
                f"actors, rights, forums), each read, extracted, converted to its named graph, SHACL-checked and "
                f"written (bulk batches of 100 declarations) into a fresh on-disk store holding the ontology and "
                f"reference graphs: {ing['triples']:,} quads in {ing['graphs']:,} graphs, {ing['declarations']:,} "
                f"declarations, {ing['clauses']:,} clauses; store {ing['store_bytes'] / 2**20:.0f} MiB. "
                "Links (`kg link`) are not part of these runs (see `python -m bench ingest`).", "",
                "| run | declarations | triples | wall s | declarations/s | triples/s | CPU ms / declaration | peak RSS |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for run in ing["runs"]:
            out.append(f"| {run['name']} | {run['declarations']:,} | {run['triples']:,} | {run['seconds']:.1f} | "
                       f"{run['per_second']:.1f} | {run['triples_per_second']:,.0f} | "
                       f"{run['cpu_seconds'] / max(run['declarations'], 1) * 1000:.1f} | {run['peak_rss_mb']:.0f} MB |")  # fmt: skip
        out.append("")
    bulk = one.get("bulk")
    build10 = ten.get("build")
    if bulk or build10:
        out += ["**Bulk loading generated triples** (`bench/build.py`: pyoxigraph `bulk_load` of N-Quads, then "
                "`optimize`, in a child process; one core = pinned with `taskset`):", "",
                "| data | cores | quads | seconds | triples/s | peak RSS | store size |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for label, f in [("1M generated", b) for b in (bulk or [])] + ([("10M generated", build10["load"])] if build10 else []):
            out.append(f"| {label} | {f['cores']} | {f['quads']:,} | {f['seconds']:.1f} | {f['triples_per_second']:,.0f} | "
                       f"{f['peak_rss_mb']:.0f} MB | {f['store_bytes'] / 2**20:.0f} MiB |")  # fmt: skip
        if build10:
            d = build10["data"]
            out.append("")
            out.append(f"10M set: {d['triples']:,} triples, {d['declarations']:,} declarations, {d['clauses']:,} "
                       f"clauses, one named graph per declaration plus a reference graph (generated in "
                       f"{build10['generate_seconds']:.0f} s; N-Quads {d['nquads_bytes'] / 2**30:.1f} GiB; built "
                       f"{build10['built_at']}).")  # fmt: skip
        for label, r in (("1M", one), ("10M", ten)):
            if r.get("virtuoso_load_seconds"):
                out.append(f"Virtuoso bulk loader, {label}: {r['virtuoso_load_seconds']:.1f} s "
                           f"({r.get('virtuoso_bytes', 0) / 2**20:.0f} MiB of database files).")  # fmt: skip
        if one.get("rdflib_load_seconds"):
            out.append(f"rdflib endpoint, 1M: parsed into memory in {one['rdflib_load_seconds']:.1f} s "
                       f"({one.get('rdflib_rss_mb') or 0:.0f} MB resident).")  # fmt: skip
        out.append("")

    # query mix
    mix_totals: dict[str, dict[str, float | None]] = {}
    for label, r in (("1M", one), ("10M", ten)):
        if not r.get("series"):
            continue
        data = r.get("data", {})
        out += [f"## Query mix, {label}", "",
                f"{data.get('triples', 0):,} triples. Engines: our endpoint over HTTP (`kg serve`, 2 query worker "
                "processes, result cache), pyoxigraph in-process on a read-only handle of the same store (the "
                "floor), Virtuoso over HTTP (a private instance, 2 GB buffers, its bulk loader)"
                + (", the rdflib endpoint over HTTP (`bench/_rdflib_endpoint.py`, one in-memory `Graph`, "
                   f"capped at {caps['rdflib']:.0f} s a query)" if label == "1M" else
                   "; the rdflib endpoint is left out at 10M: parsing 10M triples into an in-memory Graph takes "
                   "about ten times the 1M parse and some 10 GiB, and at 1M its 4-way join alone already takes "
                   "seconds") + ". "
                "The mix: the endpoint benchmark's seven queries (topic filter, 4-way join, group-by over all "
                "clauses, transitive `cito:cites+`, COUNT(\\*), lookup by IRI, CONTAINS text scan), a heavy "
                "aggregate (clause kinds per topic), and "
                + (f"the files of `queries/` {', '.join(sorted(results['named'].split(',')))} (the others are "
                   "far heavier at this size: see the notes)" if results.get("named") not in (None, "all") else
                   "every file of `queries/` that runs without parameters") +
                " (run without parameters: their optional filters unbound, the broadest form of each). "
                "Median / p95 over up to "
                f"{results.get('reps', 15)} runs (fewer once {results.get('budget', 8):.0f} s were spent).", ""]  # fmt: skip
        lines, totals = mix_section(label, r, caps)
        mix_totals[label] = totals
        out += lines

    # loads
    for label, r in (("1M", one), ("10M", ten)):
        if not r.get("loads"):
            continue
        out += [f"## HTTP load, {label}", "",
                f"{_generator_text(results)}: N clients on loopback, one kept-alive connection and one request in "
                f"flight each, {results.get('duration', 10):.0f} s per level. The *distinct* workloads take their "
                f"keys from {_keys_text(r)}, and each level uses keys no earlier level sent (`LoadKeys`), so no "
                "answer comes from the result cache unless the lists run out (then a note says how many did). "
                "Server RSS = the server process and its query workers (sampled every 0.25 s).", ""]  # fmt: skip
        out += load_table(r["loads"])
        out.append("")
        if r.get("runaway"):
            out += [f"While one runaway query (`{RUNAWAY}`, a new text each time) keeps being stopped by the time "
                    f"limit (a server started with `--query-timeout {results.get('runaway_timeout', 5):g}`):", ""]  # fmt: skip
            out += load_table(r["runaway"])
            for row in r["runaway"]:
                statuses: dict[int, int] = {}
                for x in row["runaway"]:
                    statuses[x["status"]] = statuses.get(x["status"], 0) + 1
                times = [x["seconds"] for x in row["runaway"] if x["status"] in (503, 504)]
                out.append(f"- {row['clients']} clients: the runaway answered {dict(sorted(statuses.items()))} "
                           + (f"after {statistics.median(times):.1f} s (median)" if times else "") + ".")  # fmt: skip
            out.append("")
        mem = r.get("memory", {})
        peaks = [row.get("server_peak_rss_mb", 0) for row in r.get("loads", []) + r.get("runaway", [])]
        if mem:
            out.append(f"Server memory ({label}; server process + query workers): {mem.get('server_at_start_mb', 0):.0f} MB "
                       f"after start, {mem.get('server_at_rest_mb', 0):.0f} MB at rest after the query mix, "
                       f"{max(peaks, default=0):.0f} MB peak under load, {mem.get('server_after_load_mb', 0):.0f} MB "
                       "after the load." + (f" Virtuoso's process: {r['virtuoso_rss_mb']:.0f} MB after the mix."
                                            if r.get("virtuoso_rss_mb") else ""))  # fmt: skip
            out.append("")

    # before / after
    for label, r in (("1M", one), ("10M", ten)):
        pairs = r.get("before_after")
        if not pairs:
            continue
        out += [f"## Before and after ({label}, side by side)", "",
                f"The same store served at once by commit {r.get('before_commit')} (before, `--before`) and by this "
                "commit (after), loaded one after the other level by level, "
                f"{results.get('before_duration', 8):.0f} s each; what changed between the two is in the notes "
                "above.", "",
                "| workload | clients | before req/s | after req/s | req/s ratio | before p50 / p99 | after p50 / p99 | p99 ratio (before / after) |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        by = {(p["workload"], p["clients"], p["version"]): p for p in pairs}
        for (w, c, ver), p in by.items():
            if ver != "before" or (w, c, "after") not in by:
                continue
            a = by[(w, c, "after")]
            out.append(f"| {w} | {c} | {p['rps']:.0f} | {a['rps']:.0f} | {ratio(a['rps'], p['rps'])} | "
                       f"{_pct(p['p50_ms'])} / {_pct(p['p99_ms'])} | {_pct(a['p50_ms'])} / {_pct(a['p99_ms'])} | "
                       f"{ratio(p['p99_ms'], a['p99_ms'])} |")  # fmt: skip
        out.append("")

    # targets
    if ten:
        def p99_at8(prefix: str) -> float | None:
            for row in ten.get("loads", []):
                if row["workload"].startswith(prefix) and row["clients"] == 8:
                    return row["p99_ms"]
            return None

        rest99, ld99 = p99_at8("REST"), p99_at8("linked data")
        t = mix_totals.get("10M", {})
        r1 = mix_totals.get("1M", {})
        errors = sum(row["errors"] for row in ten.get("loads", []) + one.get("loads", []))
        peak = max((row.get("server_peak_rss_mb", 0) for row in ten.get("loads", []) + ten.get("runaway", [])), default=None)

        def verdict(ok: bool | None) -> str:
            return "–" if ok is None else ("met" if ok else "**missed**")

        ratio_floor = t.get("floor")
        ratio_rdf = r1.get("rdflib")
        targets = [
            "## Targets at 10M", "",
            "| target | measured | verdict |", "| --- | --- | --- |",
            f"| REST lookups p99 < 50 ms at 8 clients | {_pct(rest99)} | {verdict(None if rest99 is None else rest99 < 50)} |",
            f"| linked-data lookups p99 < 50 ms at 8 clients | {_pct(ld99)} | {verdict(None if ld99 is None else ld99 < 50)} |",
            f"| endpoint within 1.5x of pyoxigraph in-process on the mix (fresh) | "
            f"{'–' if ratio_floor is None else f'{ratio_floor:.2f}x'} | {verdict(None if ratio_floor is None else ratio_floor <= 1.5)} |",
            f"| ≥ 20x faster than the rdflib endpoint on the mix (1M) | "
            f"{'–' if ratio_rdf is None else f'{ratio_rdf:.0f}x'} | {verdict(None if ratio_rdf is None else ratio_rdf >= 20)} |",
            f"| zero errors under load | {errors} | {verdict(errors == 0)} |",
            f"| server memory < 2 GiB (10M, under load) | {'–' if peak is None else f'{peak:.0f} MB'} | "
            f"{verdict(None if peak is None else peak < 2048)} |", ""]  # fmt: skip
    out[summary_at:summary_at] = targets + (["NOTES_PLACEHOLDER", ""] if targets else [])
    return "\n".join(out)


def write_report(results: dict[str, Any], notes: str) -> str:
    """docs/benchmarks.md: the rendered figures, the hand-written notes (what the figures say, the scaling note),
    the sections other benchmarks keep there (Linking, Ingestion) and the earlier runs (``bench/history.md``)."""
    text = render(results).replace("NOTES_PLACEHOLDER", notes.strip())
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    kept = ("## Linking", "## Ingestion")  # written by `bench link` and `bench ingest` (with their notes)
    for part in ("\n" + old).split("\n## ")[1:]:
        if ("## " + part).startswith(kept):
            text += "\n\n## " + part.rstrip("\n")
    if HISTORY.exists():
        text += "\n\n" + HISTORY.read_text(encoding="utf-8").rstrip("\n")
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return text


# --- main -----------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m bench all [options]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench all", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=PROJECT_DIR / "data" / "bench")
    parser.add_argument("--scales", default="1M,10M", help="which data sets: 1M, 10M or both")
    parser.add_argument("--triples-1m", type=int, default=1_000_000)
    parser.add_argument("--triples-10m", type=int, default=10_000_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per query and mode before stopping early")
    parser.add_argument("--rdflib-reps", type=int, default=3)
    parser.add_argument("--rdflib-budget", type=float, default=15.0)
    parser.add_argument("--rdflib-timeout", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=60.0, help="our server's (and Virtuoso's) time limit")
    parser.add_argument("--runaway-timeout", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load level")
    parser.add_argument("--before", help="a checkout of an earlier commit to load side by side (git worktree)")
    parser.add_argument("--before-duration", type=float, default=8.0)
    parser.add_argument("--virtuoso-gb", type=float, default=2.0)
    parser.add_argument("--skip-virtuoso", action="store_true")
    parser.add_argument("--reuse-virtuoso", type=float, default=None, metavar="SECONDS",
                        help="keep a Virtuoso database an earlier run loaded (its load took SECONDS)")
    parser.add_argument("--virtuoso-baseline", type=int, default=2496, help="triples of Virtuoso's system graphs")
    parser.add_argument("--named", default="forums,forums_around_declaration,gcm_objectives_anticipated,"
                        "gcm_objectives_by_shared_topics,related_clauses,rights,rights_of_women_and_girls",
                        help="only these files of queries/ (comma-separated; 'all' for every parameter-free file: "
                             "the others take 5 s to over 60 s each at 10M)")  # fmt: skip
    parser.add_argument("--build-only", action="store_true", help="1M: ingest and bulk load figures only")
    parser.add_argument("--skip-rdflib", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="render docs/benchmarks.md from saved results")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}

    def save() -> None:
        results_path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")

    notes_path = Path(__file__).with_name("notes.md")
    notes = notes_path.read_text(encoding="utf-8") if notes_path.exists() else ""
    if args.report_only:
        text = write_report(results, notes) if not args.no_write else render(results)
        print(text)
        return 0
    results.update(machine=machine(), named=args.named, timeout=args.timeout, rdflib_timeout=args.rdflib_timeout, reps=args.reps,
                   budget=args.budget, duration=args.duration, runaway_timeout=args.runaway_timeout,
                   before_duration=args.before_duration)  # fmt: skip
    began = time.perf_counter()
    scales = [s.strip().upper() for s in args.scales.split(",")]
    for scale in scales:
        run_scale(scale, work, args, results, save)
    results["seconds"] = time.perf_counter() - began
    save()
    if not args.no_write:
        write_report(results, notes)
    print(render(results))
    print(f"\n(total {results['seconds']:.0f} s; results in {results_path})")
    return 0


def run_scale(scale: str, work: Path, args: argparse.Namespace, results: dict[str, Any], save: Callable[[], None]) -> None:
    """One data set (``1M`` or ``10M``): build it (or reuse it) and measure everything on it."""
    if scale == "1M":
        one: dict[str, Any] = results.setdefault("1M", {})
        w = work / "1m"
        w.mkdir(parents=True, exist_ok=True)
        if not one.get("ingest") or not (w / "oxigraph").exists():
            one["ingest"] = ingest_set(w, args.triples_1m, processes=2)
            save()
        if not one.get("bulk"):
            one["bulk"] = bulk_figures(w, args.triples_1m)
            save()
        ing = one["ingest"]
        one["data"] = {"triples": ing["triples"]}
        if args.build_only:
            return
        scale_run("1M", w, w / "oxigraph", Path(ing["nquads"]), Path(ing["ntriples"]), ing["lookup_iris"], args,
                  one, save)  # fmt: skip
    elif scale == "10M":
        from bench.build import prepare

        ten: dict[str, Any] = results.setdefault("10M", {})
        w = work / "10m"
        ten["build"] = prepare(w, args.triples_10m)
        ten["data"] = {"triples": ten["build"]["data"]["triples"]}
        save()
        d = ten["build"]["data"]
        opts = argparse.Namespace(**{**vars(args), "skip_rdflib": True})
        scale_run("10M", w, w / "oxigraph", Path(d["nquads"]), None, d["lookup_iris"], opts, ten, save)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
