"""The REST lookup ``/api/{name}`` over HTTP, served by a real uvicorn server over the built store.

Each query file's example is called and must answer as it declares, and as the store itself answers the same query
with the same bindings; then: resources by key, IRI or label, errors as problem+json, pagination, CSV, ETags, CORS,
the JSON-LD context (the answer read as RDF), the OpenAPI document, and injection payloads in every parameter.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
import rdflib

from api.queries import RESOLVABLE, NamedQuery, example_failures, load_queries, rows_of
from kg.namespaces import ID_BASE, LINKS_GRAPH
from kg.paths import QUERIES_DIR
from kg.settings import Settings

QUERIES = load_queries(QUERIES_DIR)
COMMUNIQUE = ID_BASE + "declaration/lac-2010-migration-communique"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def base_url(server: str) -> str:
    """The live server of ``tests/conftest.py`` over the built store."""
    return server


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def store_fingerprint(store: ox.Store) -> tuple[int, str]:
    """Number of quads and a hash of all of them (sorted), to show the store did not change."""
    lines = sorted(str(q) for q in store.quads_for_pattern(None, None, None, None))
    return len(lines), hashlib.blake2b("\n".join(lines).encode(), digest_size=16).hexdigest()


def direct_rows(
    store: ox.Store, query: NamedQuery, bindings: dict[str, ox.NamedNode | ox.Literal]
) -> list[dict[str, Any]]:
    """The rows the store itself gives for ``query`` with ``bindings``, in the REST layer's JSON values."""
    result = store.query(query.sparql, use_default_graph_as_union=True,
                         substitutions={ox.Variable(k): v for k, v in bindings.items()} or None)
    return rows_of(json.loads(result.serialize(format=ox.QueryResultsFormat.JSON)), query.fields)


def resource_in_store(store: ox.Store, kind: str, value: str) -> ox.NamedNode:
    """The test's own reading of a resource name (key, IRI or exact label) against the store, independent of the
    router's: the first type of ``kind`` holding the key, else the one resource with that label."""
    types, classes = RESOLVABLE[kind]
    if value.startswith("http"):
        return ox.NamedNode(value)
    for type_ in types if re.fullmatch(r"[a-z0-9][a-z0-9./-]*", value) else ():
        iri = ox.NamedNode(f"{ID_BASE}{type_}/{value}")
        if next(iter(store.quads_for_pattern(iri, None, None, None)), None) is not None:
            return iri
    found: set[str] = set()
    for cls in classes:
        rows = store.query(
            "SELECT DISTINCT ?s ?v ?c WHERE { ?s a ?c ; ?p ?l FILTER(isLiteral(?l) && STR(?l) = ?v) }",
            substitutions={ox.Variable("v"): ox.Literal(value), ox.Variable("c"): ox.NamedNode(cls)},
            use_default_graph_as_union=True,
        )
        found.update(row["s"].value for row in rows)
    assert len(found) == 1, (kind, value, found)
    return ox.NamedNode(found.pop())


def bound_terms(store: ox.Store, query: NamedQuery, params: dict[str, Any]) -> dict[str, ox.NamedNode | ox.Literal]:
    """The terms the example's parameters stand for (names of resources read against the store)."""
    terms: dict[str, ox.NamedNode | ox.Literal] = {}
    for parameter in query.parameters:
        value = params.get(parameter.name, parameter.default)
        if value is None:
            continue
        if parameter.resolves:
            terms[parameter.name] = resource_in_store(store, parameter.resolves, str(value))
        else:
            terms[parameter.name] = parameter.term(parameter.check(value))
    return terms


# --- every query's example ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_example_answers_as_declared(client: httpx.Client, store: ox.Store, name: str) -> None:
    query = QUERIES[name]
    example = query.meta.example
    params = {k: str(v) for k, v in example.params.items()}
    response = client.get(f"/api/{name}", params={**params, "limit": 1000})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["total"] == len(body["items"]) == int(response.headers["x-total-count"])
    for item in body["items"]:
        assert list(item) == list(query.fields)
    if example.needs_graph == "links" and LINKS_GRAPH not in {g.value for g in store.named_graphs()}:
        assert body["items"] == [], "without the links graph there is nothing to relate"
        pytest.skip(f"{name}: the store has no {LINKS_GRAPH} (kg.link did not run); example not checkable")
    assert example_failures(query, body["items"]) == []
    assert body["items"] == direct_rows(store, query, bound_terms(store, query, example.params))


def test_every_query_answers_without_parameters_or_says_which_are_needed(client: httpx.Client) -> None:
    for name, query in QUERIES.items():
        response = client.get(f"/api/{name}")
        required = [p.name for p in query.parameters if p.required]
        if required:
            assert response.status_code == 422, name
            assert response.headers["content-type"] == PROBLEM
            assert required[0] in response.json()["detail"], name
        else:
            assert response.status_code == 200, (name, response.text)


def test_index_lists_operations(client: httpx.Client, base_url: str) -> None:
    body = client.get("/api").json()
    assert [op["name"] for op in body["operations"]] == sorted(QUERIES)
    clauses = next(op for op in body["operations"] if op["name"] == "clauses")
    assert clauses["path"] == f"{base_url}/api/clauses"
    assert {p["name"] for p in clauses["parameters"]} >= {"topic", "kind", "actor", "right", "forum", "text"}


# --- parameters -----------------------------------------------------------------------------------------------------


def test_resource_by_key_iri_local_iri_or_label(client: httpx.Client, base_url: str) -> None:
    answers = []
    for value in ("remittances", ID_BASE + "topic/remittances", f"{base_url}/id/topic/remittances", "Remittances",
                  "remesas"):
        response = client.get("/api/clauses", params={"topic": value})
        answers.append((value, response.status_code, [i["clause"] for i in response.json().get("items", [])]))
    statuses = {value: status for value, status, _ in answers}
    assert statuses["remittances"] == 200 and statuses[ID_BASE + "topic/remittances"] == 200
    assert statuses[f"{base_url}/id/topic/remittances"] == 200
    reference = answers[0][2]
    assert ID_BASE + "clause/lac-2010-migration-communique/5" in reference
    for value, status, clauses in answers:
        if status == 200:
            assert clauses == reference, value
        else:  # a label the reference data does not hold (case matters: labels are exact)
            assert status == 404, value


def test_actor_by_label_and_declaration_by_title(client: httpx.Client) -> None:
    by_label = client.get("/api/declarations", params={"adopter": "Latin America and the Caribbean"})
    by_key = client.get("/api/declarations", params={"adopter": "latin-america-and-the-caribbean"})
    assert by_label.status_code == by_key.status_code == 200
    assert by_label.json()["items"] == by_key.json()["items"]
    assert COMMUNIQUE in [i["declaration"] for i in by_key.json()["items"]]
    title = client.get("/api/declaration",
                       params={"declaration": "Special Communiqué on Cooperation on Migration Issues"})
    assert title.status_code == 200 and title.json()["total"] >= 10


def test_unknown_resource_is_404_problem(client: httpx.Client) -> None:
    for params in ({"topic": "no-such-topic"}, {"declaration": ID_BASE + "declaration/none"},
                   {"actor": "Atlantis"}, {"forum": ID_BASE + "topic/remittances"}):
        response = client.get("/api/clauses", params=params)
        assert response.status_code == 404, params
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["status"] == 404 and problem["parameter"] == next(iter(params))


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/api/declarations", {"from": "twenty"}, "from"),
        ("/api/declarations", {"from": "10000"}, "from"),
        ("/api/clauses", {"kind": "promise"}, "kind"),
        ("/api/clauses", {"text": "x" * 301}, "text"),
        ("/api/clauses", {"text": "nul\x00"}, "text"),
        ("/api/clauses", {"limit": "0"}, "limit"),
        ("/api/clauses", {"limit": "1001"}, "limit"),
        ("/api/clauses", {"offset": "-1"}, "offset"),
        ("/api/clauses", {"format": "xml"}, "format"),
        ("/api/related_clauses", {"min_score": "2"}, "min_score"),
        ("/api/declaration", {}, "declaration"),
    ],
)
def test_bad_parameter_is_422_problem(client: httpx.Client, path: str, params: dict[str, str], words: str) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert words in response.json()["detail"]


def test_unknown_path_is_404_problem(client: httpx.Client) -> None:
    response = client.get("/api/no_such_operation")
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM


def test_year_range_filters(client: httpx.Client) -> None:
    def dates(**params: str) -> list[str]:
        items = client.get("/api/declarations", params=params).json()["items"]
        return [i["date"] for i in items]

    everything = dates()
    recent = dates(**{"from": "2015"})
    window = dates(**{"from": "2000", "to": "2010"})
    assert recent and all(d >= "2015" for d in recent) and len(recent) < len(everything)
    assert window and all("2000" <= d[:4] <= "2010" for d in window)
    assert dates(**{"from": "2011", "to": "2010"}) == []


def test_text_search_is_case_insensitive(client: httpx.Client) -> None:
    upper = client.get("/api/clauses", params={"text": "REMITTANCES"}).json()
    lower = client.get("/api/clauses", params={"text": "remittances"}).json()
    assert upper["items"] == lower["items"] and upper["total"] >= 1
    assert all("remittances" in i["clause_text"].lower() for i in upper["items"])


# --- answers --------------------------------------------------------------------------------------------------------


def test_pagination_links_and_total(client: httpx.Client) -> None:
    whole = client.get("/api/actors", params={"limit": 1000}).json()
    total = whole["total"]
    assert total > 25
    pages, url = [], "/api/actors?limit=10"
    while url:
        response = client.get(url)
        body = response.json()
        assert body["total"] == total and len(body["items"]) <= 10
        pages.extend(body["items"])
        links = response.links
        assert ("prev" in links) == (body["offset"] > 0)
        url = links.get("next", {}).get("url")
        assert url == body["next"]
    assert pages == whole["items"]
    last = client.get("/api/actors", params={"limit": 10, "offset": total + 5}).json()
    assert last["items"] == [] and last["total"] == total


def test_csv_by_format_or_accept(client: httpx.Client) -> None:
    json_items = client.get("/api/declarations").json()["items"]
    for response in (client.get("/api/declarations", params={"format": "csv"}),
                     client.get("/api/declarations", headers={"Accept": "text/csv"})):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert list(rows[0]) == list(QUERIES["declarations"].fields)
        assert [r["declaration"] for r in rows] == [i["declaration"] for i in json_items]
        assert [int(r["clauses"]) for r in rows] == [i["clauses"] for i in json_items]
    assert client.get("/api/declarations", headers={"Accept": "image/png"}).status_code == 406


def test_etag_and_not_modified(client: httpx.Client) -> None:
    first = client.get("/api/topics")
    etag = first.headers["etag"]
    again = client.get("/api/topics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get("/api/topics", params={"declaration": "lac-2010-migration-communique", "limit": 5})
    assert other.headers["etag"] != etag
    assert client.get("/api/topics", headers={"If-None-Match": '"stale"'}).status_code == 200
    assert client.get("/api/topics", params={"format": "csv"}).headers["etag"] != etag


def test_cors(client: httpx.Client) -> None:
    response = client.get("/api/topics", headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "link", "x-total-count"} <= exposed
    preflight = client.options("/api/topics", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]


def test_context_of_an_unknown_operation_is_a_404_problem(client: httpx.Client) -> None:
    """One route serves every operation's context document; a name that is no operation is not found."""
    assert client.get("/api/declaration/context.jsonld").json()["@context"]["items"]["@id"] == "hydra:member"
    missing = client.get("/api/no_such_operation/context.jsonld")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert "GET /api lists them" in missing.json()["detail"]


def test_json_ld_context_makes_the_answer_rdf(client: httpx.Client) -> None:
    response = client.get("/api/declarations", params={"adopter": "latin-america-and-the-caribbean"})
    context_link = response.links["http://www.w3.org/ns/json-ld#context"]["url"]
    context = client.get(context_link)
    assert context.status_code == 200 and context.headers["content-type"] == "application/ld+json"
    document = {**context.json(), **response.json()}
    graph = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    communique = rdflib.URIRef(COMMUNIQUE)
    dcterms = rdflib.Namespace("http://purl.org/dc/terms/")
    dec = rdflib.Namespace("https://w3id.org/declarations/ontology#")
    title = rdflib.Literal("Special Communiqué on Cooperation on Migration Issues")
    assert (communique, dcterms.title, title) in graph
    assert (communique, dcterms.date, rdflib.Literal("2010-02-23", datatype=rdflib.XSD.date)) in graph
    assert (communique, dec.place, rdflib.URIRef(ID_BASE + "place/mayan-riviera")) in graph
    inline = client.get("/api/declarations", headers={"Accept": "application/ld+json"})
    assert inline.headers["content-type"] == "application/ld+json"
    assert inline.json()["@context"] == context_link
    # Every field whose values are IRIs is declared as such in every context (else JSON-LD reads a string);
    # GROUP_CONCAT fields are lists of IRIs in one string, plain text to JSON-LD.
    for name, query in QUERIES.items():
        terms = client.get(f"/api/{name}/context.jsonld").json()["@context"]
        items = client.get(f"/api/{name}", params={k: str(v) for k, v in query.meta.example.params.items()}).json()
        for field in query.fields:
            values = [i[field] for i in items["items"] if i[field] is not None]
            concatenated = re.search(r"GROUP_CONCAT\((?:(?!\bAS\b).)*\)\s*AS\s*\?" + field + r"\b", query.sparql, re.S)
            if values and all(isinstance(v, str) and v.startswith(ID_BASE) for v in values) and not concatenated:
                term = terms[field]
                assert term == "@id" or (isinstance(term, dict) and term.get("@type") == "@id"), (name, field)


def test_openapi_document_and_docs(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for name, query in QUERIES.items():
        operation = document["paths"][f"/api/{name}"]["get"]
        assert operation["operationId"] == name and operation["summary"] == query.meta.summary
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert set(parameters) == {p.name for p in query.parameters} | {"limit", "offset", "format"}
        for parameter in query.parameters:
            schema = parameters[parameter.name]["schema"]
            assert parameters[parameter.name]["required"] == parameter.required
            if parameter.kind.value in ("int", "year"):
                assert schema["type"] == "integer"
            if parameter.enum:
                assert schema["enum"] == list(parameter.enum)
        item = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["items"]
        assert item["items"]["required"] == list(query.fields)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_same_query_other_bindings_are_not_mixed_up_by_the_cache(client: httpx.Client) -> None:
    totals = {year: client.get("/api/declarations", params={"from": year}).json()["total"] for year in (1900, 2015)}
    again = {year: client.get("/api/declarations", params={"from": year}).json()["total"] for year in (1900, 2015)}
    assert totals == again and totals[1900] > totals[2015] > 0


# --- injection ------------------------------------------------------------------------------------------------------

PAYLOADS = [
    '" } ; DROP ALL ; #',
    "' } UNION { ?s ?p ?o } #",
    "> } INSERT DATA { <urn:x> <urn:y> <urn:z> } #",
    "<https://w3id.org/declarations/id/topic/remittances>",
    "remittances\" || true || \"",
    "}}}}",
    "#",
    "\x00",
    "a\x00b",
    "<>",
    "x" * 5000,
    "é\u202e\ufeff",
]


def test_injection_payloads_in_every_parameter(client: httpx.Client, store: ox.Store) -> None:
    before = store_fingerprint(store)
    seen: dict[int, int] = {}
    for name, query in QUERIES.items():
        for parameter in query.parameters:
            for payload in PAYLOADS:
                params = {k: str(v) for k, v in query.meta.example.params.items()}
                params[parameter.name] = payload
                response = client.get(f"/api/{name}", params=params)
                seen[response.status_code] = seen.get(response.status_code, 0) + 1
                assert response.status_code in (200, 404, 422), (name, parameter.name, payload[:30], response.text)
                if response.status_code != 200:
                    assert response.headers["content-type"] == PROBLEM
                    continue
                # Accepted: the payload was bound as a plain literal; the answer is the store's own for it.
                assert parameter.kind.value == "literal" and not parameter.resolves, (name, parameter.name)
                terms = bound_terms(store, query, {k: v for k, v in query.meta.example.params.items()
                                                   if k != parameter.name} | {parameter.name: payload})
                assert response.json()["items"] == direct_rows(store, query, terms)[:100]
    assert store_fingerprint(store) == before
    assert seen.get(500, 0) == 0 and seen.get(422, 0) > 0 and seen.get(404, 0) > 0


# --- the engines bind substitutions ---------------------------------------------------------------------------------


def test_substitutions_in_the_worker_pool_and_the_store_engine(built_store: Path) -> None:
    """The same query with other bindings answers differently (and the cache keeps them apart), the same in worker
    processes and through the Store interface."""
    import asyncio

    from api.cache import ResultCache
    from api.negotiation import TABLE_FORMATS
    from api.querying import QueryService
    from api.workers import QueryEngine, StoreEngine, WorkerPool
    from kg.store.oxigraph import OxigraphStore

    text = """PREFIX dec: <https://w3id.org/declarations/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?d ?y ?t WHERE {
  ?d a dec:Declaration ; dcterms:date ?date ; dcterms:title ?title
  FILTER(COALESCE(YEAR(?date) >= ?y, true)) FILTER(COALESCE(STR(?title) = ?t, true))
}"""
    json_format = next(f for f in TABLE_FORMATS if f.media_type == "application/sparql-results+json")
    calls: list[dict[str, Any] | None] = [
        None, {"y": ox.Literal(2015)}, {"y": ox.Literal(2015)}, {"y": ox.Literal(1900)},
        {"t": ox.Literal("Lima Declaration")}, {"t": ox.Literal('Lima Declaration" || true || "')},
    ]

    async def counts(engine: QueryEngine) -> list[int]:
        await engine.start()
        try:
            service = QueryService(engine, ResultCache(1 << 20))
            out = []
            for substitutions in calls:
                data = await service.collect(text, json_format, substitutions=substitutions)  # type: ignore[arg-type]
                out.append(len(json.loads(data)["results"]["bindings"]))
            return out
        finally:
            await engine.close()

    pool = asyncio.run(counts(WorkerPool(built_store, size=1, timeout=20)))
    direct = asyncio.run(counts(StoreEngine(OxigraphStore(built_store, read_only=True), timeout=20)))
    assert pool == direct
    everything, recent, recent_again, old, lima, injected = pool
    assert everything > recent == recent_again > 0 and old == everything
    assert lima == 1 and injected == 0


def test_rest_calls_count_against_the_per_client_limit(built_store: Path) -> None:
    """A client already running its limit of queries gets 429 from the REST lookup too."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(Settings(store=str(built_store), workers=1, max_queries_per_client=1))
    with TestClient(app) as http:
        assert http.get("/api/topics").status_code == 200
        app.state.client_limiter.acquire("testclient")  # a query of this client still running
        busy = http.get("/api/topics")
        assert busy.status_code == 429 and busy.headers["content-type"] == PROBLEM
        app.state.client_limiter.release("testclient")
        assert http.get("/api/topics").status_code == 200
        assert app.state.client_limiter.running("testclient") == 0


def test_answers_are_compact_json_even_with_integers_past_64_bits() -> None:
    from api.routers.rest import _json

    document = {"operation": "x", "total": 2, "items": [{"n": 10**30, "text": "Déclaration «spéciale»"}, {"n": -1}]}
    expected = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert _json(document) == expected  # json's path (orjson refuses the integer)
    del document["items"][0]["n"]
    assert _json(document) == json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
