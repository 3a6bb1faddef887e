"""The dataset as a whole: VoID, the DCAT catalogue, the sitemap, the dumps and the ontology document.

- ``/.well-known/void`` and ``/void`` (the dataset IRI ``<base_iri>void`` resolves here): a VoID description with
  ``void:sparqlEndpoint``, ``void:dataDump``, ``void:uriSpace``, ``void:exampleResource``, ``void:vocabulary``,
  the statistics (``void:triples``, ``void:entities``, ``void:distinctSubjects``, ``void:distinctObjects``,
  ``void:properties``, ``void:classes``), class and property partitions, and one subset per named graph. The
  statistics are computed from the store with SPARQL and kept per store generation.
- ``/catalog``: a DCAT catalogue: the dataset, its distributions (the two dumps with media types and licence, and
  the SPARQL endpoint) and the endpoint as a ``dcat:DataService``, written to satisfy the mandatory properties
  of DCAT-AP 3 (checked by ``tests/test_void_dcat.py`` with SHACL shapes of our own).
- ``/sitemap.xml``: the pages a crawler should fetch, with the Semantic Sitemap extension (``sc:dataset``:
  dataset URI, linked-data prefix, sample URIs, SPARQL endpoint, dump locations).
- ``/dumps/{file}``: ``declarations.nq.gz`` (every named graph, N-Quads, gzip) and ``declarations.ttl`` (the
  default view, the union of the graphs, Turtle), written by ``kg build`` beside the store (``kg.build.dumps_dir``).
- ``/ontology`` and its version IRI path ``/ontology/0.1.0``: the ontology by content negotiation (HTML
  documentation from :func:`kg.docs.render_ontology_html`, Turtle, JSON-LD, RDF/XML, N-Triples; also as
  ``/ontology.ttl`` ...), from the store's ``graph/ontology``.

VoID, the catalogue and the ontology are negotiated among Turtle, JSON-LD, RDF/XML and N-Triples (Turtle for
``*/*``); each carries ETag/Last-Modified (304 answers) and CORS headers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, XSD

from api.deps import QueryServiceDep, SettingsDep
from api.describe import (
    CORS_HEADERS,
    FORM_BY_SUFFIX,
    FORM_BY_TYPE,
    HTML_TYPE,
    PREFLIGHT_HEADERS,
    RDF_FORMS,
    Freshness,
    RdfForm,
    absolute,
    base_iri_of,
    choose_form,
    construct,
    etag,
    freshness,
    id_base,
    not_modified,
    prefers_html,
    root_of,
    select,
    serialize,
    validator_headers,
)
from api.querying import QueryService
from api.routers.service import dataset_iri
from kg.errors import NotAcceptable, NotFound
from kg.namespaces import DCAT, ONTOLOGY_GRAPH, ONTOLOGY_IRI, ONTOLOGY_VERSION, PREFIXES, SD, VOID
from kg.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["dataset"])

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
PUBLISHER_NAME = "The declarations knowledge graph project"
TITLE = "Declarations knowledge graph"
DESCRIPTION = (
    "Intergovernmental declarations (communiqués, summit declarations, resolutions, compacts) clause by clause: "
    "the speech acts and commitments they make, the actors, rights, forums, meetings and topics they name, every "
    "extracted fact traced to its words in the source text, and the links between declarations."
)
KEYWORDS = ("migration", "intergovernmental declarations", "international relations", "speech acts", "linked data")
IANA = "http://www.iana.org/assignments/media-types/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FORMATS_NS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Dump:
    """A dump file at a stable URL: its name, media type, EU file-type and whether it is gzip-compressed."""

    name: str
    media_type: str
    file_type: str
    title: str
    compressed: bool


def _dumps() -> tuple[Dump, ...]:
    from kg.build import DUMP_NQUADS, DUMP_TURTLE

    return (
        Dump(DUMP_NQUADS, "application/n-quads", "RDF_N_QUADS", "Every named graph (N-Quads, gzip)", True),
        Dump(DUMP_TURTLE, "text/turtle", "RDF_TURTLE", "The default view, the union of all graphs (Turtle)", False),
    )


def dump_path(settings: Settings, name: str) -> Path | None:
    """The file of dump ``name`` for an embedded store, or None (a remote store, or no such dump)."""
    from kg.build import dumps_dir
    from kg.store import is_remote

    if is_remote(settings.store):
        return None
    path = dumps_dir(settings.store) / name
    return path if path.is_file() else None


# --- statistics ----------------------------------------------------------------------------------------------------


@dataclass
class Statistics:
    """What VoID says about the dataset, computed from the store for one generation."""

    generation: str
    triples: int = 0
    distinct_subjects: int = 0
    distinct_objects: int = 0
    properties: int = 0
    entities: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    property_triples: dict[str, int] = field(default_factory=dict)
    graphs: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    @property
    def vocabularies(self) -> list[str]:
        """The vocabularies whose terms are used as properties or classes (our ontology by its IRI)."""
        found: set[str] = set()
        for iri in [*self.classes, *self.property_triples]:
            cut = max(iri.rfind("#"), iri.rfind("/"))
            if cut > 0:
                found.add(iri[: cut + 1])
        known = set(PREFIXES.values())
        vocabularies = set()
        for namespace in found:
            if namespace == PREFIXES["dec"]:
                vocabularies.add(ONTOLOGY_IRI)
            elif namespace in known and namespace != PREFIXES["id"]:
                vocabularies.add(namespace)
        return sorted(vocabularies)


def _count(rows: list[dict[str, object]], name: str) -> int:
    try:
        return int(str(rows[0][name])) if rows and name in rows[0] else 0
    except ValueError:
        return 0


async def _compute(service: QueryService, generation: str, base_iri: str) -> Statistics:
    prefix = id_base(base_iri)
    totals, entities, classes, props, graphs, examples = await asyncio.gather(
        select(service, "SELECT (COUNT(*) AS ?t) (COUNT(DISTINCT ?s) AS ?s_) (COUNT(DISTINCT ?o) AS ?o_) "
               "(COUNT(DISTINCT ?p) AS ?p_) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"),
        select(service, f'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o . FILTER(STRSTARTS(STR(?s), "{prefix}")) }}'),
        select(service, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c . FILTER(isIRI(?c)) } GROUP BY ?c"),
        select(service, "SELECT ?p (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } } GROUP BY ?p"),
        select(service, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"),
        select(service, "SELECT ?d ?c ?t WHERE { ?d a dec:Declaration ; dec:sourceText ?x . "
               "?c dec:partOf ?d ; dec:position 1 . OPTIONAL { ?c dcterms:subject ?t } } ORDER BY ?d ?t LIMIT 1"),
    )
    stats = Statistics(generation)
    stats.triples = _count(totals, "t")
    stats.distinct_subjects = _count(totals, "s_")
    stats.distinct_objects = _count(totals, "o_")
    stats.properties = _count(totals, "p_")
    stats.entities = _count(entities, "n")
    stats.classes = {r["c"].value: int(r["n"].value) for r in classes}
    stats.property_triples = {r["p"].value: int(r["n"].value) for r in props}
    stats.graphs = {r["g"].value: int(r["n"].value) for r in graphs}
    if examples:
        stats.examples = [t.value for t in examples[0].values()]
    return stats


async def statistics(request: Request, service: QueryService) -> Statistics:
    """The dataset's statistics for the current store generation (computed once per generation and app)."""
    generation = await service.engine.current_generation()
    cached: Statistics | None = getattr(request.app.state, "void_statistics", None)
    if cached is not None and cached.generation == generation:
        return cached
    lock: asyncio.Lock | None = getattr(request.app.state, "void_statistics_lock", None)
    if lock is None:
        lock = request.app.state.void_statistics_lock = asyncio.Lock()
    async with lock:
        cached = getattr(request.app.state, "void_statistics", None)
        if cached is not None and cached.generation == generation:
            return cached
        stats = await _compute(service, generation, base_iri_of(request))
        request.app.state.void_statistics = stats
        log.info("VoID statistics of generation %s: %d triples", generation, stats.triples)
        return stats


# --- VoID and DCAT -------------------------------------------------------------------------------------------------


def _typed_int(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)


def void_graph(request: Request, settings: Settings, stats: Statistics, fresh: Freshness) -> Graph:
    """The VoID description of the dataset served to ``request``'s host."""
    base = base_iri_of(request)
    g = Graph()
    for prefix in ("void", "dcterms", "rdfs", "xsd", "sd", "dcat", "foaf", "dec"):
        if prefix in PREFIXES:
            g.bind(prefix, PREFIXES[prefix])
    g.bind("foaf", FOAF)
    ds = URIRef(dataset_iri(base))
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, DCTERMS.title, Literal(TITLE, lang="en")))
    g.add((ds, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    g.add((ds, DCTERMS.license, URIRef(LICENSE)))
    g.add((ds, DCTERMS.publisher, Literal(PUBLISHER_NAME)))
    g.add((ds, DCTERMS.modified, Literal(fresh.last_modified.date().isoformat(), datatype=XSD.date)))
    g.add((ds, FOAF.homepage, URIRef(absolute(request, "/"))))
    g.add((ds, VOID.sparqlEndpoint, URIRef(absolute(request, "/sparql"))))
    g.add((ds, VOID.uriSpace, Literal(id_base(base))))
    g.add((ds, VOID.uriRegexPattern, Literal("^" + id_base(base).replace(".", "\\.") + ".+")))
    g.add((ds, VOID.rootResource, URIRef(id_base(base) + "scheme/topics")))
    for dump in _dumps():
        if dump_path(settings, dump.name) is not None:
            g.add((ds, VOID.dataDump, URIRef(absolute(request, f"/dumps/{dump.name}"))))
    for example in stats.examples:
        g.add((ds, VOID.exampleResource, URIRef(example)))
    for vocabulary in stats.vocabularies:
        g.add((ds, VOID.vocabulary, URIRef(vocabulary)))
    for form in RDF_FORMS:
        g.add((ds, VOID.feature, URIRef(FORMATS_NS + {"ttl": "Turtle", "jsonld": "JSON-LD", "rdf": "RDF_XML",
                                                       "nt": "N-Triples"}[form.suffix])))
    g.add((ds, VOID.triples, _typed_int(stats.triples)))
    g.add((ds, VOID.entities, _typed_int(stats.entities)))
    g.add((ds, VOID.distinctSubjects, _typed_int(stats.distinct_subjects)))
    g.add((ds, VOID.distinctObjects, _typed_int(stats.distinct_objects)))
    g.add((ds, VOID.properties, _typed_int(stats.properties)))
    g.add((ds, VOID.classes, _typed_int(len(stats.classes))))
    for cls, n in sorted(stats.classes.items()):
        part = BNode("class-" + hashlib.blake2b(cls.encode(), digest_size=6).hexdigest())
        g.add((ds, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(cls)))
        g.add((part, VOID.entities, _typed_int(n)))
    for prop, n in sorted(stats.property_triples.items()):
        part = BNode("property-" + hashlib.blake2b(prop.encode(), digest_size=6).hexdigest())
        g.add((ds, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(prop)))
        g.add((part, VOID.triples, _typed_int(n)))
    for graph, n in sorted(stats.graphs.items()):
        subset = URIRef(graph)
        g.add((ds, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, SD.name, URIRef(graph)))
        g.add((subset, VOID.triples, _typed_int(n)))
    return g


def catalog_graph(request: Request, settings: Settings, fresh: Freshness) -> Graph:
    """The DCAT catalogue: dataset, distributions (dumps and endpoint), the endpoint as a data service."""
    base = base_iri_of(request)
    g = Graph()
    for prefix in ("dcat", "dcterms", "xsd", "void", "rdfs"):
        g.bind(prefix, PREFIXES[prefix])
    g.bind("foaf", FOAF)
    g.bind("vcard", VCARD)
    catalog = URIRef(base + "catalog")
    ds = URIRef(dataset_iri(base))
    publisher = URIRef(base + "publisher")
    service = URIRef(base + "service/sparql")
    license_ = URIRef(LICENSE)
    endpoint = URIRef(absolute(request, "/sparql"))
    homepage = URIRef(absolute(request, "/"))
    modified = Literal(fresh.last_modified.date().isoformat(), datatype=XSD.date)

    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal(TITLE + ": catalogue", lang="en")))
    g.add((catalog, DCTERMS.description, Literal("The datasets and data services of the declarations knowledge "
                                                  "graph.", lang="en")))
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, DCTERMS.license, license_))
    g.add((catalog, DCTERMS.modified, modified))
    g.add((catalog, FOAF.homepage, homepage))
    g.add((catalog, DCAT.dataset, ds))
    g.add((catalog, DCAT.service, service))

    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, Literal(PUBLISHER_NAME, lang="en")))
    g.add((license_, RDF.type, DCTERMS.LicenseDocument))
    g.add((license_, RDFS.label, Literal("Creative Commons Attribution 4.0 International", lang="en")))
    g.add((homepage, RDF.type, FOAF.Document))

    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, DCTERMS.title, Literal(TITLE, lang="en")))
    g.add((ds, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    g.add((ds, DCTERMS.publisher, publisher))
    g.add((ds, DCTERMS.modified, modified))
    g.add((ds, DCTERMS.identifier, Literal(str(ds))))
    g.add((ds, DCTERMS.conformsTo, URIRef(ONTOLOGY_IRI)))
    g.add((ds, DCAT.landingPage, homepage))
    for keyword in KEYWORDS:
        g.add((ds, DCAT.keyword, Literal(keyword, lang="en")))
    contact = URIRef(base + "publisher#contact")
    g.add((ds, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, RDF.type, VCARD.Kind))
    g.add((contact, VCARD.fn, Literal(PUBLISHER_NAME, lang="en")))
    g.add((contact, VCARD.hasURL, homepage))
    g.add((ds, RDFS.seeAlso, URIRef(absolute(request, "/.well-known/void"))))

    for dump in _dumps():
        path = dump_path(settings, dump.name)
        if path is None:
            continue
        dist = URIRef(base + "distribution/" + dump.name)
        url = URIRef(absolute(request, f"/dumps/{dump.name}"))
        media = URIRef(IANA + dump.media_type)
        file_type = URIRef(FILE_TYPE + dump.file_type)
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(dump.title, lang="en")))
        g.add((dist, DCAT.accessURL, url))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.mediaType, media))
        g.add((media, RDF.type, DCTERMS.MediaType))
        g.add((dist, DCTERMS.format, file_type))
        g.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
        g.add((dist, DCTERMS.license, license_))
        g.add((dist, DCAT.byteSize, Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger)))
        g.add((dist, DCTERMS.modified, Literal(datetime.fromtimestamp(int(path.stat().st_mtime)).date().isoformat(),
                                               datatype=XSD.date)))
        if dump.compressed:
            gzip = URIRef(IANA + "application/gzip")
            g.add((dist, DCAT.compressFormat, gzip))
            g.add((gzip, RDF.type, DCTERMS.MediaType))

    sparql_dist = URIRef(base + "distribution/sparql")
    g.add((ds, DCAT.distribution, sparql_dist))
    g.add((sparql_dist, RDF.type, DCAT.Distribution))
    g.add((sparql_dist, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))
    g.add((sparql_dist, DCAT.accessURL, endpoint))
    g.add((sparql_dist, DCAT.accessService, service))
    g.add((sparql_dist, DCTERMS.license, license_))

    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("SPARQL 1.1 endpoint of the declarations knowledge graph", lang="en")))
    g.add((service, DCTERMS.description, Literal("Read-only SPARQL 1.1 Query endpoint; the default graph is the "
                                                  "union of all named graphs.", lang="en")))
    g.add((service, DCAT.endpointURL, endpoint))
    g.add((service, DCAT.endpointDescription, endpoint))
    g.add((service, DCAT.servesDataset, ds))
    g.add((service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    g.add((service, DCTERMS.license, license_))
    g.add((service, DCTERMS.publisher, publisher))
    return g


# --- responses -----------------------------------------------------------------------------------------------------


def _negotiate_rdf(request: Request) -> RdfForm | None:
    """The RDF form the client asks for, None for a browser (it gets the Turtle in an HTML page); raises
    NotAcceptable when nothing fits."""
    wanted = request.query_params.get("format")
    if wanted is not None:
        if wanted not in FORM_BY_SUFFIX:
            raise NotAcceptable(f"format={wanted!r}: use one of {', '.join(FORM_BY_SUFFIX)}")
        return FORM_BY_SUFFIX[wanted]
    offers = tuple(f.media_type for f in RDF_FORMS)
    if choose_form(request.headers.get("accept")) == HTML_TYPE and prefers_html(request, offers):
        return None
    chosen = choose_form(request.headers.get("accept"), offers)
    if chosen is None:
        raise NotAcceptable(
            "this document is available as " + ", ".join(offers), available=list(offers)
        )
    return FORM_BY_TYPE[chosen]


def _graph_bytes(graph: Graph, form: RdfForm) -> bytes:
    """``graph`` in ``form`` (through pyoxigraph, so every format writes the same way as the documents)."""
    data = graph.serialize(format="nt", encoding="utf-8")
    triples = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    triples.sort(key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return serialize(triples, form)


async def _rdf_document(
    request: Request, service: QueryService, key: str, title: str,
    build: Callable[[Freshness], Awaitable[Graph]],
) -> Response:
    """An RDF document made by ``build`` in the negotiated form (HTML for browsers: the Turtle in a page)."""
    from api.routers.pages import html_response, render

    form = _negotiate_rdf(request)
    media_type = form.media_type if form is not None else HTML_TYPE
    fresh = await freshness(request, service)
    tag = etag(fresh, key, media_type, str(request.base_url))
    headers = {**CORS_HEADERS, **validator_headers(tag, fresh, max_age=300), "Vary": "Accept"}
    if not_modified(request, tag, fresh):
        return Response(status_code=304, headers=headers)
    graph = await build(fresh)
    if form is None:
        turtle = _graph_bytes(graph, FORM_BY_TYPE["text/turtle"]).decode("utf-8")
        path = request.url.path
        formats = [(f"{path}?format={f.suffix}", f.media_type, f.name) for f in RDF_FORMS]
        return html_response(render(request, "rdfdoc.html", title=title, turtle=turtle, formats=formats),
                             headers=headers)
    return Response(_graph_bytes(graph, form), media_type=form.content_type, headers=headers)


@router.head("/.well-known/void", include_in_schema=False)
@router.get("/.well-known/void", summary="VoID description of the dataset")
@router.head("/void", include_in_schema=False)
@router.get("/void", summary="VoID description of the dataset (its IRI)")
async def void(request: Request, service: QueryServiceDep, settings: SettingsDep) -> Response:
    """The VoID description (Turtle, JSON-LD, RDF/XML or N-Triples by negotiation)."""

    async def build(fresh: Freshness) -> Graph:
        return void_graph(request, settings, await statistics(request, service), fresh)

    return await _rdf_document(request, service, "void", "VoID description of the dataset", build)


@router.head("/catalog", include_in_schema=False)
@router.get("/catalog", summary="DCAT catalogue (DCAT-AP 3)")
async def catalog(request: Request, service: QueryServiceDep, settings: SettingsDep) -> Response:
    """The DCAT catalogue (Turtle, JSON-LD, RDF/XML or N-Triples by negotiation)."""

    async def build(fresh: Freshness) -> Graph:
        return catalog_graph(request, settings, fresh)

    return await _rdf_document(request, service, "catalog", "DCAT catalogue", build)


@router.head("/sitemap.xml", include_in_schema=False)
@router.get("/sitemap.xml", summary="Sitemap with the Semantic Sitemap extension")
async def sitemap(request: Request, service: QueryServiceDep, settings: SettingsDep) -> Response:
    """Every page worth crawling, and the dataset's ``sc:dataset`` entry."""
    from api.routers.pages import BROWSABLE

    fresh = await freshness(request, service)
    tag = etag(fresh, "sitemap", str(request.base_url))
    headers = {**CORS_HEADERS, **validator_headers(tag, fresh, max_age=3600)}
    if not_modified(request, tag, fresh):
        return Response(status_code=304, headers=headers)
    base = base_iri_of(request)
    prefix = id_base(base)
    stats = await statistics(request, service)
    types = ", ".join(f'"{t}"' for t in [*BROWSABLE, "clause"])
    rows = await select(
        service,
        f'SELECT DISTINCT ?s WHERE {{ ?s a ?c . BIND(STRBEFORE(STRAFTER(STR(?s), "{prefix}"), "/") AS ?t) '
        f"FILTER(?t IN ({types})) }} ORDER BY ?s LIMIT 49000",
    )
    lastmod = fresh.last_modified.date().isoformat()
    pages = ["/", *(f"/browse/{t}" for t in BROWSABLE), "/ontology", "/sparql"]
    pages += [f"/doc/{r['s'].value[len(prefix):]}" for r in rows]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:sc="http://sw.deri.org/2007/07/sitemapextension/scschema.xsd">',
        "  <sc:dataset>",
        f"    <sc:datasetLabel>{xml_escape(TITLE)}</sc:datasetLabel>",
        f"    <sc:datasetURI>{xml_escape(dataset_iri(base))}</sc:datasetURI>",
        f'    <sc:linkedDataPrefix sc:slicing="subject-object">{xml_escape(prefix)}</sc:linkedDataPrefix>',
    ]
    lines += [f"    <sc:sampleURI>{xml_escape(e)}</sc:sampleURI>" for e in stats.examples]
    lines.append(f"    <sc:sparqlEndpointLocation>{xml_escape(absolute(request, '/sparql'))}</sc:sparqlEndpointLocation>")
    for dump in _dumps():
        if dump_path(settings, dump.name) is not None:
            lines.append(
                f"    <sc:dataDumpLocation>{xml_escape(absolute(request, '/dumps/' + dump.name))}</sc:dataDumpLocation>"
            )
    lines += ["    <changefreq>weekly</changefreq>", "  </sc:dataset>"]
    for page in pages:
        lines.append(f"  <url><loc>{xml_escape(absolute(request, page))}</loc><lastmod>{lastmod}</lastmod></url>")
    lines.append("</urlset>\n")
    return Response("\n".join(lines), media_type="application/xml", headers=headers)


@router.head("/dumps/{name}", include_in_schema=False)
@router.get("/dumps/{name}", summary="A dump of the whole dataset")
async def dump(request: Request, name: str, settings: SettingsDep) -> Response:
    """``declarations.nq.gz`` or ``declarations.ttl``, as written by ``kg build``. Raises NotFound otherwise."""
    known = {d.name: d for d in _dumps()}
    if name not in known:
        raise NotFound(f"no dump {name!r}; dumps: {', '.join(known)}")
    path = dump_path(settings, name)
    if path is None:
        raise NotFound(f"the dump {name} has not been made (kg build writes it beside an embedded store)")
    stat = path.stat()
    tag = '"' + hashlib.blake2b(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode(), digest_size=10).hexdigest() + '"'
    fresh = Freshness(tag, datetime.fromtimestamp(int(stat.st_mtime), tz=UTC))
    headers = {**CORS_HEADERS, "ETag": tag, "Last-Modified": fresh.http_date, "Cache-Control": "public, max-age=300"}
    if not_modified(request, tag, fresh):
        return Response(status_code=304, headers=headers)
    media = "application/gzip" if known[name].compressed else known[name].media_type + "; charset=utf-8"
    return FileResponse(path, media_type=media, headers=headers, filename=name, content_disposition_type="inline")


# --- the ontology --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def ontology_html() -> str:
    """The ontology's HTML documentation (rendered once per process from ``ontology/``)."""
    from kg.docs import render_ontology_html

    return render_ontology_html()


async def _ontology(request: Request, service: QueryService, suffix: str | None) -> Response:
    from api.routers.pages import html_response

    root = root_of(request)
    if suffix is None:
        chosen = choose_form(request.headers.get("accept"))
        if chosen is None:
            offers = [HTML_TYPE, *(f.media_type for f in RDF_FORMS)]
            raise NotAcceptable("the ontology is available as " + ", ".join(offers), available=offers)
    else:
        chosen = HTML_TYPE if suffix == "html" else FORM_BY_SUFFIX[suffix].media_type
    fresh = await freshness(request, service)
    tag = etag(fresh, "ontology", chosen)
    links = [f'<{root}/ontology.{f.suffix}>; rel="alternate"; type="{f.media_type}"' for f in RDF_FORMS
             if f.media_type != chosen]
    if chosen != HTML_TYPE:
        links.append(f'<{root}/ontology>; rel="alternate"; type="text/html"')
    headers = {**CORS_HEADERS, **validator_headers(tag, fresh, max_age=300), "Link": ", ".join(links)}
    if suffix is None:
        headers["Vary"] = "Accept"
        if chosen != HTML_TYPE:
            headers["Content-Location"] = f"{root}/ontology.{FORM_BY_TYPE[chosen].suffix}"
    if not_modified(request, tag, fresh):
        return Response(status_code=304, headers=headers)
    if chosen == HTML_TYPE:
        html = await asyncio.to_thread(ontology_html)
        response = html_response(html, headers=headers)
        # The documentation page carries its own inline style.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'; object-src 'none'"
        )
        return response
    triples = await construct(service, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} }}")
    if not triples:
        raise NotFound("the store holds no ontology graph (build it with kg build)")
    form = FORM_BY_TYPE[chosen]
    return Response(serialize(triples, form), media_type=form.content_type, headers=headers)


@router.head("/ontology", include_in_schema=False)
@router.get("/ontology", summary="The ontology (HTML documentation or RDF)")
async def ontology(request: Request, service: QueryServiceDep) -> Response:
    """``https://w3id.org/declarations/ontology`` by content negotiation."""
    return await _ontology(request, service, None)


@router.head("/ontology.{suffix}", include_in_schema=False)
@router.get("/ontology.{suffix}", include_in_schema=False)
async def ontology_as(request: Request, suffix: str, service: QueryServiceDep) -> Response:
    """The ontology in the form its suffix names (``ttl``, ``jsonld``, ``rdf``, ``nt``, ``html``)."""
    if suffix not in FORM_BY_SUFFIX and suffix != "html":
        raise NotFound(f"no form .{suffix} of the ontology")
    return await _ontology(request, service, suffix)


@router.head("/ontology/{version}", include_in_schema=False)
@router.get("/ontology/{version}", summary="A version of the ontology")
async def ontology_version(request: Request, version: str, service: QueryServiceDep) -> Response:
    """The version IRI ``https://w3id.org/declarations/ontology/0.1.0`` (the current version); other versions 404."""
    suffix = None
    for candidate in (*FORM_BY_SUFFIX, "html"):
        if version.endswith("." + candidate):
            version, suffix = version[: -len(candidate) - 1], candidate
    if version != ONTOLOGY_VERSION:
        raise NotFound(f"no version {version} of the ontology; this server has {ONTOLOGY_VERSION}")
    return await _ontology(request, service, suffix)


@router.options("/.well-known/void", include_in_schema=False)
@router.options("/void", include_in_schema=False)
@router.options("/catalog", include_in_schema=False)
@router.options("/ontology", include_in_schema=False)
@router.options("/dumps/{name}", include_in_schema=False)
async def preflight() -> Response:
    """CORS preflight: any origin may GET these."""
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)
