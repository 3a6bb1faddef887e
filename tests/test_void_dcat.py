"""VoID, the DCAT catalogue, the sitemap and the dumps (api/routers/dataset.py), over a live server on the built
store, read by real clients (rdflib's ``Graph.parse`` on URLs, pySHACL, ElementTree)."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from pyshacl import validate
from rdflib import RDF, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.namespaces import DCAT, ONTOLOGY_IRI, VOID

SHAPES = Path(__file__).parent / "shapes" / "dcat-ap-3-subset.ttl"
DATASET = URIRef("https://w3id.org/declarations/void")
DEC = "https://w3id.org/declarations/ontology#"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SC = "{http://sw.deri.org/2007/07/sitemapextension/scschema.xsd}"


def _one(store: ox.Store, query: str) -> int:
    return int(next(iter(store.query(query, use_default_graph_as_union=True)))[0].value)


@pytest.fixture(scope="module")
def void(server: str) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(server + "/.well-known/void")  # rdflib's own Accept header and content-type handling
    return graph


def test_void_names_endpoint_dumps_space_examples_and_vocabularies(void: rdflib.Graph, server: str) -> None:
    assert (DATASET, RDF.type, VOID.Dataset) in void
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef(server + "/sparql")
    assert set(void.objects(DATASET, VOID.dataDump)) == {
        URIRef(server + "/dumps/declarations.nq.gz"), URIRef(server + "/dumps/declarations.ttl")
    }
    assert void.value(DATASET, VOID.uriSpace) == Literal("https://w3id.org/declarations/id/")
    examples = set(void.objects(DATASET, VOID.exampleResource))
    assert URIRef("https://w3id.org/declarations/id/declaration/lac-2010-migration-communique") in examples
    vocabularies = set(void.objects(DATASET, VOID.vocabulary))
    assert {URIRef(ONTOLOGY_IRI), URIRef("http://www.w3.org/2004/02/skos/core#"), URIRef(str(DCTERMS))} <= vocabularies
    # Every example resource dereferences.
    for example in examples:
        path = str(example).removeprefix("https://w3id.org/declarations")
        assert httpx.get(server + path, headers={"Accept": "text/turtle"}, follow_redirects=True).status_code == 200


def test_void_statistics_equal_the_store(void: rdflib.Graph, store: ox.Store) -> None:
    distinct = "{ SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    assert int(void.value(DATASET, VOID.triples)) == _one(store, f"SELECT (COUNT(*) AS ?n) WHERE {distinct}")
    assert int(void.value(DATASET, VOID.distinctSubjects)) == _one(
        store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"
    )
    assert int(void.value(DATASET, VOID.entities)) == _one(
        store,
        'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?s), "https://w3id.org/declarations/id/")) }',
    )
    classes = {void.value(p, VOID["class"]): int(void.value(p, VOID.entities))
               for p in void.objects(DATASET, VOID.classPartition)}
    assert classes[URIRef(DEC + "Clause")] == _one(
        store, f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?c a <{DEC}Clause> }}"
    )
    assert int(void.value(DATASET, VOID.classes)) == len(classes)
    properties = {void.value(p, VOID.property): int(void.value(p, VOID.triples))
                  for p in void.objects(DATASET, VOID.propertyPartition)}
    assert properties[URIRef(DEC + "partOf")] == _one(
        store, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?o WHERE {{ ?s <{DEC}partOf> ?o }} }}"
    )
    assert sum(properties.values()) == int(void.value(DATASET, VOID.triples))
    subsets = {int(void.value(s, VOID.triples)) for s in void.objects(DATASET, VOID.subset)}
    assert len(list(void.objects(DATASET, VOID.subset))) == len(list(store.named_graphs()))
    assert all(n > 0 for n in subsets)


def test_void_at_its_dataset_iri_and_in_every_format(server: str, void: rdflib.Graph) -> None:
    for fmt in ("turtle", "json-ld", "xml", "nt"):
        graph = rdflib.Graph().parse(server + "/void", format=fmt)
        assert int(graph.value(DATASET, VOID.triples)) == int(void.value(DATASET, VOID.triples)), fmt
    page = httpx.get(server + "/.well-known/void", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "void:triples" in page.text


def test_dumps_are_the_store_and_are_cacheable(server: str, void: rdflib.Graph, store: ox.Store) -> None:
    response = httpx.get(server + "/dumps/declarations.nq.gz")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    quads = list(ox.parse(gzip.decompress(response.content), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == len(store)
    turtle = rdflib.Graph().parse(server + "/dumps/declarations.ttl", format="turtle")
    assert len(turtle) == int(void.value(DATASET, VOID.triples))
    again = httpx.get(server + "/dumps/declarations.nq.gz", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert httpx.get(server + "/dumps/other.nq").status_code == 404


def test_catalog_passes_the_dcat_ap_3_shapes(server: str) -> None:
    catalog = rdflib.Graph().parse(server + "/catalog", format="turtle")
    conforms, _, report = validate(catalog, shacl_graph=str(SHAPES), inference="none", allow_warnings=False)
    assert conforms, report
    dataset = next(catalog.subjects(RDF.type, DCAT.Dataset))
    distributions = set(catalog.objects(dataset, DCAT.distribution))
    media = {str(catalog.value(d, DCAT.mediaType)) for d in distributions if catalog.value(d, DCAT.mediaType)}
    assert media == {"http://www.iana.org/assignments/media-types/application/n-quads",
                     "http://www.iana.org/assignments/media-types/text/turtle"}
    assert all(catalog.value(d, DCTERMS.license) for d in distributions)
    service = next(catalog.subjects(RDF.type, DCAT.DataService))
    assert catalog.value(service, DCAT.endpointURL) == URIRef(server + "/sparql")
    for url in catalog.objects(None, DCAT.downloadURL):
        assert httpx.head(str(url)).status_code == 200
    # The shapes can fail: a dataset without a title does not conform.
    catalog.remove((dataset, DCTERMS.title, None))
    assert not validate(catalog, shacl_graph=str(SHAPES), inference="none")[0]


def test_sitemap_has_the_semantic_extension_and_lists_the_pages(server: str, store: ox.Store) -> None:
    response = httpx.get(server + "/sitemap.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    dataset = root.find(f"{SC}dataset")
    assert dataset is not None
    assert dataset.findtext(f"{SC}datasetURI") == str(DATASET)
    assert dataset.findtext(f"{SC}linkedDataPrefix") == "https://w3id.org/declarations/id/"
    assert dataset.findtext(f"{SC}sparqlEndpointLocation") == server + "/sparql"
    assert len(dataset.findall(f"{SC}dataDumpLocation")) == 2
    assert dataset.findall(f"{SC}sampleURI")
    locations = {u.findtext(f"{SM}loc") for u in root.findall(f"{SM}url")}
    for row in store.query(f"SELECT ?c WHERE {{ ?c a <{DEC}Clause> }}"):
        assert server + "/doc/" + row[0].value.removeprefix("https://w3id.org/declarations/id/") in locations
    assert httpx.get(server + "/sitemap.xml", headers={"If-None-Match": response.headers["etag"]}).status_code == 304
