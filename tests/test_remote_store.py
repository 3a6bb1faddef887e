"""The scale-out path: :class:`kg.store.remote.RemoteStore` against a real Virtuoso open-source server.

Two private Virtuoso servers (Debian's ``virtuoso-opensource``) are started on loopback ports in temporary folders
(``tests/helpers/virtuoso.py``) and shut down after: one for the store tests, one holding ``kg build``'s graphs.
Without the binary every test here skips with "install virtuoso-opensource (Debian)"; with the binary but no server
coming online, the fixture fails with the server's log, so a broken set-up is never mistaken for a pass.

The same statements go into an embedded :class:`kg.store.oxigraph.OxigraphStore` and into Virtuoso, and the same
queries must give the same answers; then ``kg build``/``kg ingest``/``kg serve`` run against the remote store.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.compare import isomorphic

from kg.errors import BadInput, BadQuery, QueryTimeout, StoreError
from kg.namespaces import GRAPH_BASE, PREFIXES
from kg.rdf import to_rdflib
from kg.settings import Settings
from kg.store import open_store
from kg.store.oxigraph import OxigraphStore
from kg.store.remote import TEMP_GRAPH_BASE, RemoteStore, bind_values, query_form
from api.queries import load_query
from helpers.queries import example_terms
from kg.paths import QUERIES_DIR
from helpers.virtuoso import MISSING_MESSAGE, Virtuoso, VirtuosoStartError, virtuoso_available

N = ox.NamedNode
EX = "http://example.org/test/"
XSD = "http://www.w3.org/2001/XMLSchema#"
G1 = GRAPH_BASE + "declaration/test-one"
G2 = GRAPH_BASE + "declaration/test-two"
PROLOGUE = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


def _start_virtuoso(folder: Path) -> Virtuoso:
    if not virtuoso_available():
        pytest.skip(MISSING_MESSAGE)
    instance = Virtuoso(folder, memory_gb=0.25, max_seconds=60)
    try:
        return instance.start()
    except VirtuosoStartError as exc:
        pytest.fail(f"virtuoso-opensource is installed but could not be started: {exc}")


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """A private Virtuoso server for the store tests (emptied before each by :func:`remote`)."""
    instance = _start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def virtuoso_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """Another private Virtuoso server, holding ``kg build``'s graphs for the command-line tests."""
    instance = _start_virtuoso(tmp_path_factory.mktemp("virtuoso-built"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture()
def remote(virtuoso: Virtuoso) -> Iterator[RemoteStore]:
    """The remote store, emptied of our graphs before each test."""
    store = RemoteStore(virtuoso.sparql_url, timeout=30)
    store.replace_graphs({}, remove=store.graph_names())
    yield store
    store.close()


def _lit(value: str, datatype: str | None = None, language: str | None = None) -> ox.Literal:
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=N(datatype)) if datatype else ox.Literal(value)


def _sample(tag: str = "a") -> list[ox.Triple]:
    """Statements exercising what a store must keep exactly: language tags, datatypes, escapes, non-ASCII, a long
    literal, chained and shared blank nodes."""
    s = N(EX + f"decl/{tag}")
    b1, b2 = ox.BlankNode(), ox.BlankNode()
    return [
        ox.Triple(s, N(EX + "title"), _lit(f"Communiqué {tag} \"quoted\" \\ back\nslash {{braces}} WHERE", language="en")),
        ox.Triple(s, N(EX + "title"), _lit("Comunicado especial", language="es")),
        ox.Triple(s, N(EX + "date"), _lit("2010-02-23", XSD + "date")),
        ox.Triple(s, N(EX + "position"), _lit("5", XSD + "integer")),
        ox.Triple(s, N(EX + "score"), _lit("0.75", XSD + "decimal")),
        ox.Triple(s, N(EX + "plain"), _lit("plain # not a comment <not-an-iri>")),
        ox.Triple(s, N(EX + "text"), _lit("x" * 50_000 + " end")),
        ox.Triple(s, N(EX + "evidence"), b1),
        ox.Triple(b1, N(EX + "start"), _lit("10", XSD + "integer")),
        ox.Triple(b1, N(EX + "next"), b2),
        ox.Triple(b2, N(EX + "quote"), _lit("the words")),
        ox.Triple(s, N(EX + "other"), b2),
    ]


def _graph_of(store: RemoteStore | OxigraphStore, graph: str) -> list[ox.Triple]:
    result = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return list(result)  # type: ignore[arg-type]


def _rows(result: object) -> Counter[tuple[str, ...]]:
    """A query's solutions as a multiset of rows of N-Triples terms (blank nodes as one placeholder)."""
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    out: Counter[tuple[str, ...]] = Counter()
    for row in result:
        cells = []
        for name in names:
            term = row[name]
            cells.append("" if term is None else "_:b" if isinstance(term, ox.BlankNode) else str(term))
        out[tuple(cells)] += 1
    return out


# --- the query text helpers -------------------------------------------------------------------------------------


def test_bind_values_goes_into_the_top_level_where_group() -> None:
    t = {ox.Variable("t"): N(EX + "topic"), ox.Variable("n"): _lit("3", XSD + "integer")}
    query = (
        "PREFIX ex: <http://example.org/{x}> # a comment with { and WHERE\n"
        "SELECT ?c (COUNT(*) AS ?k) WHERE { ?c ex:p ?t ; ex:q \"} WHERE {\" . "
        "{ SELECT ?c WHERE { ?c ex:r ?n } } } GROUP BY ?c"
    )
    bound = bind_values(query, t)
    head, tail = bound.split("VALUES", 1)
    assert head.endswith("SELECT ?c (COUNT(*) AS ?k) WHERE { ")
    assert tail.startswith(f' (?t ?n) {{ (<{EX}topic> "3"^^<{XSD}integer>) }}')
    construct = bind_values("CONSTRUCT { ?c ?p ?t } WHERE { ?c ?p ?t }", {ox.Variable("t"): _lit('a "b"')})
    assert construct == 'CONSTRUCT { ?c ?p ?t } WHERE { VALUES (?t) { ("a \\"b\\"") }  ?c ?p ?t }'
    assert bind_values("ASK { ?s ?p ?o }", {"o": _lit("x")}).startswith('ASK { VALUES (?o) { ("x") }')
    with pytest.raises(BadQuery):
        bind_values("CONSTRUCT WHERE { ?s ?p ?o }", {"o": _lit("x")})
    with pytest.raises(BadInput):
        bind_values("SELECT * { ?s ?p ?o }", {"o": ox.BlankNode()})


def test_query_form_ignores_strings_iris_and_comments() -> None:
    assert query_form("PREFIX a: <http://x/SELECT#> # DESCRIBE\nASK { ?s a:p 'CONSTRUCT' }") == "ASK"
    assert query_form("describe <http://x/>") == "DESCRIBE"


# --- the store against Virtuoso ---------------------------------------------------------------------------------


def test_open_store_gives_a_remote_store_for_a_url(virtuoso: Virtuoso) -> None:
    store = open_store(Settings(store=virtuoso.sparql_url, query_timeout=5), read_only=True)
    assert isinstance(store, RemoteStore)
    assert store.read_only and store.timeout == 15.0
    with pytest.raises(StoreError):
        store.replace_graphs({G1: _sample()})


def test_replace_graphs_round_trip_is_isomorphic(remote: RemoteStore, tmp_path: Path) -> None:
    sample = _sample()
    before = remote.generation()
    remote.replace_graphs({G1: sample, G2: _sample("b")})
    assert remote.graph_names() == [G1, G2]
    assert remote.generation() != before
    assert isomorphic(to_rdflib(_graph_of(remote, G1)), to_rdflib(sample))

    # The same statements in the embedded store answer the same queries.
    local = OxigraphStore(tmp_path / "store")
    local.replace_graphs({G1: sample, G2: _sample("b")})
    queries = [
        "SELECT ?p ?o WHERE { ?s ?p ?o FILTER(!isBlank(?o)) }",
        f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), '{GRAPH_BASE}')) }} GROUP BY ?g",
        f"SELECT ?t WHERE {{ ?d <{EX}title> ?t FILTER(LANGMATCHES(LANG(?t), 'es')) }}",
        f"SELECT ?q WHERE {{ ?d <{EX}evidence>/<{EX}next>/<{EX}quote> ?q }}",
        f"SELECT (SUM(?x) AS ?sum) WHERE {{ ?d <{EX}position> ?x }}",
    ]
    for query in queries:
        assert _rows(remote.query(query)) == _rows(local.query(query)), query
    ask = f"ASK {{ <{EX}decl/a> <{EX}date> ?d }}"
    assert bool(remote.query(ask)) is True and bool(local.query(ask)) is True
    local.close()


def test_replace_graphs_replaces_whole_graphs_and_removes(remote: RemoteStore) -> None:
    remote.replace_graphs({G1: _sample("a"), G2: _sample("b")})
    new = [ox.Triple(N(EX + "decl/a"), N(EX + "title"), _lit("Replaced", language="en"))]
    remote.replace_graphs({G1: new}, remove=[G2])
    assert remote.graph_names() == [G1]
    assert isomorphic(to_rdflib(_graph_of(remote, G1)), to_rdflib(new))
    remote.replace_graphs({G1: []})  # an empty graph is no graph
    assert remote.graph_names() == []


def test_failed_ingest_leaves_the_old_graph_in_place(remote: RemoteStore) -> None:
    old = _sample("a")
    remote.replace_graphs({G1: old})
    generation = remote.generation()

    def failing() -> Iterator[ox.Triple]:
        for i in range(5_000):  # more than one chunk reaches the server before the failure
            yield ox.Triple(N(EX + f"new/{i}"), N(EX + "p"), _lit(str(i)))
        raise RuntimeError("extraction failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        remote.replace_graphs({G2: _sample("b"), G1: failing()})
    assert remote.graph_names() == [G1]
    assert isomorphic(to_rdflib(_graph_of(remote, G1)), to_rdflib(old))
    assert remote.generation() == generation
    leftovers = remote.query(f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), '{TEMP_GRAPH_BASE}')) }}")
    assert bool(leftovers) is False
    with pytest.raises(TypeError):
        remote.replace_graphs({G1: ["not a triple"]})  # type: ignore[list-item]
    assert isomorphic(to_rdflib(_graph_of(remote, G1)), to_rdflib(old))


def test_apply_edits_part_of_a_graph_like_the_embedded_store(remote: RemoteStore, tmp_path: Path) -> None:
    """Store.apply: a whole graph replaced and part of another edited (by subject, by object, given statements,
    additions) in one request; Virtuoso ends with the same graphs as Oxigraph, and the generation changes."""
    from kg.store.base import GraphEdit

    links = [ox.Triple(N(EX + f"l/{i}"), N(EX + "source"), N(EX + f"c/{i % 3}")) for i in range(9)]
    links += [ox.Triple(N(EX + f"c/{i}"), N(EX + "related"), N(EX + f"c/{(i + 1) % 3}")) for i in range(3)]
    edit = GraphEdit(
        remove_subjects=[N(EX + "l/0"), N(EX + "c/1")], remove_objects=[N(EX + "c/2")],
        remove=[ox.Triple(N(EX + "l/3"), N(EX + "source"), N(EX + "c/0"))],
        add=[ox.Triple(N(EX + "l/new"), N(EX + "source"), N(EX + "c/1")), links[4]],
    )
    local = OxigraphStore(tmp_path / "local")
    for store in (remote, local):
        store.replace_graphs({G1: _sample("a"), G2: links})
    generation = remote.generation()
    for store in (remote, local):
        store.apply({G1: _sample("b")}, edits={G2: edit})
    assert remote.generation() != generation
    for graph in (G1, G2):
        assert isomorphic(to_rdflib(_graph_of(remote, graph)), to_rdflib(_graph_of(local, graph))), graph
    assert len(_graph_of(remote, G2)) == 7
    local.close()
    leftovers = remote.query(f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), '{TEMP_GRAPH_BASE}')) }}")
    assert bool(leftovers) is False


def test_large_graph_with_a_long_blank_node_list_is_chunked_and_kept_whole(remote: RemoteStore) -> None:
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    triples = [ox.Triple(N(EX + f"s/{i}"), N(EX + "p"), _lit(f"value {i}")) for i in range(6_000)]
    head = node = ox.BlankNode()
    for i in range(600):  # one blank-node component (1,201 triples) larger than a chunk with blank nodes (1,000)
        nxt = ox.BlankNode()
        triples += [ox.Triple(node, N(rdf + "first"), _lit(str(i), XSD + "integer")), ox.Triple(node, N(rdf + "rest"), nxt)]
        node = nxt
    triples.append(ox.Triple(N(EX + "list"), N(EX + "items"), head))
    remote.replace_graphs({G1: triples})
    count = remote.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}")
    assert next(iter(count))["n"].value == str(len(triples))  # type: ignore[call-overload]
    length = remote.query(f"SELECT (COUNT(?x) AS ?n) WHERE {{ <{EX}list> <{EX}items>/<{rdf}rest>* ?x . ?x <{rdf}first> ?v }}")
    assert next(iter(length))["n"].value == "600"  # type: ignore[call-overload]


def test_substitutions_match_the_embedded_store(remote: RemoteStore, tmp_path: Path) -> None:
    local = OxigraphStore(tmp_path / "store")
    for store in (remote, local):
        store.replace_graphs({G1: _sample("a"), G2: _sample("b")})
    query = f"SELECT ?d ?lang (COUNT(?t) AS ?n) WHERE {{ ?d <{EX}title> ?t FILTER(LANG(?t) = ?lang) }} GROUP BY ?d ?lang"
    subs = {ox.Variable("lang"): _lit("es")}
    assert _rows(remote.query(query, substitutions=subs)) == _rows(local.query(query, substitutions=subs))
    assert sum(_rows(remote.query(query, substitutions=subs)).values()) == 2
    local.close()


def test_base_iri_resolves_relative_iris(remote: RemoteStore) -> None:
    remote.replace_graphs({G1: _sample("a")})
    result = remote.query("SELECT ?d WHERE { <decl/a> <date> ?d }", base_iri=EX)
    assert [row["d"].value for row in result] == ["2010-02-23"]  # type: ignore[index, union-attr]


def test_dataset_parameters_and_describe(remote: RemoteStore) -> None:
    remote.replace_graphs({G1: _sample("a"), G2: _sample("b")})
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    one = next(iter(remote.query(count, default_graph=[N(G1)])))["n"].value  # type: ignore[call-overload]
    assert one == str(len(_sample()))
    empty = next(iter(remote.query(count, use_default_graph_as_union=False)))["n"].value  # type: ignore[call-overload]
    assert empty == "0"
    graphs = remote.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", named_graphs=[N(G2)])
    assert [row["g"] for row in graphs] == [N(G2)]  # type: ignore[index]
    described = list(remote.query(f"DESCRIBE <{EX}decl/a>"))  # type: ignore[arg-type]
    assert any(t.predicate == N(EX + "date") for t in described)


def test_export_round_trips(remote: RemoteStore, tmp_path: Path) -> None:
    remote.replace_graphs({G1: _sample("a"), G2: _sample("b")})
    remote.export(tmp_path / "dump.nq.gz", "nq")
    remote.export(tmp_path / "dump.nt", "nt")
    import gzip

    quads = list(ox.parse(gzip.decompress((tmp_path / "dump.nq.gz").read_bytes()), ox.RdfFormat.N_QUADS))
    assert {q.graph_name.value for q in quads} == {G1, G2}
    assert len(quads) == 2 * len(_sample())
    triples = list(ox.parse(path=tmp_path / "dump.nt", format=ox.RdfFormat.N_TRIPLES))
    assert len(triples) == 2 * len(_sample())
    with pytest.raises(ValueError):
        remote.export(tmp_path / "x", "xml")  # type: ignore[arg-type]


def test_writes_through_an_authenticated_update_endpoint(remote: RemoteStore, virtuoso: Virtuoso) -> None:
    """The production set-up: anonymous reads on /sparql, updates on Virtuoso's digest-protected /sparql-auth."""
    auth_url = virtuoso.base_url + "/sparql-auth"
    store = RemoteStore(Settings(store=virtuoso.sparql_url, store_update=auth_url, store_user="dba", store_password="dba"))
    store.replace_graphs({G1: _sample()})
    assert store.graph_names() == [G1]
    wrong = RemoteStore(virtuoso.sparql_url, update_url=auth_url, user="dba", password="not-the-password")
    with pytest.raises(StoreError, match="credentials"):
        wrong.replace_graphs({G2: _sample("b")})
    assert store.graph_names() == [G1]


def test_errors_are_ours(remote: RemoteStore) -> None:
    with pytest.raises(BadQuery):
        remote.query("SELECT ?x WHERE { ?x ")
    with pytest.raises(StoreError):
        RemoteStore("http://127.0.0.1:9/sparql", timeout=5).graph_names()
    with pytest.raises(BadInput):
        RemoteStore("/a/folder")


def test_virtuoso_stops_a_query_at_the_time_limit_and_it_is_a_timeout_not_a_partial_answer(remote: RemoteStore) -> None:
    remote.replace_graphs({G1: [ox.Triple(N(EX + f"s/{i}"), N(EX + "p"), _lit(str(i))) for i in range(3_000)]})
    cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # 2.7e10 rows
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        remote.query(cross, timeout=0.5)
    assert time.monotonic() - started < 20


def test_a_server_slower_than_the_timeout_is_a_query_timeout() -> None:
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            time.sleep(3)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = RemoteStore(f"http://127.0.0.1:{server.server_address[1]}/sparql", timeout=1)
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            store.query("SELECT * WHERE { ?s ?p ?o }")
        assert time.monotonic() - started < 2.9  # gave up after twice the 1 s limit
    finally:
        server.shutdown()
        server.server_close()


# --- the API over the remote store ------------------------------------------------------------------------------


def test_the_api_answers_sparql_over_the_remote_store(remote: RemoteStore, virtuoso: Virtuoso) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    remote.replace_graphs({G1: _sample("a"), G2: _sample("b")})
    query = f"SELECT ?d ?t WHERE {{ ?d <{EX}title> ?t FILTER(LANG(?t) = 'es') }} ORDER BY ?d"
    app = create_app(Settings(store=virtuoso.sparql_url, query_timeout=20))
    with TestClient(app) as client:
        response = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.text
        rows = response.json()["results"]["bindings"]
        assert [r["d"]["value"] for r in rows] == [EX + "decl/a", EX + "decl/b"]

        # A write through the store changes its generation: the endpoint answers for the new content, not from cache.
        remote.replace_graphs({}, remove=[G2])
        again = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
        assert [r["d"]["value"] for r in again.json()["results"]["bindings"]] == [EX + "decl/a"]

        turtle = client.get("/sparql", params={"query": f"DESCRIBE <{EX}decl/a>"}, headers={"Accept": "text/turtle"})
        assert turtle.status_code == 200 and "2010-02-23" in turtle.text
        refused = client.get("/sparql", params={"query": "SELECT * FROM <http://elsewhere.example/> { ?s ?p ?o }"})
        assert refused.status_code in (400, 403)


# --- build, ingest, query and serve against Virtuoso, compared with the embedded store ---------------------------

KG = [sys.executable, "-m", "kg.cli"]
COMPARED_QUERIES = [
    "SELECT ?d ?title ?date WHERE { ?d a dec:Declaration ; dcterms:title ?title . OPTIONAL { ?d dcterms:date ?date } }",
    "SELECT ?c ?pos ?act WHERE { ?c dec:partOf ?d ; dec:position ?pos ; dec:speechAct ?act }",
    "SELECT ?kind (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a ?kind . ?c a dec:Clause } GROUP BY ?kind",
    "SELECT ?topic (COUNT(?c) AS ?n) WHERE { ?c dcterms:subject ?topic } GROUP BY ?topic",
    "SELECT ?e ?p ?v ?start ?end WHERE { ?e a dec:Evidence ; dec:property ?p ; dec:value ?v ; dec:start ?start ; dec:end ?end }",
    "SELECT ?s ?label WHERE { ?s a dec:State ; skos:prefLabel ?label FILTER(LANG(?label) = 'en') }",
    # Virtuoso refuses a property path with both ends free ("transitive start not given"): bind the start.
    "SELECT ?d ?e WHERE { ?d a dec:Declaration ; cito:cites+ ?e }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "ASK { ?c dec:speechAct ?a . ?a skos:prefLabel ?l }",
]


def kg(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the ``kg`` command in a fresh process (no KG_* variables of ours leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    return subprocess.run([*KG, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def remote_build(virtuoso_built: Virtuoso) -> str:
    """``kg build --store URL`` into its own Virtuoso; returns the URL."""
    done = kg("build", "--store", virtuoso_built.sparql_url)
    assert done.returncode == 0, done.stderr
    return virtuoso_built.sparql_url


def test_kg_build_on_virtuoso_gives_the_same_graphs_as_the_embedded_store(remote_build: str, built_store: Path) -> None:
    remote = RemoteStore(remote_build)
    with OxigraphStore(built_store, read_only=True) as local:
        assert remote.graph_names() == local.graph_names()
        for graph in local.graph_names():
            ours, theirs = _graph_of(local, graph), _graph_of(remote, graph)
            assert len(ours) == len(theirs), graph
            assert isomorphic(to_rdflib(theirs), to_rdflib(ours)), graph


@pytest.mark.parametrize("query", COMPARED_QUERIES)
def test_queries_answer_the_same_on_virtuoso_and_embedded(remote_build: str, built_store: Path, query: str) -> None:
    remote = RemoteStore(remote_build)
    with OxigraphStore(built_store, read_only=True) as local:
        theirs, ours = remote.query(PROLOGUE + query), local.query(PROLOGUE + query)
        if isinstance(ours, ox.QueryBoolean):
            assert bool(theirs) == bool(ours)
        else:
            expected = _rows(ours)
            assert _rows(theirs) == expected
            assert sum(expected.values()) > 0 or "cites" in query


@pytest.mark.parametrize("name", sorted(p.stem for p in QUERIES_DIR.glob("*.rq")))
def test_query_files_answer_the_same_on_virtuoso_and_embedded(remote_build: str, built_store: Path, name: str) -> None:
    """(Before the ingest test below, which adds declarations to the remote store.) Every file of ``queries/`` (the REST operations), with its example's parameters and, where none is required,
    with none: the same rows from Virtuoso (parameters joined as ``VALUES``) as from the embedded store
    (``substitutions=``). A query written around one engine's planner can mean something else on another."""
    query = load_query(QUERIES_DIR / f"{name}.rq")
    remote = RemoteStore(remote_build)
    with OxigraphStore(built_store, read_only=True) as local:
        example = example_terms(local.raw, query)
        cases = [example] + ([{}] if not any(p.required for p in query.parameters) else [])
        for case in cases:
            bound = {ox.Variable(k): v for k, v in case.items()}
            ours = local.query(query.sparql, substitutions=bound)
            theirs = remote.query(query.sparql, substitutions=bound)
            # Row counts: the engines write some values differently (numeric types, GROUP_CONCAT order).
            assert len(list(theirs)) == len(list(ours)), (name, case)  # type: ignore[arg-type]


def test_kg_query_and_export_on_virtuoso(remote_build: str, built_store: Path, tmp_path: Path) -> None:
    done = kg("query", "--store", remote_build, "--format", "json", PROLOGUE + COMPARED_QUERIES[0])
    assert done.returncode == 0, done.stderr
    assert "lac-2010-migration-communique" in done.stdout
    done = kg("export", "--store", remote_build, "--format", "nq", "--output", str(tmp_path / "dump.nq"))
    assert done.returncode == 0, done.stderr
    with OxigraphStore(built_store, read_only=True) as local:
        expected = next(iter(local.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")))["n"].value  # type: ignore[call-overload]
    assert sum(1 for _ in ox.parse(path=tmp_path / "dump.nq", format=ox.RdfFormat.N_QUADS)) == int(expected)


def test_kg_ingest_on_virtuoso_adds_and_refuses_like_the_embedded_store(remote_build: str, tmp_path: Path) -> None:
    from kg.paths import PROJECT_DIR

    source = PROJECT_DIR / "tests" / "corpus" / "numbered-ministerial-declaration.txt"
    remote = RemoteStore(remote_build)
    before = set(remote.graph_names())
    done = kg("ingest", "--store", remote_build, str(source))
    assert done.returncode == 0, done.stderr
    added = set(remote.graph_names()) - before
    assert len(added) == 1
    (graph,) = added
    clauses = remote.query(f"SELECT (COUNT(?c) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?c a <https://w3id.org/declarations/ontology#Clause> }} }}")
    assert int(next(iter(clauses))["n"].value) > 0  # type: ignore[call-overload]

    empty = tmp_path / "empty.txt"
    empty.write_text("Nothing here.\n", encoding="utf-8")
    generation = remote.generation()
    refused = kg("ingest", "--store", remote_build, str(empty))
    assert refused.returncode == 1
    assert set(remote.graph_names()) == before | added and remote.generation() == generation
    remote.replace_graphs({}, remove=[graph])  # leave the module's build as it was


def test_kg_serve_over_virtuoso_answers_sparql(remote_build: str, built_store: Path) -> None:
    import httpx
    from helpers.server import live_server

    query = PROLOGUE + COMPARED_QUERIES[1]
    with live_server(Settings(store=remote_build, query_timeout=20)) as base:
        response = httpx.post(
            base + "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"}, timeout=60
        )
    assert response.status_code == 200, response.text
    with OxigraphStore(built_store, read_only=True) as local:
        expected = _rows(local.query(query))
    got: Counter[tuple[str, ...]] = Counter()
    for row in response.json()["results"]["bindings"]:
        got[tuple(_json_term(row[v]) for v in ("c", "pos", "act"))] += 1
    assert got == expected


def _json_term(binding: dict[str, str]) -> str:
    """A SPARQL JSON binding as N-Triples text (as :func:`_rows` writes terms)."""
    if binding["type"] == "uri":
        return f"<{binding['value']}>"
    literal = ox.Literal(binding["value"], language=binding.get("xml:lang"),
                         datatype=N(binding["datatype"]) if "datatype" in binding else None)  # fmt: skip
    return str(literal)

