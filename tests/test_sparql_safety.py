"""What the public endpoint refuses, and how it survives runaway queries — over a live server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from api.safety import analyse_query, tokenize
from api.workers import QueryJob, WorkerPool
from helpers.server import live_server
from kg.errors import BadQuery, Forbidden, KGError
from kg.settings import Settings

EX = "http://example.org/"
GRAPH = EX + "graph"
# 300 triples: a three-way cross product is 27 million rows, far beyond a 1.5 s limit.
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . FILTER(?c != ?i) }"
TIME_LIMIT = 1.5


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("safety") / "store"
    store = ox.Store(str(path))
    store.bulk_extend(
        ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(EX + "p"), ox.Literal(i), ox.NamedNode(GRAPH))
        for i in range(300)
    )
    store.flush()
    del store
    return path


@pytest.fixture(scope="module")
def base_url(store_path: Path) -> Iterator[str]:
    settings = Settings(store=str(store_path), query_timeout=TIME_LIMIT, max_request_bytes=4096, max_queries_per_client=3)
    with live_server(settings) as url:
        yield url


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <http://e/s> <http://e/p> 1 }",
        "CLEAR ALL",
        "DROP GRAPH <http://example.org/graph>",
        "PREFIX e: <http://e/> DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    ],
)
def test_updates_are_refused_in_every_way_they_can_be_sent(client: httpx.Client, update: str) -> None:
    assert_problem(client.get("/sparql", params={"query": update}), 403)
    assert_problem(client.get("/sparql", params={"update": update}), 403)
    assert_problem(client.post("/sparql", data={"update": update}), 403)
    assert_problem(client.post("/sparql", data={"query": update}), 403)
    assert_problem(
        client.post("/sparql", content=update, headers={"Content-Type": "application/sparql-update"}), 403
    )
    assert_problem(
        client.post("/sparql", content=update, headers={"Content-Type": "application/sparql-query"}), 403
    )
    # and the data is untouched
    count = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}).json()
    assert count["results"]["bindings"][0]["n"]["value"] == "300"


@pytest.fixture()
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP listener on loopback recording whatever connects to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(1024))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/sparql", hits
    stop.set()
    thread.join()
    server.close()


def test_service_is_refused_and_nothing_is_fetched(client: httpx.Client, listener: tuple[str, list[bytes]]) -> None:
    url, hits = listener
    for query in (
        f"SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"ASK {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        f"PREFIX r: <{url[:-6]}> SELECT * {{ SERVICE r:sparql {{ ?s ?p ?o }} }}",
        f"SELECT * {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * {{ ?s ?p ?o }} # comment\n ; SERVICE <{url}> {{ }}",
    ):
        body = assert_problem(client.get("/sparql", params={"query": query}), 403)
        assert "SERVICE" in body["detail"]
    for query in (f"SELECT * FROM <{url}> {{ ?s ?p ?o }}", f"SELECT * FROM NAMED <{url}> {{ ?s ?p ?o }}"):
        assert_problem(client.get("/sparql", params={"query": query}), 403)
    assert_problem(client.get("/sparql", params={"query": "ASK {}", "default-graph-uri": url}), 403)
    assert_problem(client.get("/sparql", params={"query": "ASK {}", "named-graph-uri": url}), 403)
    time.sleep(0.3)
    assert hits == []


def _can_unshare_network() -> bool:
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0)"
    return subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0


@pytest.mark.skipif(
    not _can_unshare_network(), reason="this machine does not let a process drop its network (needs CAP_SYS_ADMIN)"
)
def test_workers_have_no_network_even_if_a_service_query_got_through(
    store_path: Path, listener: tuple[str, list[bytes]]
) -> None:
    """Defence in depth: a SERVICE query handed straight to a worker (bypassing the parser's refusal) reaches
    nothing, because each worker runs in its own empty network namespace."""
    url, hits = listener

    async def run() -> BaseException | None:
        pool = WorkerPool(store_path, size=1, timeout=5)
        await pool.start()
        try:
            async for _ in pool.execute(QueryJob(f"SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}", "JSON", False)):
                pass
        except KGError as exc:
            return exc
        finally:
            await pool.close()
        return None

    error = asyncio.run(run())
    time.sleep(0.3)
    assert hits == []
    assert error is not None and "unreachable" in error.detail.lower()


def test_keywords_inside_strings_iris_and_comments_are_not_refused(client: httpx.Client) -> None:
    query = 'SELECT ("SERVICE <x> {}" AS ?a) (<http://e/SERVICE> AS ?b) { } # SERVICE <http://e/> {}'
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 200
    assert client.get("/sparql", params={"query": f"ASK FROM <{GRAPH}> {{ ?s ?p ?o }}"}).json()["boolean"] is True


def test_bad_syntax_is_400_with_the_parser_message(client: httpx.Client) -> None:
    body = assert_problem(client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p }"}), 400)
    assert "error at" in body["detail"] or "expected" in body["detail"]
    assert_problem(client.get("/sparql", params={"query": "this is not sparql"}), 400)
    assert_problem(client.get("/sparql", params={"query": "SELECT * { ?s ?p 'unterminated }"}), 400)


def test_protocol_misuse_is_4xx_problem(client: httpx.Client) -> None:
    assert_problem(client.get("/sparql", params=[("query", "ASK {}"), ("query", "ASK {}")]), 400)
    assert_problem(client.post("/sparql", content="ASK {}", headers={"Content-Type": "text/plain"}), 415)
    assert_problem(client.post("/sparql", content="ASK {}"), 415)
    assert_problem(
        client.post(
            "/sparql",
            content="ASK {}".encode("utf-16"),
            headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
        ),
        415,
    )
    assert_problem(
        client.post("/sparql", content=b"ASK { \xff }", headers={"Content-Type": "application/sparql-query"}), 400
    )
    assert_problem(client.put("/sparql", content="ASK {}"), 405)


def test_request_size_limit_is_413(client: httpx.Client) -> None:
    big = "ASK { " + "#" * 5000 + "\n }"
    assert_problem(client.post("/sparql", content=big, headers={"Content-Type": "application/sparql-query"}), 413)
    assert_problem(client.post("/sparql", data={"query": big}), 413)
    assert_problem(client.get("/sparql", params={"query": big}), 413)


def test_runaway_query_is_stopped_with_503_while_others_keep_their_latency(base_url: str) -> None:
    def run(query: str) -> tuple[int, float, httpx.Response]:
        start = time.perf_counter()
        with httpx.Client(base_url=base_url, timeout=30) as c:
            response = c.get("/sparql", params={"query": query})
        return response.status_code, time.perf_counter() - start, response

    with ThreadPoolExecutor(max_workers=2) as pool:
        runaway = pool.submit(run, RUNAWAY)
        time.sleep(0.2)
        small = []
        for i in range(8):
            small.append(run(f"SELECT ?o {{ <{EX}s{i}> ?p ?o }}"))
        status, elapsed, response = runaway.result()
    assert status == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert TIME_LIMIT <= elapsed < TIME_LIMIT + 3
    assert all(s == 200 for s, _, _ in small)
    # The other worker kept answering while the runaway ran.
    assert max(t for _, t, _ in small) < 1.0
    # The pool is back to full size: two queries can run side by side again.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(run, [f"ASK {{ <{EX}s{i}> ?p {i} }}" for i in (1, 2)]))
        if all(s == 200 for s, _, _ in results):
            break
        time.sleep(0.2)
    assert all(s == 200 for s, _, _ in results)


def test_pool_is_back_to_full_size_after_a_timeout(store_path: Path) -> None:
    settings = Settings(store=str(store_path), query_timeout=1.0)
    from api.app import create_app

    app = create_app(settings)
    with live_server(settings, app=app) as url, httpx.Client(base_url=url, timeout=30) as c:
        engine = app.state.query_service.engine
        assert engine.live_workers == 2
        assert c.get("/sparql", params={"query": RUNAWAY}).status_code == 503
        deadline = time.monotonic() + 20
        while (engine.live_workers, engine.idle_workers()) != (2, 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (engine.live_workers, engine.idle_workers()) == (2, 2)
        assert c.get("/sparql", params={"query": "ASK {}"}).status_code == 200


def test_concurrent_queries_per_client_are_limited_with_429(base_url: str) -> None:
    statuses: list[int] = []

    def run(_: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as c:
            statuses.append(c.get("/sparql", params={"query": RUNAWAY + f" # {_}"}).status_code)

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(run, range(5)))
    assert statuses.count(429) == 2  # three may run (or wait), the fourth and fifth are refused
    assert set(statuses) <= {429, 503}


def test_clients_leaving_mid_stream_free_their_slot_and_worker(base_url: str) -> None:
    big = "SELECT * { ?a ?b ?c . ?d ?e ?f }"  # 90,000 rows: many chunks
    for _ in range(5):  # more than max_queries_per_client (3): a leaked slot would turn into a 429
        with httpx.Client(base_url=base_url, timeout=30) as c:
            with c.stream("GET", "/sparql", params={"query": big}, headers={"Accept": "text/csv"}) as response:
                assert response.status_code == 200
                next(response.iter_bytes())
    with httpx.Client(base_url=base_url, timeout=30) as c:
        deadline = time.monotonic() + 20
        while True:
            statuses = [c.get("/sparql", params={"query": f"ASK {{ <{EX}s{i}> ?p ?o }}"}).status_code for i in range(4)]
            if statuses == [200] * 4 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert statuses == [200] * 4


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("SELECT*{}?sp<>\"'#:.\\u0053ERVICE FROM ASK()$@^_\n")), max_size=40))
def test_garbage_is_never_a_500(client: httpx.Client, text: str) -> None:
    for response in (
        client.get("/sparql", params={"query": text}),
        client.post("/sparql", data={"query": text}),
    ):
        assert 200 <= response.status_code < 500, (text, response.text)


# --- the analyser, unit level ----------------------------------------------------------------------------------


def test_analyser_finds_the_form_and_the_from_graphs() -> None:
    info = analyse_query("BASE <http://b/x/> PREFIX : <http://n/> CONSTRUCT { ?s ?p ?o } FROM <g> FROM NAMED :h { ?s ?p ?o }")
    assert info.form == "CONSTRUCT" and info.is_graph_result
    assert info.from_graphs == ("http://b/x/g",) and info.from_named == ("http://n/h",)
    assert analyse_query("select * {?s ?p ?o}").normalised == analyse_query("SELECT * {\n ?s ?p ?o # c\n}").normalised.replace("SELECT", "select")
    with pytest.raises(Forbidden):
        analyse_query("PREFIX : <http://x/> INSERT DATA { :a :b :c }")
    with pytest.raises(BadQuery):
        analyse_query("PREFIX : <http://x/>")


def test_tokenizer_keeps_strings_and_iris_whole() -> None:
    texts = [t.text for t in tokenize("""ASK { ?x <http://a#b> '''it's "SERVICE"''' . FILTER(?a<?b) }""")]
    assert "<http://a#b>" in texts and """'''it's "SERVICE"'''""" in texts and "<" in texts


def test_group_concat_is_wrapped_in_str_and_nothing_else_changes() -> None:
    query = "SELECT ?g (group_concat(concat(?a, ')'); SEPARATOR=\"(\") AS ?c) # GROUP_CONCAT(?x)\n{ ?g ?p ?a } GROUP BY ?g"
    info = analyse_query(query)
    assert info.text == (
        "SELECT ?g (STR(group_concat(concat(?a, ')'); SEPARATOR=\"(\")) AS ?c) # GROUP_CONCAT(?x)\n"
        "{ ?g ?p ?a } GROUP BY ?g"
    )
    assert "STR" not in info.normalised  # the cache key is the query's own text
    plain = "SELECT ?s { ?s ?p 'GROUP_CONCAT(?x)' }"
    assert analyse_query(plain).text == plain
    unfinished = "SELECT (GROUP_CONCAT(?x {}"
    assert analyse_query(unfinished).text == unfinished  # left for the engine to report


def test_query_past_the_memory_limit_is_stopped_with_503(store_path: Path) -> None:
    # Sorting the 27 million rows of the cross product needs gigabytes; the limit stops it long before the time
    # limit would, and the pool answers again afterwards.
    settings = Settings(store=str(store_path), query_timeout=60, worker_memory_mb=300)
    hog = "SELECT ?a ?d ?g { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=90) as c:
        started = time.perf_counter()
        response = c.get("/sparql", params={"query": hog})
        elapsed = time.perf_counter() - started
        body = assert_problem(response, 503)
        assert body["title"] == "Query memory limit exceeded" and "300 MB" in body["detail"]
        assert elapsed < 30
        deadline = time.monotonic() + 20
        while c.get("/sparql", params={"query": "ASK {}"}).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert c.get("/sparql", params={"query": f"ASK {{ <{EX}s1> ?p 1 }}"}).status_code == 200
