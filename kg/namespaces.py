"""The public namespaces and IRI patterns. These are contracts: never rename a released one.

Ontology terms are hash IRIs under ``https://w3id.org/declarations/ontology#`` (prefix ``dec:``).
Resources are slash IRIs ``https://w3id.org/declarations/id/{type}/{key}``; the types in use are listed in
:data:`RESOURCE_TYPES`. Named graphs are ``https://w3id.org/declarations/graph/{name}``.

>>> resource_iri("clause", "lac-2010-migration-communique", 5)
'https://w3id.org/declarations/id/clause/lac-2010-migration-communique/5'
>>> declaration_graph("lac-2010-migration-communique")
'https://w3id.org/declarations/graph/declaration/lac-2010-migration-communique'
"""

from __future__ import annotations

import re

from rdflib import Namespace

BASE = "https://w3id.org/declarations/"
ONTOLOGY_IRI = BASE + "ontology"
ONTOLOGY_VERSION = "0.1.0"
ONTOLOGY_VERSION_IRI = f"{ONTOLOGY_IRI}/{ONTOLOGY_VERSION}"
ID_BASE = BASE + "id/"
GRAPH_BASE = BASE + "graph/"

DEC = Namespace(ONTOLOGY_IRI + "#")
ID = Namespace(ID_BASE)

# Well-known vocabularies we align to or reuse.
CITO = Namespace("http://purl.org/spar/cito/")
FABIO = Namespace("http://purl.org/spar/fabio/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("https://schema.org/")
VANN = Namespace("http://purl.org/vocab/vann/")
LKIF_NORM = Namespace("http://www.estrellaproject.org/lkif-core/norm.owl#")
LKIF_EXPR = Namespace("http://www.estrellaproject.org/lkif-core/expression.owl#")
GN = Namespace("http://www.geonames.org/ontology#")
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
WD = Namespace("http://www.wikidata.org/entity/")

PREFIXES: dict[str, str] = {
    "dec": str(DEC),
    "id": ID_BASE,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "cito": str(CITO),
    "fabio": str(FABIO),
    "eli": str(ELI),
    "org": str(ORG),
    "schema": str(SCHEMA),
    "vann": str(VANN),
    "sh": "http://www.w3.org/ns/shacl#",
    "void": str(VOID),
    "dcat": str(DCAT),
    "gn": str(GN),
    "wd": str(WD),
}

# type segment of /id/{type}/{key} -> the dec: class its resources belong to
RESOURCE_TYPES: dict[str, str] = {
    "declaration": "Declaration",
    "clause": "Clause",
    "topic": "Topic",  # skos:Concept in the topic scheme
    "speech-act": "SpeechActConcept",  # skos:Concept in the speech-act scheme
    "state": "State",
    "organisation": "Organisation",
    "group": "GroupOfStates",
    "population-group": "PopulationGroup",
    "right": "Right",
    "forum": "Forum",
    "meeting": "Meeting",
    "place": "Place",
    "evidence": "Evidence",
    "clause-link": "ClauseLink",
    "scheme": "ConceptScheme",
}

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9\-\.]*$")


def slugify(text: str) -> str:
    """A readable, stable key from a label.

    >>> slugify("Special Communiqué on Cooperation on Migration Issues")
    'special-communique-on-cooperation-on-migration-issues'
    """
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def resource_iri(type_: str, *key: str | int) -> str:
    """The canonical IRI of a resource of ``type_`` with the given key segments."""
    if type_ not in RESOURCE_TYPES:
        raise ValueError(f"unknown resource type {type_!r}; known: {', '.join(RESOURCE_TYPES)}")
    parts = [str(k) for k in key]
    for part in parts:
        if not _KEY_RE.match(part):
            raise ValueError(f"resource key segment {part!r} must match {_KEY_RE.pattern}")
    return ID_BASE + type_ + "/" + "/".join(parts)


def declaration_graph(key: str) -> str:
    """The named graph holding one declaration (and everything extracted from it)."""
    return GRAPH_BASE + "declaration/" + key


# Named graphs of the build that are not declarations.
ONTOLOGY_GRAPH = GRAPH_BASE + "ontology"
REFERENCE_GRAPH = GRAPH_BASE + "reference"
LINKS_GRAPH = GRAPH_BASE + "links"
