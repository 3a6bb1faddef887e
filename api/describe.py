"""The documents that describe our resources, and what every linked-data response shares.

- :func:`parse_resource_path` turns the ``{type}/{key...}`` of ``/id/...`` and ``/doc/...`` into a
  :class:`ResourceRef` with its canonical IRI ``<base_iri>id/{type}/{key}`` (``Settings.base_iri``, whatever host
  serves the request), or None when the path is not one we mint.
- :func:`describe` builds a resource's document with one SPARQL CONSTRUCT run through the app's
  :class:`api.querying.QueryService` (so the same worker processes, time limit and result cache as ``/sparql``):
  every triple with the resource as subject (and the triples of blank nodes it points to), every triple with it as
  object, and the labels (``rdfs:label``, ``skos:prefLabel``, ``dcterms:title``) of every IRI it is linked to.
- :func:`exists` (the 303 of ``/id``) is two index seeks in the server process when the engine holds the store
  (:func:`mentions`), else a query.
- :func:`select` runs a SELECT and returns its rows as :class:`Term` dictionaries (used by the HTML pages).
- :data:`RDF_FORMS` and :func:`serialize`: the RDF representations (Turtle, JSON-LD, RDF/XML, N-Triples).
- :func:`freshness`, :func:`etag`, :func:`not_modified`: validators. The ETag is weak and derived from the store
  generation the engine reports (it changes on every write to the store), the representation and the code that
  renders it; ``Last-Modified`` is the newest data file of an embedded store (or, for a remote store, the time
  this server first saw the generation).
- :data:`CORS_HEADERS`: everyone may read these resources from a browser (no credentials).

Query texts are built with IRIs only after they have been checked against :data:`SAFE_IRI_RE` (no character that
could end an IRI reference), so no request value can change a query's structure.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import orjson
import pyoxigraph as ox
from fastapi import Request

from api.negotiation import GRAPH_FORMATS, TABLE_FORMATS, MediaRange, parse_accept
from api.querying import QueryService
from api.safety import QueryInfo, analyse_query
from kg import __version__
from kg.errors import BadInput
from kg.namespaces import ONTOLOGY_IRI, PREFIXES, RESOURCE_TYPES

log = logging.getLogger(__name__)

_SEGMENT_RE = re.compile(r"^[a-z0-9][a-z0-9\-\.]*$")
SAFE_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
DCT_TITLE = "http://purl.org/dc/terms/title"
LABEL_PROPERTIES = (SKOS_PREF, RDFS_LABEL, DCT_TITLE)

#: Headers that let any web page read our linked data (no credentials, so ``*`` is allowed).
CORS_HEADERS: dict[str, str] = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Link, Location, Content-Location, Vary",
}
#: Answer to a CORS preflight (conditional requests send If-None-Match, which is not a safelisted header).
PREFLIGHT_HEADERS: dict[str, str] = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


@dataclass(frozen=True)
class RdfForm:
    """One RDF representation: file suffix, media type, pyoxigraph format and a name for people."""

    suffix: str
    media_type: str
    format: ox.RdfFormat
    name: str

    @property
    def content_type(self) -> str:
        return self.media_type + ("; charset=utf-8" if self.media_type.startswith("text/") else "")


RDF_FORMS: tuple[RdfForm, ...] = (
    RdfForm("ttl", "text/turtle", ox.RdfFormat.TURTLE, "Turtle"),
    RdfForm("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD, "JSON-LD"),
    RdfForm("rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML, "RDF/XML"),
    RdfForm("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES, "N-Triples"),
)
HTML_TYPE = "text/html"
HTML_SUFFIX = "html"
FORM_BY_SUFFIX: dict[str, RdfForm] = {f.suffix: f for f in RDF_FORMS}
FORM_BY_TYPE: dict[str, RdfForm] = {f.media_type: f for f in RDF_FORMS}
#: Media types clients send for the same forms (older or generic names) -> the form served.
ALIASES: dict[str, str] = {
    "application/x-turtle": "text/turtle",
    "application/json": "application/ld+json",
    "text/plain": "application/n-triples",
}
#: Every type negotiated for a document, in the server's order of preference among wildcard ties.
OFFERS: tuple[str, ...] = (HTML_TYPE, *(f.media_type for f in RDF_FORMS))


def choose_form(accept: str | None, offers: tuple[str, ...] = OFFERS) -> str | None:
    """The media type (one of ``offers``, aliases resolved) a client's ``Accept`` header asks for, or None.

    The rule, in order: the highest q wins; among equal q, the offer matched by the more specific range wins
    (``type/subtype`` over ``type/*`` over ``*/*``); among offers the client named exactly with equal q, an RDF
    form wins over HTML (a client that names an RDF type can read RDF: browsers never name one), so both orders
    of ``application/rdf+xml,text/html`` give RDF/XML; among offers matched only by a wildcard, the server's order
    holds: HTML, Turtle, JSON-LD, RDF/XML, N-Triples (``*/*`` alone gets HTML). The order of the header's elements
    never matters.

    >>> choose_form("application/rdf+xml,text/html"), choose_form("text/html,application/rdf+xml")
    ('application/rdf+xml', 'application/rdf+xml')
    >>> choose_form("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    'text/html'
    >>> choose_form("text/turtle;q=0.5, application/ld+json"), choose_form("*/*"), choose_form("image/png")
    ('application/ld+json', 'text/html', None)
    >>> choose_form("text/plain, */*;q=0.1")
    'application/n-triples'
    """
    ranges = parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    candidates: list[tuple[str, str]] = [(o, o) for o in offers]
    candidates += [(alias, target) for alias, target in ALIASES.items() if target in offers]
    for rank, (offered, target) in enumerate(candidates):
        q, specificity = _match(ranges, offered)
        if q <= 0:
            continue
        if specificity >= 2:
            # Named exactly: data forms first, then HTML; aliases after the registered names.
            preference = -(rank + (len(candidates) if target == HTML_TYPE else 0))
        else:
            preference = -rank
        key = (q, min(specificity, 2), preference)
        if best is None or key > best:
            best, chosen = key, target
    return chosen


def _match(ranges: list[MediaRange], media_type: str) -> tuple[float, int]:
    best_specificity, best_q = -1, 0.0
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity > best_specificity:
            best_specificity, best_q = specificity, media_range.q
    return best_q, best_specificity


def prefers_html(request: Request, others: tuple[str, ...] = ("application/problem+json", "application/json")) -> bool:
    """Whether the client ranks HTML above ``others`` (a browser), for error pages."""
    ranges = parse_accept(request.headers.get("accept"))
    html_q, html_s = _match(ranges, HTML_TYPE)
    if html_q <= 0:
        return False
    for other in others:
        q, s = _match(ranges, other)
        if (q, s) >= (html_q, html_s):
            return False
    return html_s >= 1


# --- resources --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceRef:
    """A resource we mint: its type segment, key segments, canonical IRI and path below ``/id/`` or ``/doc/``."""

    type: str
    key: tuple[str, ...]
    iri: str

    @property
    def path(self) -> str:
        return self.type + "/" + "/".join(self.key)


def id_base(base_iri: str) -> str:
    """``<base_iri>id/`` (the base always ends with a slash)."""
    return base_iri.rstrip("/") + "/id/"


def parse_resource_path(path: str, base_iri: str) -> ResourceRef | None:
    """The resource named by ``{type}/{key...}`` (no leading slash), or None when it is not one we could mint.

    >>> parse_resource_path("clause/lac-2010-migration-communique/5", "https://w3id.org/declarations/").iri
    'https://w3id.org/declarations/id/clause/lac-2010-migration-communique/5'
    >>> parse_resource_path("nothing/x", "https://w3id.org/declarations/") is None
    True
    """
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] not in RESOURCE_TYPES:
        return None
    key = tuple(parts[1:])
    if not all(_SEGMENT_RE.match(p) for p in key):
        return None
    return ResourceRef(parts[0], key, id_base(base_iri) + "/".join(parts))


def split_suffix(path: str) -> tuple[str, str | None]:
    """``declaration/x.ttl`` -> (``declaration/x``, ``ttl``) for our representation suffixes, else (path, None).

    Keys never end in these suffixes (they are slugs of names), so the split is unambiguous.
    """
    stem, dot, suffix = path.rpartition(".")
    if dot and (suffix in FORM_BY_SUFFIX or suffix == HTML_SUFFIX) and "/" in stem:
        return stem, suffix
    return path, None


def local_href(iri: str, base_iri: str, root: str = "") -> str | None:
    """Where this server shows ``iri``: ``{root}/doc/{type}/{key}`` for our resources, ``{root}/ontology#Term`` for
    ontology terms, None for IRIs of others."""
    base = id_base(base_iri)
    if iri.startswith(base):
        return f"{root}/doc/{iri[len(base):]}"
    if iri.startswith(ONTOLOGY_IRI + "#"):
        return f"{root}/ontology#{iri[len(ONTOLOGY_IRI) + 1:]}"
    if iri == ONTOLOGY_IRI:
        return f"{root}/ontology"
    return None


def check_iri(iri: str) -> str:
    """``iri`` unchanged when it can be written between ``<`` and ``>`` in a query; raises BadInput otherwise."""
    if not SAFE_IRI_RE.match(iri):
        raise BadInput(f"not an IRI that can be looked up: {iri!r}")
    return iri


# --- running queries -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One RDF term of a SELECT row: ``kind`` is ``uri``, ``literal`` or ``bnode``."""

    value: str
    kind: str = "uri"
    lang: str | None = None
    datatype: str | None = None

    @property
    def is_iri(self) -> bool:
        return self.kind == "uri"

    def __str__(self) -> str:
        return self.value


_JSON_RESULTS = next(f for f in TABLE_FORMATS if f.media_type == "application/sparql-results+json")
_NTRIPLES = next(f for f in GRAPH_FORMATS if f.media_type == "application/n-triples")

PREFIX_BLOCK = "".join(
    f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items() if name in (
        "dec", "rdf", "rdfs", "owl", "xsd", "skos", "dcterms", "cito", "prov", "void", "dcat", "schema"
    )
)


async def select(service: QueryService, query: str) -> list[dict[str, Term]]:
    """Run a SELECT (our prefixes are prepended) and return its rows; unbound variables are left out of a row.

    Raises what :meth:`QueryService.answer` raises (BadQuery, QueryTimeout, StoreError).
    """
    data = await service.collect(PREFIX_BLOCK + query, _JSON_RESULTS)
    rows: list[dict[str, Term]] = []
    for binding in orjson.loads(data)["results"]["bindings"]:
        row: dict[str, Term] = {}
        for name, term in binding.items():
            kind = term["type"]
            if kind == "typed-literal":
                kind = "literal"
            row[name] = Term(term["value"], kind, term.get("xml:lang"), term.get("datatype"))
        rows.append(row)
    return rows


async def construct(service: QueryService, query: str) -> list[ox.Triple]:
    """Run a CONSTRUCT (our prefixes prepended) and return its triples, sorted (documents are then stable)."""
    return _sorted_triples(await service.collect(PREFIX_BLOCK + query, _NTRIPLES))


def _sorted_triples(data: bytes) -> list[ox.Triple]:
    triples = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    triples.sort(key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return triples


DESCRIBE_QUERY = """CONSTRUCT {{
  <{iri}> ?p ?o . ?o ?bp ?bo .
  ?s ?ip <{iri}> .
  ?n ?lp ?label .
}} WHERE {{
  {{ <{iri}> ?p ?o . OPTIONAL {{ FILTER(isBlank(?o)) ?o ?bp ?bo }} }}
  UNION {{ SELECT ?s ?ip WHERE {{ ?s ?ip <{iri}> . FILTER(!isBlank(?s)) }} LIMIT 20000 }}
  UNION {{
    {{ SELECT DISTINCT ?n WHERE {{ {{ <{iri}> ?x ?n }} UNION {{ ?n ?x <{iri}> }} FILTER(isIRI(?n)) }} LIMIT 20000 }}
    ?n ?lp ?label .
    FILTER(?lp = rdfs:label || ?lp = skos:prefLabel || ?lp = dcterms:title)
  }}
}}"""
# (The neighbours are found first in a subquery: joining them with the labels directly made Oxigraph scan every
# label of the store, 10-100 times slower. A hub with more than 20,000 incoming links or neighbours gets the first
# 20,000 in its document, so one request cannot make the server write a document of millions of triples; the
# SPARQL endpoint has all of them.)


#: Stands for the IRI in :data:`DESCRIBE_QUERY` when the template is analysed (a safe IRI found nowhere else).
_PLACEHOLDER_IRI = "urn:x-kg:describe-placeholder"


def describe_query(iri: str) -> QueryInfo:
    """The analysed describe query of ``iri`` (checked by :func:`check_iri`).

    The template is analysed once (:func:`api.safety.analyse_query` memoises it) with a placeholder IRI; the IRI
    is then put in its place in the analysed text and its normalised form. It goes between ``<`` and ``>`` and
    holds no character that could end an IRI reference, so the query's structure, form and dataset are those
    of the analysed template: analysing each IRI's text afresh (a Python tokenizer over 1,000 characters) cost
    more than the rest of the request once the query was cached.
    """
    check_iri(iri)
    template = analyse_query(PREFIX_BLOCK + DESCRIBE_QUERY.format(iri=_PLACEHOLDER_IRI))
    placeholder = f"<{_PLACEHOLDER_IRI}>"
    return replace(template, normalised=template.normalised.replace(placeholder, f"<{iri}>"),
                   text=template.text.replace(placeholder, f"<{iri}>"))


async def describe(service: QueryService, iri: str) -> list[ox.Triple]:
    """The document of ``iri``: its own triples (with those of blank nodes it points to), the triples that point
    to it, and the labels of every IRI on either side. Empty when the store knows nothing of ``iri``."""
    data = await service.collect(describe_query(iri), _NTRIPLES)
    return _sorted_triples(data)


def mentions(store: ox.Store, iri: str) -> bool:
    """Whether ``iri`` is the subject or the object of some quad of ``store`` (in any graph): at most two index
    seeks, whatever the store's size."""
    node = ox.NamedNode(iri)
    return (next(store.quads_for_pattern(node, None, None), None) is not None
            or next(store.quads_for_pattern(None, None, node), None) is not None)


async def exists(service: QueryService, iri: str) -> bool:
    """Whether ``iri`` is the subject or the object of some triple in the store: by index probes in the server
    process when the engine has a local store (:meth:`api.workers.QueryEngine.probe_store`), else by a query."""
    check_iri(iri)
    store = await service.engine.probe_store()
    if store is not None:
        return mentions(store, iri)
    rows = await select(
        service,
        f"SELECT ?x WHERE {{ {{ <{iri}> ?p ?x }} UNION {{ ?x ?p <{iri}> }} }} LIMIT 1",
    )
    return bool(rows)


#: Prefixes written in Turtle documents: not ``id:``, whose local names would need escaped slashes.
DOCUMENT_PREFIXES: dict[str, str] = {
    **{k: v for k, v in PREFIXES.items() if k != "id"},
    "foaf": "http://xmlns.com/foaf/0.1/",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
}


def serialize(triples: list[ox.Triple], form: RdfForm) -> bytes:
    """``triples`` in ``form`` (Turtle and RDF/XML with those of our prefixes the triples use)."""
    prefixes = None
    if form.format in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML):
        iris = {term.value for t in triples for term in (t.subject, t.predicate, t.object)
                if isinstance(term, ox.NamedNode)}
        iris |= {t.object.datatype.value for t in triples if isinstance(t.object, ox.Literal)}
        prefixes = {name: ns for name, ns in DOCUMENT_PREFIXES.items() if any(i.startswith(ns) for i in iris)}
    data = ox.serialize(triples, format=form.format, prefixes=prefixes)
    assert data is not None
    return data


# --- validators ----------------------------------------------------------------------------------------------------


def _code_fingerprint() -> str:
    """A digest of the templates, the style sheet and this package's modules: pages change when these do."""
    api_dir = Path(__file__).resolve().parent
    digest = hashlib.blake2b(__version__.encode(), digest_size=6)
    for path in sorted([*api_dir.glob("*.py"), *api_dir.glob("routers/*.py"), *api_dir.glob("templates/pages/*"),
                        *api_dir.glob("static/pages.*")]):
        try:
            digest.update(path.name.encode() + path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """:func:`_code_fingerprint`, computed once per process."""
    return _code_fingerprint()


@dataclass(frozen=True)
class Freshness:
    """The store generation (changes on every write) and when the data last changed (HTTP date precision)."""

    generation: str
    last_modified: datetime

    @property
    def http_date(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)


def _newest_file_time(folder: str) -> float | None:
    newest: float | None = None
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("LOG") or entry.name == "LOCK" or not entry.is_file():
                    continue
                mtime = entry.stat().st_mtime
                newest = mtime if newest is None or mtime > newest else newest
    except OSError:
        return None
    return newest


async def freshness(request: Request, service: QueryService) -> Freshness:
    """The generation and last-modified time of the store the app serves (remembered per generation)."""
    generation = await service.engine.current_generation()
    seen: dict[str, datetime] | None = getattr(request.app.state, "ld_last_modified", None)
    if seen is None:
        seen = {}
        request.app.state.ld_last_modified = seen
    when = seen.get(generation)
    if when is None:
        folder = getattr(service.engine, "store_path", None)
        stamp = _newest_file_time(folder) if isinstance(folder, str) else None
        when = datetime.fromtimestamp(int(stamp if stamp is not None else time.time()), tz=UTC)
        seen.clear()
        seen[generation] = when
    return Freshness(generation, when)


def etag(fresh: Freshness, *parts: str) -> str:
    """A weak ETag for one representation (``parts``: path, media type...) of the current store content."""
    digest = hashlib.blake2b("\x00".join((fresh.generation, code_fingerprint(), *parts)).encode(), digest_size=10)
    return f'W/"{digest.hexdigest()}"'


def not_modified(request: Request, tag: str, fresh: Freshness) -> bool:
    """Whether a GET/HEAD may be answered 304: ``If-None-Match`` lists ``tag`` (weak comparison) or ``*``, or,
    when there is no ``If-None-Match``, ``If-Modified-Since`` is not older than the data (RFC 9110, 13.2.2)."""
    if request.method not in ("GET", "HEAD"):
        return False
    inm = request.headers.get("if-none-match")
    if inm is not None:
        wanted = tag.removeprefix("W/")
        for candidate in inm.split(","):
            candidate = candidate.strip()
            if candidate == "*" or candidate.removeprefix("W/") == wanted:
                return True
        return False
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return fresh.last_modified <= since
    return False


def validator_headers(tag: str, fresh: Freshness, *, max_age: int = 60) -> dict[str, str]:
    """ETag, Last-Modified and Cache-Control (short: the store may be rebuilt) for a representation."""
    return {"ETag": tag, "Last-Modified": fresh.http_date, "Cache-Control": f"public, max-age={max_age}"}


def root_of(request: Request) -> str:
    """The mount point of the app (``root_path``) without a trailing slash."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def absolute(request: Request, path: str) -> str:
    """The absolute URL of ``path`` (which starts with ``/``) on the host the request came to."""
    return str(request.base_url).rstrip("/") + path


def base_iri_of(request: Request) -> str:
    """The canonical base IRI the app publishes under (``Settings.base_iri``)."""
    settings = getattr(request.app.state, "settings", None)
    base = getattr(settings, "base_iri", None) or "https://w3id.org/declarations/"
    return base if base.endswith("/") else base + "/"


def problem_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    """CORS and ``Vary`` for an error answer of a linked-data route."""
    return {**CORS_HEADERS, "Vary": "Accept", **(extra or {})}
