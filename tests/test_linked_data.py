"""Dereferenceable IRIs (api/routers/linkeddata.py, api/describe.py) on a live server over the built store, read
by real clients: rdflib's ``Graph.parse`` on the IRIs for each format, ``curl -I`` for the headers."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from api.describe import DESCRIBE_QUERY, PREFIX_BLOCK, Freshness, choose_form, etag

DECLARATION = "declaration/lac-2010-migration-communique"
CANONICAL = "https://w3id.org/declarations/id/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def expected_document(store: ox.Store, iri: str) -> rdflib.Graph:
    """The document straight from the store (the same CONSTRUCT, run in-process)."""
    result = store.query(PREFIX_BLOCK + DESCRIBE_QUERY.format(iri=iri), use_default_graph_as_union=True)
    data = ox.serialize(result, format=ox.RdfFormat.N_TRIPLES)
    return rdflib.Graph().parse(data=data, format="nt")


@pytest.mark.parametrize(
    ("accept", "suffix"),
    [
        ("application/rdf+xml,text/html", ".rdf"),
        ("text/html,application/rdf+xml", ".rdf"),  # the order of the header never matters
        ("text/html;q=0.9,application/rdf+xml", ".rdf"),
        ("text/html,application/rdf+xml;q=0.9", ""),
        (BROWSER, ""),
        ("*/*", ""),
        (None, ""),
        ("text/turtle", ".ttl"),
        ("text/turtle;q=0.5, application/ld+json", ".jsonld"),
        ("application/n-triples", ".nt"),
        ("text/plain, */*;q=0.1", ".nt"),
        ("application/json", ".jsonld"),
        ("text/*", ""),
        ("application/*", ".jsonld"),
    ],
)
def test_303_by_q_values(server: str, accept: str | None, suffix: str) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    if accept is None:
        headers["Accept"] = ""
    response = httpx.get(f"{server}/id/{DECLARATION}", headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == f"/doc/{DECLARATION}{suffix}"
    assert "Accept" in response.headers["vary"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert 'rel="describedby"' in response.headers["link"]


def test_negotiation_rule_matches_the_doctest_order() -> None:
    """Regression: ties between RDF/XML and HTML named exactly go to RDF/XML in both orders."""
    assert choose_form("application/rdf+xml,text/html") == choose_form("text/html,application/rdf+xml")
    assert choose_form("application/rdf+xml;q=0.5,text/html;q=0.5") == "application/rdf+xml"
    assert choose_form("image/png") is None


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "xml", "nt", None])
@pytest.mark.parametrize("path", [DECLARATION, "clause/lac-2010-migration-communique/5", "topic/remittances",
                                  "state/mexico"])
def test_rdflib_reads_every_form_from_the_iri(server: str, store: ox.Store, fmt: str | None, path: str) -> None:
    graph = rdflib.Graph()
    graph.parse(f"{server}/id/{path}", format=fmt)
    expected = expected_document(store, CANONICAL + path)
    assert len(expected) > 5
    assert isomorphic(graph, expected)
    # The document is about the canonical IRI, not the host that served it.
    assert (rdflib.URIRef(CANONICAL + path), None, None) in graph
    assert not any(str(s).startswith(server) for s in graph.subjects())


def test_document_has_labels_of_what_it_links_to(server: str) -> None:
    graph = rdflib.Graph().parse(f"{server}/doc/clause/lac-2010-migration-communique/5.ttl", format="turtle")
    remittances = rdflib.URIRef(CANONICAL + "topic/remittances")
    skos = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
    assert (None, rdflib.DCTERMS.subject, remittances) in graph
    assert graph.value(remittances, skos.prefLabel) is not None
    declaration = rdflib.URIRef(CANONICAL + DECLARATION)
    assert graph.value(declaration, rdflib.DCTERMS.title) is not None


def _curl_head(url: str, *headers: str) -> tuple[int, dict[str, str]]:
    args = ["curl", "-sI", "--max-time", "20"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=30).stdout
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    status = int(lines[0].split()[1])
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return status, fields


@pytest.mark.skipif(shutil.which("curl") is None, reason="install curl (Debian: curl)")
def test_headers_with_curl(server: str) -> None:
    status, h = _curl_head(f"{server}/id/{DECLARATION}", "Accept: text/turtle")
    assert status == 303
    assert h["location"] == f"/doc/{DECLARATION}.ttl"
    assert "Accept" in h["vary"] and h["access-control-allow-origin"] == "*"
    assert f'</doc/{DECLARATION}.ttl>; rel="describedby"' in h["link"]

    status, h = _curl_head(f"{server}/doc/{DECLARATION}.ttl")
    assert status == 200
    assert h["content-type"].startswith("text/turtle")
    assert h["etag"].startswith('W/"') and h["last-modified"].endswith("GMT")
    assert h["access-control-allow-origin"] == "*"
    for suffix, media_type in (("jsonld", "application/ld+json"), ("rdf", "application/rdf+xml"),
                               ("nt", "application/n-triples")):
        assert f'</doc/{DECLARATION}.{suffix}>; rel="alternate"; type="{media_type}"' in h["link"]
    assert f'<{CANONICAL}{DECLARATION}>; rel="describes"' in h["link"]
    ttl_tag, modified = h["etag"], h["last-modified"]

    status, h = _curl_head(f"{server}/doc/{DECLARATION}", "Accept: application/n-triples")
    assert status == 200 and "Accept" in h["vary"]
    assert h["content-location"] == f"/doc/{DECLARATION}.nt"
    assert h["etag"] != ttl_tag  # one ETag per representation

    status, h = _curl_head(f"{server}/doc/{DECLARATION}", "Accept: text/html")
    assert status == 200 and h["content-type"].startswith("text/html") and h["etag"] not in (ttl_tag,)

    assert _curl_head(f"{server}/doc/{DECLARATION}.ttl", f"If-None-Match: {ttl_tag}")[0] == 304
    assert _curl_head(f"{server}/doc/{DECLARATION}.ttl", 'If-None-Match: W/"other"')[0] == 200
    assert _curl_head(f"{server}/doc/{DECLARATION}.ttl", f"If-Modified-Since: {modified}")[0] == 304
    assert _curl_head(f"{server}/doc/{DECLARATION}.ttl", "If-Modified-Since: Mon, 01 Jan 1990 00:00:00 GMT")[0] == 200


def test_unknown_iris_are_404_in_the_form_asked(server: str) -> None:
    for path in ("/id/topic/no-such-topic", "/doc/topic/no-such-topic", "/doc/topic/no-such-topic.ttl",
                 "/id/nonsense/x", "/id/topic/Bad%20Key"):
        machine = httpx.get(server + path, headers={"Accept": "text/turtle"})
        assert machine.status_code == 404, path
        assert machine.headers["content-type"] == "application/problem+json"
        assert machine.json()["status"] == 404
        assert machine.headers["access-control-allow-origin"] == "*"
        browser = httpx.get(server + path, headers={"Accept": BROWSER})
        assert browser.status_code == 404
        assert browser.headers["content-type"].startswith("text/html")
        assert "Not found" in browser.text


def test_406_when_no_form_fits(server: str) -> None:
    for path in (f"/id/{DECLARATION}", f"/doc/{DECLARATION}"):
        response = httpx.get(server + path, headers={"Accept": "image/png, application/pdf;q=0.5"})
        assert response.status_code == 406
        assert response.headers["content-type"] == "application/problem+json"
        assert "text/turtle" in response.json()["available"]


def test_cors_preflight(server: str) -> None:
    response = httpx.options(f"{server}/doc/{DECLARATION}", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == "*"
    assert "if-none-match" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers
    # A cross-origin GET may read the validators and the links.
    got = httpx.get(f"{server}/doc/{DECLARATION}.ttl", headers={"Origin": "https://example.org"})
    assert got.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in got.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "link"} <= exposed


def test_etag_follows_the_store_generation() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    one, two = Freshness("gen-1", now), Freshness("gen-2", now)
    assert etag(one, "declaration/x", "text/turtle") != etag(two, "declaration/x", "text/turtle")
    assert etag(one, "declaration/x", "text/turtle") != etag(one, "declaration/x", "text/html")
    assert etag(one, "declaration/x", "text/turtle") == etag(one, "declaration/x", "text/turtle")


def test_ontology_by_negotiation_and_version_iri(server: str) -> None:
    owl = rdflib.Namespace("http://www.w3.org/2002/07/owl#")
    onto = rdflib.URIRef("https://w3id.org/declarations/ontology")
    for url in (server + "/ontology", server + "/ontology/0.1.0"):
        for fmt in ("turtle", "xml", "json-ld"):
            graph = rdflib.Graph().parse(url, format=fmt)
            assert (onto, rdflib.RDF.type, owl.Ontology) in graph
            assert graph.value(onto, owl.versionIRI) == rdflib.URIRef("https://w3id.org/declarations/ontology/0.1.0")
    page = httpx.get(server + "/ontology", headers={"Accept": BROWSER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="Declaration"' in page.text and "Accept" in page.headers["vary"]
    turtle = httpx.get(server + "/ontology", headers={"Accept": "text/turtle"})
    assert turtle.headers["content-location"] == "/ontology.ttl"
    assert httpx.get(server + "/ontology", headers={"If-None-Match": turtle.headers["etag"],
                                                    "Accept": "text/turtle"}).status_code == 304
    assert httpx.get(server + "/ontology/9.9.9", headers={"Accept": "text/turtle"}).status_code == 404
    assert httpx.get(server + "/ontology.nt").headers["content-type"].startswith("application/n-triples")
