"""HTTP content negotiation (RFC 9110, section 12.5.1) and the media types of SPARQL results.

An ``Accept`` header is a list of media ranges with quality values. For each media type the server can produce,
the most specific range that matches it (``type/subtype`` over ``type/*`` over ``*/*``; with parameters over
without) gives its quality; the server picks the type with the highest quality above zero, and among equals the
one it lists first.

>>> choose("text/*;q=0.5, text/csv;q=0, application/sparql-results+json;q=0.9", ["text/csv", "text/tab-separated-values", "application/sparql-results+json"])
'application/sparql-results+json'
>>> choose("application/json;q=0.1, */*;q=0.2", ["application/json", "text/turtle"])
'text/turtle'
>>> choose("text/html", ["text/turtle"]) is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kg.errors import NotAcceptable


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header: ``type/subtype`` (either may be ``*``), parameters, quality."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float

    def specificity(self, media_type: str) -> int:
        """How specifically this range matches ``media_type`` (``type/subtype;params``): -1 when it does not
        match, else 0 for ``*/*``, 1 for ``type/*``, 2 for the exact type, 3 for the exact type with matching
        parameters."""
        offered_type, offered_params = _split(media_type)
        main, _, sub = offered_type.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" else -1
        if self.type != main:
            return -1
        if self.subtype == "*":
            return 1
        if self.subtype != sub:
            return -1
        if not self.params:
            return 2
        return 3 if set(self.params) <= set(offered_params) else -1


def _split(media_type: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    head, *rest = media_type.split(";")
    params = []
    for item in rest:
        name, _, value = item.partition("=")
        if name.strip():
            params.append((name.strip().lower(), value.strip().strip('"').lower()))
    return head.strip().lower(), tuple(params)


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an Accept header; a missing or empty header accepts everything (``*/*``).

    Malformed elements are ignored rather than failing the request; a malformed q counts as 0.

    >>> [(r.type, r.subtype, r.q) for r in parse_accept("text/html;level=1;q=0.7, */*;q=0.1")]
    [('text', 'html', 0.7), ('*', '*', 0.1)]
    """
    if header is None or not header.strip():
        return [MediaRange("*", "*", (), 1.0)]
    ranges: list[MediaRange] = []
    for element in header.split(","):
        media_type, params = _split(element)
        main, slash, sub = media_type.partition("/")
        if not slash or not main or not sub:
            continue
        q = 1.0
        kept: list[tuple[str, str]] = []
        for index, (name, value) in enumerate(params):
            if name == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
                # Parameters after q are accept-extensions, not media type parameters.
                break
            kept.append(params[index])
        ranges.append(MediaRange(main, sub, tuple(kept), q))
    return ranges


def quality(ranges: Sequence[MediaRange], media_type: str) -> float:
    """The quality the client gives ``media_type``: that of the most specific matching range, 0 if none."""
    best_specificity = -1
    best_q = 0.0
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity > best_specificity:
            best_specificity, best_q = specificity, media_range.q
    return best_q


def choose(header: str | None, offers: Sequence[str]) -> str | None:
    """The offer (a media type) the client prefers, or None when it accepts none of them."""
    ranges = parse_accept(header)
    best: str | None = None
    best_q = 0.0
    for offer in offers:
        q = quality(ranges, offer)
        if q > best_q:
            best, best_q = offer, q
    return best


# --- SPARQL result formats ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFormat:
    """One way of writing results: the media type sent, pyoxigraph's format name, and whether it writes graphs
    (CONSTRUCT/DESCRIBE) or solution tables (SELECT/ASK)."""

    media_type: str
    oxigraph_name: str
    graph: bool
    description: str

    @property
    def content_type(self) -> str:
        """The Content-Type header value (text formats say they are UTF-8)."""
        if self.media_type.startswith("text/") or self.media_type.endswith("+xml"):
            return f"{self.media_type}; charset=utf-8"
        return self.media_type


TABLE_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("application/sparql-results+json", "JSON", False, "SPARQL 1.1 Query Results JSON"),
    ResultFormat("application/sparql-results+xml", "XML", False, "SPARQL Query Results XML"),
    ResultFormat("text/csv", "CSV", False, "SPARQL 1.1 Query Results CSV"),
    ResultFormat("text/tab-separated-values", "TSV", False, "SPARQL 1.1 Query Results TSV"),
    # Aliases clients send instead of the registered types.
    ResultFormat("application/json", "JSON", False, "SPARQL 1.1 Query Results JSON"),
    ResultFormat("application/xml", "XML", False, "SPARQL Query Results XML"),
    ResultFormat("text/xml", "XML", False, "SPARQL Query Results XML"),
)
GRAPH_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("text/turtle", "TURTLE", True, "Turtle"),
    ResultFormat("application/n-triples", "N_TRIPLES", True, "N-Triples"),
    ResultFormat("application/ld+json", "JSON_LD", True, "JSON-LD"),
    ResultFormat("application/rdf+xml", "RDF_XML", True, "RDF/XML"),
    ResultFormat("application/trig", "TRIG", True, "TriG"),
    ResultFormat("application/n-quads", "N_QUADS", True, "N-Quads"),
    ResultFormat("application/x-turtle", "TURTLE", True, "Turtle"),
    ResultFormat("text/plain", "N_TRIPLES", True, "N-Triples"),
    ResultFormat("application/json", "JSON_LD", True, "JSON-LD"),
    ResultFormat("application/xml", "RDF_XML", True, "RDF/XML"),
)
#: W3C format IRIs (http://www.w3.org/ns/formats/) of the registered types, for the service description.
FORMAT_IRIS: dict[str, str] = {
    "application/sparql-results+json": "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    "application/sparql-results+xml": "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    "text/csv": "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    "text/tab-separated-values": "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    "text/turtle": "http://www.w3.org/ns/formats/Turtle",
    "application/n-triples": "http://www.w3.org/ns/formats/N-Triples",
    "application/ld+json": "http://www.w3.org/ns/formats/JSON-LD",
    "application/rdf+xml": "http://www.w3.org/ns/formats/RDF_XML",
    "application/trig": "http://www.w3.org/ns/formats/TriG",
    "application/n-quads": "http://www.w3.org/ns/formats/N-Quads",
}
#: ``format=`` parameter values (for browsers and download links) -> media type, for tables and for graphs.
FORMAT_PARAMETER: dict[str, tuple[str | None, str | None]] = {
    "json": ("application/sparql-results+json", "application/ld+json"),
    "srj": ("application/sparql-results+json", None),
    "xml": ("application/sparql-results+xml", "application/rdf+xml"),
    "srx": ("application/sparql-results+xml", None),
    "csv": ("text/csv", None),
    "tsv": ("text/tab-separated-values", None),
    "ttl": (None, "text/turtle"),
    "turtle": (None, "text/turtle"),
    "nt": (None, "application/n-triples"),
    "ntriples": (None, "application/n-triples"),
    "n-triples": (None, "application/n-triples"),
    "jsonld": (None, "application/ld+json"),
    "json-ld": (None, "application/ld+json"),
    "rdf": (None, "application/rdf+xml"),
    "rdfxml": (None, "application/rdf+xml"),
    "rdf+xml": (None, "application/rdf+xml"),
    "owl": (None, "application/rdf+xml"),
    "trig": (None, "application/trig"),
    "nq": (None, "application/n-quads"),
    "nquads": (None, "application/n-quads"),
    "n-quads": (None, "application/n-quads"),
}


def negotiate_result_format(accept: str | None, format_param: str | None, *, graph: bool) -> ResultFormat:
    """The format to write a query's results in.

    ``graph`` is True for CONSTRUCT/DESCRIBE. ``format_param`` (a short name such as ``csv`` or ``ttl``, or a
    media type) overrides ``accept``. Raises :class:`NotAcceptable` (406) when nothing acceptable fits.

    >>> negotiate_result_format("text/csv;q=0.5, application/sparql-results+xml", None, graph=False).oxigraph_name
    'XML'
    >>> negotiate_result_format(None, "ttl", graph=True).media_type
    'text/turtle'
    """
    formats = GRAPH_FORMATS if graph else TABLE_FORMATS
    kind = "CONSTRUCT/DESCRIBE (an RDF graph)" if graph else "SELECT/ASK (a results table)"
    registered = [f.media_type for f in formats if f.media_type in FORMAT_IRIS]
    if format_param:
        wanted = format_param.strip().lower()
        if wanted in FORMAT_PARAMETER:
            media_type = FORMAT_PARAMETER[wanted][1 if graph else 0]
        else:
            media_type = wanted if "/" in wanted else None
        for candidate in formats:
            if candidate.media_type == media_type:
                return candidate
        names = sorted(k for k, v in FORMAT_PARAMETER.items() if v[1 if graph else 0])
        raise NotAcceptable(
            f"format={format_param!r} cannot be produced for {kind}; use one of {', '.join(names)}",
            available=registered,
        )
    chosen = choose(accept, [f.media_type for f in formats])
    if chosen is None:
        raise NotAcceptable(
            f"none of the accepted media types ({accept}) can be produced for {kind}; available: "
            + ", ".join(registered),
            available=registered,
        )
    return next(f for f in formats if f.media_type == chosen)
