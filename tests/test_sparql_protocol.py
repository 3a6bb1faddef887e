"""The /sparql endpoint over HTTP: protocol operations, content negotiation, service description, streaming,
the result cache — against a real uvicorn server over a real Oxigraph store on disk."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from SPARQLWrapper import JSON, SPARQLWrapper

from api.negotiation import choose, negotiate_result_format, parse_accept
from helpers.server import live_server
from kg.errors import NotAcceptable
from kg.namespaces import SD
from kg.settings import Settings

EX = "http://example.org/"
G1 = EX + "graph/one"
G2 = EX + "graph/two"
BIG = EX + "graph/big"
BIG_ROWS = 30_000


def make_store(path: Path) -> Path:
    """A store with two small named graphs and one of BIG_ROWS triples."""
    store = ox.Store(str(path))
    p = ox.NamedNode(EX + "p")
    store.add(ox.Quad(ox.NamedNode(EX + "a"), p, ox.Literal("one"), ox.NamedNode(G1)))
    store.add(ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "q"), ox.BlankNode("b1"), ox.NamedNode(G1)))
    store.add(ox.Quad(ox.BlankNode("b1"), p, ox.Literal("blank", language="en"), ox.NamedNode(G1)))
    store.add(ox.Quad(ox.NamedNode(EX + "b"), p, ox.Literal("two"), ox.NamedNode(G2)))
    store.bulk_extend(
        ox.Quad(ox.NamedNode(f"{EX}row/{i}"), ox.NamedNode(EX + "n"), ox.Literal(i), ox.NamedNode(BIG))
        for i in range(BIG_ROWS)
    )
    store.flush()
    del store
    return path


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("protocol") / "store")


@pytest.fixture(scope="module")
def base_url(store_path: Path) -> Iterator[str]:
    with live_server(Settings(store=str(store_path), query_timeout=10)) as url:
        yield url


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


SELECT_ONE = f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}"
CONSTRUCT_G1 = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}"


def expected_g1() -> Graph:
    g = Graph()
    g.parse(
        data=f'<{EX}a> <{EX}p> "one" .\n<{EX}a> <{EX}q> _:x .\n_:x <{EX}p> "blank"@en .\n',
        format="nt",
    )
    return g


def test_get_post_form_and_post_direct_give_the_same_answer(client: httpx.Client) -> None:
    headers = {"Accept": "application/sparql-results+json"}
    got = client.get("/sparql", params={"query": SELECT_ONE}, headers=headers)
    form = client.post("/sparql", data={"query": SELECT_ONE}, headers=headers)
    direct = client.post(
        "/sparql", content=SELECT_ONE, headers={**headers, "Content-Type": "application/sparql-query"}
    )
    for response in (got, form, direct):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        assert [b["o"]["value"] for b in response.json()["results"]["bindings"]] == ["one"]


def test_group_concat_gives_a_simple_literal(client: httpx.Client) -> None:
    # SPARQL 1.1 (and Fuseki): GROUP_CONCAT's result is a simple literal, even when every value shares a language
    # tag (Oxigraph on its own keeps "blank"@en here). A GROUP_CONCAT inside a string is not touched.
    query = (
        f"SELECT (GROUP_CONCAT(?o) AS ?all) (GROUP_CONCAT(DISTINCT ?o; SEPARATOR=')') AS ?sep) ('GROUP_CONCAT(' AS ?s)"
        f" WHERE {{ ?x <{EX}p> ?o FILTER(lang(?o) = 'en') }}"
    )
    response = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    [row] = response.json()["results"]["bindings"]
    assert row["all"] == {"type": "literal", "value": "blank"}
    assert row["sep"] == {"type": "literal", "value": "blank"}
    assert row["s"] == {"type": "literal", "value": "GROUP_CONCAT("}


def test_default_graph_is_the_union_of_named_graphs(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": f"SELECT ?o {{ ?s <{EX}p> ?o }}"})
    values = {b["o"]["value"] for b in response.json()["results"]["bindings"]}
    assert values == {"one", "two", "blank"}


def test_protocol_dataset_restricts_the_default_and_named_graphs(client: httpx.Client) -> None:
    query = f"SELECT ?o {{ ?s <{EX}p> ?o }}"
    response = client.get("/sparql", params={"query": query, "default-graph-uri": G2})
    assert {b["o"]["value"] for b in response.json()["results"]["bindings"]} == {"two"}
    response = client.get(
        "/sparql", params={"query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": [G1, G2]}
    )
    assert {b["g"]["value"] for b in response.json()["results"]["bindings"]} == {G1, G2}
    # A default-graph-uri alone gives an empty set of named graphs (SPARQL 1.1 Protocol, 2.1.4).
    response = client.get(
        "/sparql", params={"query": "ASK { GRAPH ?g { ?s ?p ?o } }", "default-graph-uri": G1}
    )
    assert response.json()["boolean"] is False


def test_from_clause_naming_our_graph_is_used(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": f"SELECT ?o FROM <{G2}> {{ ?s <{EX}p> ?o }}"})
    assert response.status_code == 200
    assert {b["o"]["value"] for b in response.json()["results"]["bindings"]} == {"two"}


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("text/csv;q=0.2, application/sparql-results+xml;q=0.8, */*;q=0.1", "application/sparql-results+xml"),
        ("text/*;q=0.9, text/csv;q=0.1", "text/tab-separated-values"),
        ("*/*", "application/sparql-results+json"),
        ("application/json", "application/json"),
    ],
)
def test_select_negotiates_formats_with_q_values(client: httpx.Client, accept: str, media_type: str) -> None:
    response = client.get("/sparql", params={"query": SELECT_ONE}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    if media_type == "text/csv":
        assert list(csv.reader(io.StringIO(response.text))) == [["o"], ["one"]]
        return
    parsed = ox.parse_query_results(
        response.content,
        format=ox.QueryResultsFormat.from_media_type(
            "application/sparql-results+json" if media_type == "application/json" else media_type
        ),
    )
    assert [str(s["o"].value) for s in parsed] == ["one"]


def test_csv_and_format_parameter(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": SELECT_ONE, "format": "csv"}, headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(response.text))) == [["o"], ["one"]]


def test_ask_in_json_and_xml(client: httpx.Client) -> None:
    query = f"ASK {{ <{EX}b> ?p ?o }}"
    assert client.get("/sparql", params={"query": query}).json() == {"head": {}, "boolean": True}
    xml = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+xml"})
    assert bool(ox.parse_query_results(xml.content, format=ox.QueryResultsFormat.XML)) is True


@pytest.mark.parametrize(
    ("accept", "fmt", "rdflib_format"),
    [
        ("text/turtle", None, "turtle"),
        ("application/n-triples", None, "nt"),
        ("application/ld+json", None, "json-ld"),
        ("application/rdf+xml", None, "xml"),
        ("application/trig", None, "trig"),
        ("application/n-quads", None, "nquads"),
        (None, "jsonld", "json-ld"),
        (None, "rdfxml", "xml"),
        (None, "nt", "nt"),
    ],
)
def test_construct_in_every_rdf_format(
    client: httpx.Client, accept: str | None, fmt: str | None, rdflib_format: str
) -> None:
    params = {"query": CONSTRUCT_G1, **({"format": fmt} if fmt else {})}
    response = client.get("/sparql", params=params, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.text
    graph = Graph()
    if rdflib_format in ("trig", "nquads"):
        from rdflib import Dataset

        dataset = Dataset()
        dataset.parse(data=response.content, format=rdflib_format)
        for s, p, o, _ in dataset.quads():
            graph.add((s, p, o))
    else:
        graph.parse(data=response.content, format=rdflib_format)
    assert isomorphic(graph, expected_g1())


def test_describe_gives_rdf(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": f"DESCRIBE <{EX}b>"})
    assert response.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    assert (URIRef(EX + "b"), URIRef(EX + "p"), Literal("two")) in graph


def test_nothing_acceptable_is_406_problem(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": SELECT_ONE}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 406
    assert client.get("/sparql", params={"query": CONSTRUCT_G1, "format": "csv"}).status_code == 406


def test_service_description_in_three_syntaxes(client: httpx.Client, base_url: str) -> None:
    for accept, fmt in (("text/turtle", "turtle"), ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld")):
        response = client.get("/sparql", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(accept)
        graph = Graph().parse(data=response.content, format=fmt)
        services = list(graph.subjects(SD.endpoint, URIRef(base_url + "/sparql")))
        assert len(services) == 1
        service = services[0]
        assert (service, SD.feature, SD.UnionDefaultGraph) in graph
        assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
        formats = set(graph.objects(service, SD.resultFormat))
        assert URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
        assert URIRef("http://www.w3.org/ns/formats/JSON-LD") in formats
        names = {str(n) for n in graph.objects(None, SD.name)}
        assert names == {G1, G2, BIG}
        assert graph.value(service, SD.defaultDataset) is not None


def test_service_description_by_format_parameter(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"format": "jsonld"}, headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("application/ld+json")
    assert len(Graph().parse(data=response.content, format="json-ld")) > 10
    assert client.get("/sparql", params={"format": "csv"}).status_code == 406


def test_browser_gets_html_without_query(client: httpx.Client) -> None:
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_large_results_stream_complete(client: httpx.Client) -> None:
    query = f"SELECT ?s ?n {{ GRAPH <{BIG}> {{ ?s <{EX}n> ?n }} }}"
    with client.stream("GET", "/sparql", params={"query": query}, headers={"Accept": "text/csv"}) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not buffered
        chunks = [chunk for chunk in response.iter_bytes()]
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == BIG_ROWS + 1
    assert len(chunks) > 1


def test_cors_lets_other_pages_query(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://example.net"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/sparql",
        headers={
            "Origin": "https://example.net",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200


def test_sparqlwrapper_client(base_url: str) -> None:
    wrapper = SPARQLWrapper(base_url + "/sparql")
    wrapper.setQuery(SELECT_ONE)
    wrapper.setReturnFormat(JSON)
    result = wrapper.query().convert()
    assert [b["o"]["value"] for b in result["results"]["bindings"]] == ["one"]
    wrapper.setMethod("POST")
    assert wrapper.query().convert()["results"]["bindings"][0]["o"]["value"] == "one"


def test_repeated_query_is_cached_and_stays_exact_after_a_write(tmp_path: Path) -> None:
    path = make_store(tmp_path / "store")
    query = f"SELECT (COUNT(*) AS ?n) {{ ?s <{EX}n> ?o }}"
    with live_server(Settings(store=str(path))) as url, httpx.Client(base_url=url, timeout=30) as client:
        first = client.get("/sparql", params={"query": query})
        second = client.get("/sparql", params={"query": "  " + query.replace(" ", "   ") + " # same"})
        assert first.headers["x-cache"] == "miss" and second.headers["x-cache"] == "hit"
        assert first.content == second.content
        # Another process writes the store: the next answer must see it.
        writer = ox.Store(str(path))
        writer.add(ox.Quad(ox.NamedNode(EX + "new"), ox.NamedNode(EX + "n"), ox.Literal(1), ox.NamedNode(BIG)))
        writer.flush()
        del writer
        third = client.get("/sparql", params={"query": query})
        assert third.headers["x-cache"] == "miss"
        assert third.json()["results"]["bindings"][0]["n"]["value"] == str(BIG_ROWS + 1)


def test_cached_answers_are_faster(base_url: str) -> None:
    query = f"SELECT (COUNT(*) AS ?n) (SUM(?v) AS ?t) {{ ?s <{EX}n> ?v }}"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        start = time.perf_counter()
        cold = client.get("/sparql", params={"query": query})
        cold_time = time.perf_counter() - start
        warm_times = []
        for _ in range(5):
            start = time.perf_counter()
            warm = client.get("/sparql", params={"query": query})
            warm_times.append(time.perf_counter() - start)
    assert cold.headers["x-cache"] == "miss" and warm.headers["x-cache"] == "hit"
    assert warm.content == cold.content
    assert min(warm_times) < cold_time


def test_kg_serve_get_smoke(store_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--store", str(store_path), "--get", "/sparql?query=ASK%7B%7D"],
        capture_output=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["boolean"] is True
    bad = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--store", str(store_path), "--get", "/sparql?query=ASK%7B"],
        capture_output=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["status"] == 400


# --- negotiation, unit level ---------------------------------------------------------------------------------


def test_accept_parsing_specificity_and_wildcards() -> None:
    ranges = parse_accept("text/*;q=0.3, text/html;q=0.7, text/html;level=1, */*;q=0.5")
    assert [(r.type, r.subtype, r.q) for r in ranges][1] == ("text", "html", 0.7)
    assert choose("text/*;q=0.3, text/csv;q=0.9", ["text/tab-separated-values", "text/csv"]) == "text/csv"
    assert choose("text/*;q=0.3, */*;q=0.5", ["text/csv", "application/json"]) == "application/json"
    assert choose("text/csv;q=0", ["text/csv"]) is None
    assert choose("", ["text/csv"]) == "text/csv"
    assert choose("garbage, text/csv;q=abc", ["text/csv"]) is None
    with pytest.raises(NotAcceptable):
        negotiate_result_format("application/rdf+xml", None, graph=False)
    assert negotiate_result_format("application/xml", None, graph=True).oxigraph_name == "RDF_XML"


def test_endpoint_over_the_built_store(built_store: Path) -> None:
    """The real graph: the seed communiqué is there, through the union default graph and through its own graph."""
    query = (
        "PREFIX dec: <https://w3id.org/declarations/ontology#> "
        "SELECT ?d (COUNT(?c) AS ?clauses) { ?d a dec:Declaration . ?c dec:partOf ?d } GROUP BY ?d"
    )
    declaration = "https://w3id.org/declarations/id/declaration/lac-2010-migration-communique"
    graph = "https://w3id.org/declarations/graph/declaration/lac-2010-migration-communique"
    with live_server(Settings(store=str(built_store))) as url, httpx.Client(base_url=url, timeout=60) as client:
        rows = client.get("/sparql", params={"query": query}).json()["results"]["bindings"]
        assert declaration in {r["d"]["value"] for r in rows}
        assert all(int(r["clauses"]["value"]) > 0 for r in rows)
        own = client.get("/sparql", params={"query": f"ASK {{ <{declaration}> ?p ?o }}", "default-graph-uri": graph})
        assert own.json()["boolean"] is True
        description = Graph().parse(data=client.get("/sparql", headers={"Accept": "text/turtle"}).text, format="turtle")
        assert URIRef(graph) in set(description.objects(None, SD.name))
