"""The SPARQL 1.1 Service Description of ``/sparql`` (https://www.w3.org/TR/sparql11-service-description/).

It says what the endpoint is (``sd:endpoint``: the URL it was asked at), which language it speaks (SPARQL 1.1
Query only: updates are refused), which result formats it writes, that the default graph is the union of all
named graphs (``sd:UnionDefaultGraph``), and which named graphs it holds; its default dataset is the one the VoID
description (``/.well-known/void``) describes.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef

from api.negotiation import FORMAT_IRIS
from kg.namespaces import SD, VOID

#: Media types the description itself can be written in -> rdflib serialiser name.
DESCRIPTION_FORMATS: dict[str, str] = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/trig": "trig",
    "application/n-quads": "nquads",
    "application/xml": "xml",
    "application/json": "json-ld",
}


def dataset_iri(base_iri: str) -> str:
    """The IRI of our dataset (the subject of the VoID description): ``<base>void``."""
    return base_iri + "void"


def service_description(endpoint: str, root: str, base_iri: str, graphs: Iterable[str]) -> Graph:
    """The description of the endpoint at URL ``endpoint`` on a server whose root URL is ``root``.

    ``graphs`` are the store's named graphs; the default dataset is ``dataset_iri(base_iri)``.
    """
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    service = BNode("service")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    for iri in FORMAT_IRIS.values():
        g.add((service, SD.resultFormat, URIRef(iri)))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    g.add(
        (
            service,
            RDFS.comment,
            Literal(
                "Read-only SPARQL 1.1 Query endpoint. The default graph is the union of all named graphs. "
                "Updates, LOAD and SERVICE are refused; FROM, FROM NAMED, default-graph-uri and named-graph-uri "
                "may name only the graphs listed here.",
                lang="en",
            ),
        )
    )
    dataset = URIRef(dataset_iri(base_iri))
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, RDFS.seeAlso, URIRef(root.rstrip("/") + "/.well-known/void")))
    default_graph = BNode("defaultGraph")
    g.add((dataset, SD.defaultGraph, default_graph))
    g.add((default_graph, RDF.type, SD.Graph))
    g.add((default_graph, RDFS.comment, Literal("the union of all named graphs", lang="en")))
    collection = BNode("availableGraphs")
    g.add((service, SD.availableGraphs, collection))
    g.add((collection, RDF.type, SD.GraphCollection))
    for name in sorted(graphs):
        named = BNode()
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((collection, SD.namedGraph, named))
        g.add((dataset, SD.namedGraph, named))
    return g
