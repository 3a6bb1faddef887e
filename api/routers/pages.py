"""HTML pages for people: the home page, browse lists, and the HTML form of every resource document.

- ``GET /``: the dataset's figures (from the VoID statistics) and ways in: declarations, topics, actors, forums,
  rights..., the SPARQL endpoint, the ontology, VoID, the DCAT catalogue, the dumps.
- ``GET /browse/{type}``: every resource of one type (``declaration``, ``topic``, ``state``...), with how many
  clauses point to each.
- :func:`render_resource_page` (called by :mod:`api.routers.linkeddata` for ``/doc/{type}/{key}`` when HTML is
  wanted): a page for any resource (its properties, what points to it), with more for some types:

  * a declaration: its text clause by clause, each clause's speech acts and kinds, its topics, actors, rights,
    forums and places highlighted at their evidence spans (``dec:hasEvidence`` nodes, offsets into
    ``dec:sourceText``) and linked to their pages; the clauses of other declarations each clause is related to
    (``dec:relatedClause`` / ``dec:ClauseLink`` with ``dec:score`` and ``dec:method``); what it cites and what
    cites it (``cito:cites``);
  * a clause: the same for one clause, with its neighbours;
  * a topic, actor, forum, meeting, right, place or speech act: the clauses across declarations that point to it,
    grouped by declaration in date order, with a small bar chart of clauses per year (inline SVG drawn here, no
    script), and the declarations that point to it.

Every page links to its neighbours (``/doc/...``), so a crawler following ``<a href>`` from ``/`` reaches every
declaration, clause, topic and actor. Pages are plain HTML and CSS (``/static/ui/pages.css``); no script.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from api.deps import QueryServiceDep
from api.describe import (
    CORS_HEADERS,
    DCT_TITLE,
    LABEL_PROPERTIES,
    RDF_FORMS,
    RDFS_LABEL,
    SKOS_PREF,
    ResourceRef,
    Term,
    base_iri_of,
    check_iri,
    describe,
    etag,
    freshness,
    id_base,
    local_href,
    not_modified,
    root_of,
    select,
    validator_headers,
)
from api.querying import QueryService
from kg.errors import NotFound
from kg.namespaces import DEC, ONTOLOGY_GRAPH, PREFIXES, RESOURCE_TYPES

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "pages"
RDF_TYPE = PREFIXES["rdf"] + "type"
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
CITO_CITES = "http://purl.org/spar/cito/cites"
KIND_CLASSES = {str(DEC[k]): k for k in ("Commitment", "Appeal", "Recognition", "Endorsement")}
HIDDEN_PROPERTIES = {str(DEC.sourceText), str(DEC.hasEvidence), SKOS + "hiddenLabel", str(DEC.surfaceForm)}

#: Types listed on browse pages, in the order the home page shows them, with plural names.
BROWSABLE: dict[str, str] = {
    "declaration": "Declarations",
    "topic": "Topics",
    "speech-act": "Speech acts",
    "state": "States",
    "organisation": "Organisations",
    "group": "Groups of states",
    "population-group": "Population groups",
    "right": "Rights",
    "forum": "Forums",
    "meeting": "Meetings",
    "place": "Places",
    "scheme": "Concept schemes",
}
TYPE_NAMES: dict[str, str] = {
    "declaration": "Declaration", "clause": "Clause", "topic": "Topic", "speech-act": "Speech act",
    "state": "State", "organisation": "Organisation", "group": "Group of states",
    "population-group": "Population group", "right": "Right", "forum": "Forum", "meeting": "Meeting",
    "place": "Place", "evidence": "Evidence", "clause-link": "Clause link", "scheme": "Concept scheme",
}
#: Names for people of the properties of other vocabularies that pages show most.
FRIENDLY_NAMES: dict[str, str] = {
    RDF_TYPE: "type", SKOS + "prefLabel": "name", SKOS + "altLabel": "other names", SKOS + "definition": "definition",
    SKOS + "broader": "broader", SKOS + "narrower": "narrower", SKOS + "inScheme": "in scheme",
    SKOS + "topConceptOf": "top concept of", SKOS + "hasTopConcept": "top concepts", SKOS + "note": "note",
    SKOS + "exactMatch": "exact match", SKOS + "closeMatch": "close match", SKOS + "related": "related",
    DCT + "subject": "topic", DCT + "title": "title", DCT + "date": "date", DCT + "identifier": "identifier",
    DCT + "description": "description", PREFIXES["rdfs"] + "label": "label", PREFIXES["rdfs"] + "seeAlso": "see also",
    PREFIXES["rdfs"] + "comment": "comment", PREFIXES["owl"] + "sameAs": "same as", CITO_CITES: "cites",
    PREFIXES["schema"] + "startDate": "start date", PREFIXES["schema"] + "endDate": "end date",
}
#: The highlight class of an evidence span, from the type segment of the value it points to.
SPAN_KINDS: dict[str, str] = {
    "topic": "topic", "speech-act": "act", "right": "right", "forum": "forum", "meeting": "forum",
    "declaration": "forum", "state": "actor", "organisation": "actor", "group": "actor",
    "population-group": "people", "place": "place",
}
SPAN_KIND_NAMES: dict[str, str] = {
    "act": "speech act", "topic": "topic", "actor": "actor", "people": "population group", "right": "right",
    "forum": "forum, meeting or instrument", "place": "place",
}

router = APIRouter(tags=["pages"])


# --- labels and links ---------------------------------------------------------------------------------------------


def _label_rank(prop: str, lang: str | None) -> tuple[int, int]:
    lang_rank = 0 if (lang or "").lower().startswith("en") else (1 if not lang else 2)
    prop_rank = {SKOS_PREF: 0, DCT_TITLE: 1, RDFS_LABEL: 2}.get(prop, 3)
    return lang_rank, prop_rank


def pick_labels(candidates: Iterable[tuple[str, str, str, str | None]]) -> dict[str, str]:
    """The best label of each subject from (subject, property, text, language) candidates: English first, then
    untagged, then any; ``skos:prefLabel`` over ``dcterms:title`` over ``rdfs:label``."""
    best: dict[str, tuple[tuple[int, int], str]] = {}
    for subject, prop, text, lang in candidates:
        rank = _label_rank(prop, lang)
        if subject not in best or rank < best[subject][0] or (rank == best[subject][0] and text < best[subject][1]):
            best[subject] = (rank, text)
    return {s: text for s, (_, text) in best.items()}


def fallback_label(iri: str, base_iri: str) -> str:
    """A readable name for an IRI without a label: ``clause 5 of lac-2010-...``, a local name, or the IRI."""
    base = id_base(base_iri)
    if iri.startswith(base):
        type_, _, key = iri[len(base):].partition("/")
        if type_ in ("clause", "evidence") and "/" in key:
            doc, _, n = key.rpartition("/")
            return f"{TYPE_NAMES.get(type_, type_).lower()} {n} of {doc}"
        if type_ == "clause-link":
            return f"clause link {key}"
        return key.replace("-", " ")
    return curie(iri)


def curie(iri: str) -> str:
    """``dec:Clause`` for an IRI in one of our prefixes, else the IRI."""
    for prefix, ns in PREFIXES.items():
        if prefix != "id" and iri.startswith(ns) and len(iri) > len(ns) and "/" not in iri[len(ns):]:
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def type_of(iri: str, base_iri: str) -> str | None:
    """The type segment of one of our resource IRIs (``topic`` for ``.../id/topic/x``), else None."""
    base = id_base(base_iri)
    if not iri.startswith(base):
        return None
    type_ = iri[len(base):].split("/", 1)[0]
    return type_ if type_ in RESOURCE_TYPES else None


_PART_RE = re.compile(r"/id/(?:clause|evidence|clause-link)/([^/]+)/[^/]+$")


def _declaration_of(iri: str) -> str | None:
    """``.../id/declaration/x`` for a clause or evidence IRI ``.../id/clause/x/5``, else None."""
    match = _PART_RE.search(iri)
    return iri[: match.start()] + "/id/declaration/" + match.group(1) if match else None


async def labels_for(service: QueryService, iris: Iterable[str]) -> dict[str, str]:
    """Labels of ``iris`` (those that have one) from the store, and of the declarations of clause IRIs among
    them (clauses are named after their declaration)."""
    given = {i for i in iris if i}
    wanted = sorted(given | {d for d in map(_declaration_of, given) if d})
    labels: dict[str, str] = {}
    for start in range(0, len(wanted), 400):
        chunk = " ".join(f"<{check_iri(i)}>" for i in wanted[start : start + 400])
        rows = await select(
            service,
            f"SELECT ?s ?p ?l WHERE {{ VALUES ?s {{ {chunk} }} VALUES ?p {{ skos:prefLabel dcterms:title rdfs:label }}"
            " ?s ?p ?l }",
        )
        labels.update(pick_labels((r["s"].value, r["p"].value, r["l"].value, r["l"].lang) for r in rows))
    return labels


async def term_labels(request: Request, service: QueryService, generation: str) -> dict[str, str]:
    """Labels of the ontology's terms (classes and properties), remembered per store generation."""
    cached: tuple[str, dict[str, str]] | None = getattr(request.app.state, "ld_term_labels", None)
    if cached is not None and cached[0] == generation:
        return cached[1]
    rows = await select(
        service,
        f"SELECT ?s ?l WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s rdfs:label ?l }} FILTER(isIRI(?s)) }}",
    )
    labels = pick_labels((r["s"].value, RDFS_LABEL, r["l"].value, r["l"].lang) for r in rows)
    request.app.state.ld_term_labels = (generation, labels)
    return labels


@dataclass
class Linker:
    """Turns IRIs into links and names for one request: ``/doc/...`` for ours, ``/ontology#X`` for terms, the IRI
    itself for others."""

    base_iri: str
    root: str
    labels: dict[str, str] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)

    def href(self, iri: str) -> str:
        """Our page of ``iri``, or ``iri`` itself when it is an http(s) IRI of others (nothing for other schemes,
        so data can never put a ``javascript:`` link on a page)."""
        local = local_href(iri, self.base_iri, self.root)
        if local is not None:
            return local
        return iri if iri.startswith(("http://", "https://")) else ""

    def label(self, iri: str) -> str:
        found = self.labels.get(iri) or self.terms.get(iri)
        if found:
            return found
        declaration = _declaration_of(iri)
        if declaration and declaration in self.labels:
            type_ = type_of(iri, self.base_iri) or ""
            return f"{TYPE_NAMES.get(type_, type_)} {iri.rsplit('/', 1)[1]} of {self.labels[declaration]}"
        return fallback_label(iri, self.base_iri)

    def term(self, iri: str) -> str:
        """A property or class as people read it: its label when the ontology gives one, else a prefixed name."""
        return self.terms.get(iri) or FRIENDLY_NAMES.get(iri) or curie(iri)

    def type_name(self, iri: str) -> str | None:
        type_ = type_of(iri, self.base_iri)
        return TYPE_NAMES.get(type_) if type_ else None


# --- the templates --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def templates() -> Environment:
    """The Jinja environment of ``api/templates/pages`` (autoescaping on)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["span_kind_names"] = SPAN_KIND_NAMES
    env.globals["browsable"] = BROWSABLE
    return env


def render(request: Request, name: str, **context: Any) -> str:
    """Render ``pages/name`` with what every page needs (root path, static path, the nav)."""
    root = root_of(request)
    return templates().get_template(name).render(
        root=root, static=f"{root}/static/ui", base_iri=base_iri_of(request), **context
    )


def html_response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """An HTML answer with the headers every page carries."""
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            **CORS_HEADERS,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
            "script-src 'none'; object-src 'none'; base-uri 'none'",
            **(headers or {}),
        },
    )


def render_not_found(request: Request, detail: str) -> str:
    """The HTML 404 page."""
    return render(request, "notfound.html", title="Not found", detail=detail)


# --- evidence highlighting -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """One evidence span inside a clause: offsets relative to the clause text, what it says and where it links."""

    start: int
    end: int
    kind: str
    value: str
    label: str
    href: str
    prop: str


@dataclass(frozen=True)
class Segment:
    """A piece of clause text and the spans covering it (the innermost, shortest first)."""

    text: str
    spans: tuple[Span, ...] = ()

    @property
    def main(self) -> Span | None:
        return self.spans[0] if self.spans else None

    @property
    def title(self) -> str:
        return "; ".join(f"{SPAN_KIND_NAMES.get(s.kind, s.kind)}: {s.label}" for s in self.spans)


def segment_text(text: str, spans: Iterable[Span]) -> list[Segment]:
    """Cut ``text`` at every span boundary; each piece carries the spans that cover it, innermost first. Spans
    may overlap or nest; those outside the text are clipped or dropped.

    >>> s = [Span(0, 5, "topic", "t", "T", "#t", "p"), Span(3, 9, "actor", "a", "A", "#a", "p")]
    >>> [(g.text, [x.kind for x in g.spans]) for g in segment_text("abcdefghij", s)]
    [('abc', ['topic']), ('de', ['topic', 'actor']), ('fghi', ['actor']), ('j', [])]
    """
    kept = [s for s in spans if 0 <= s.start < s.end and s.start < len(text)]
    cuts = sorted({0, len(text), *(s.start for s in kept), *(min(s.end, len(text)) for s in kept)})
    segments: list[Segment] = []
    for left, right in zip(cuts, cuts[1:], strict=False):
        if left >= right:
            continue
        covering = sorted(
            (s for s in kept if s.start <= left and s.end >= right), key=lambda s: (s.end - s.start, s.kind)
        )
        segments.append(Segment(text[left:right], tuple(covering)))
    return segments


# --- views of clauses ----------------------------------------------------------------------------------------------


@dataclass
class RelatedClause:
    """A clause of another declaration linked to this one."""

    iri: str
    declaration: str
    position: int | None
    score: float | None
    methods: list[str]
    link: str | None


@dataclass
class ClauseView:
    """What a page shows of one clause."""

    iri: str
    position: int
    text: str
    segments: list[Segment]
    acts: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    facets: dict[str, list[str]] = field(default_factory=dict)
    related: list[RelatedClause] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)


FACET_PROPERTIES: dict[str, str] = {
    DCT + "subject": "Topics",
    str(DEC.mentions): "Mentions",
    str(DEC.concernsRight): "Rights",
    str(DEC.refersTo): "Refers to",
}


def _int(term: Term | None) -> int | None:
    try:
        return int(term.value) if term is not None else None
    except ValueError:
        return None


def _float(term: Term | None) -> float | None:
    try:
        return float(term.value) if term is not None else None
    except ValueError:
        return None


async def clause_views(
    service: QueryService, linker: Linker, *, declaration: str | None = None, clause: str | None = None
) -> list[ClauseView]:
    """The clauses of ``declaration`` (or the one ``clause``) with their acts, kinds, facets, highlighted evidence
    and related clauses of other declarations, in position order. Labels of everything shown are added to
    ``linker.labels``."""
    if declaration is not None:
        where = f"?clause dec:partOf <{check_iri(declaration)}> ."
    else:
        assert clause is not None
        where = f"VALUES ?clause {{ <{check_iri(clause)}> }}"
    base_query = (
        f"SELECT ?clause ?pos ?text ?start WHERE {{ {where} ?clause dec:position ?pos . "
        "OPTIONAL { ?clause dec:text ?text } OPTIONAL { ?clause dec:start ?start } }"
    )
    fact_query = (
        f"SELECT ?clause ?p ?o WHERE {{ {where} ?clause ?p ?o . "
        "VALUES ?p { rdf:type dec:speechAct dcterms:subject dec:mentions dec:concernsRight dec:refersTo "
        "dec:unrecognisedAct } }"
    )
    evidence_query = (
        f"SELECT ?clause ?value ?start ?end ?prop WHERE {{ {where} ?ev dec:evidenceOf ?clause ; dec:value ?value ;"
        " dec:start ?start ; dec:end ?end . OPTIONAL { ?ev dec:property ?prop } }"
    )
    related_query = (
        f"SELECT ?clause ?other ?link ?score ?method ?odecl ?opos WHERE {{ {where} "
        "{ ?link dec:source ?clause ; dec:target ?other } UNION { ?link dec:target ?clause ; dec:source ?other } "
        "UNION { ?clause dec:relatedClause ?other } UNION { ?other dec:relatedClause ?clause } "
        "FILTER(?other != ?clause) "
        "OPTIONAL { ?link dec:score ?score } OPTIONAL { ?link dec:method ?method } "
        "OPTIONAL { ?other dec:partOf ?odecl } OPTIONAL { ?other dec:position ?opos } }"
    )
    base_rows, fact_rows, evidence_rows, related_rows = await asyncio.gather(
        *(select(service, q) for q in (base_query, fact_query, evidence_query, related_query))
    )
    wanted: set[str] = set()
    for row in fact_rows:
        if row["o"].is_iri:
            wanted.add(row["o"].value)
    for row in evidence_rows:
        wanted.add(row["value"].value)
    for row in related_rows:
        wanted.add(row["other"].value)
        if "odecl" in row:
            wanted.add(row["odecl"].value)
        if "method" in row and row["method"].is_iri:
            wanted.add(row["method"].value)
    linker.labels.update(await labels_for(service, wanted - set(linker.labels)))

    views: dict[str, ClauseView] = {}
    starts: dict[str, int] = {}
    for row in base_rows:
        iri = row["clause"].value
        text = row["text"].value if "text" in row else ""
        views[iri] = ClauseView(iri, _int(row["pos"]) or 0, text, [])
        starts[iri] = _int(row.get("start")) or 0
    for row in fact_rows:
        view = views.get(row["clause"].value)
        if view is None:
            continue
        prop, obj = row["p"].value, row["o"].value
        if prop == RDF_TYPE:
            if obj in KIND_CLASSES:
                view.kinds.append(KIND_CLASSES[obj])
        elif prop == str(DEC.speechAct):
            view.acts.append(obj)
        elif prop == str(DEC.unrecognisedAct):
            view.unrecognised.append(obj)
        elif prop in FACET_PROPERTIES:
            view.facets.setdefault(FACET_PROPERTIES[prop], []).append(obj)
    spans: dict[str, list[Span]] = defaultdict(list)
    for row in evidence_rows:
        iri = row["clause"].value
        if iri not in views:
            continue
        value = row["value"].value
        type_ = type_of(value, linker.base_iri)
        kind = SPAN_KINDS.get(type_ or "", "other")
        start, end = _int(row["start"]), _int(row["end"])
        if start is None or end is None:
            continue
        offset = starts[iri]
        spans[iri].append(
            Span(start - offset, end - offset, kind, value, linker.label(value), linker.href(value),
                 row["prop"].value if "prop" in row else "")
        )
    related: dict[tuple[str, str], RelatedClause] = {}
    for row in related_rows:
        iri = row["clause"].value
        other = row["other"].value
        declaration_of_other = row["odecl"].value if "odecl" in row else ""
        if iri not in views or (declaration is not None and declaration_of_other == declaration):
            continue
        key = (iri, other)
        entry = related.get(key)
        if entry is None:
            entry = related[key] = RelatedClause(other, declaration_of_other, _int(row.get("opos")), None, [], None)
        score = _float(row.get("score"))
        if score is not None and (entry.score is None or score > entry.score):
            entry.score = score
        if "method" in row:
            method = row["method"]
            name = linker.label(method.value) if method.is_iri else method.value
            if name not in entry.methods:
                entry.methods.append(name)
        if "link" in row and row["link"].is_iri:
            entry.link = row["link"].value
    for (iri, _), entry in related.items():
        views[iri].related.append(entry)
    result = sorted(views.values(), key=lambda v: v.position)
    for view in result:
        view.segments = segment_text(view.text, spans.get(view.iri, []))
        view.acts.sort(key=linker.label)
        view.kinds.sort()
        for values in view.facets.values():
            values.sort(key=linker.label)
        view.related.sort(key=lambda r: (-(r.score or 0.0), r.iri))
    return result


# --- charts --------------------------------------------------------------------------------------------------------


def bar_chart(counts: dict[int, int], *, width: int = 560, height: int = 150, label: str = "clauses") -> Markup:
    """An inline SVG bar chart of ``counts`` (year -> number), every year from the first to the last on the axis.

    >>> "<svg" in bar_chart({2008: 2, 2010: 5})
    True
    """
    if not counts:
        return Markup("")
    first, last = min(counts), max(counts)
    years = list(range(first, last + 1))
    if len(years) > 80:  # keep bars readable: only the years that have clauses
        years = sorted(counts)
    top = max(counts.values())
    left, bottom, right, head = 34, 22, 8, 14
    plot_w, plot_h = width - left - right, height - bottom - head
    step = plot_w / len(years)
    bar_w = max(min(step * 0.7, 48), 2)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(label)} per year, {first} to {last}">',
        f'<line x1="{left}" y1="{head + plot_h}" x2="{width - right}" y2="{head + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{head + 4}" class="tick" text-anchor="end">{top}</text>',
        f'<text x="{left - 6}" y="{head + plot_h}" class="tick" text-anchor="end">0</text>',
    ]
    label_every = max(1, len(years) // 12)
    for index, year in enumerate(years):
        n = counts.get(year, 0)
        x = left + index * step + (step - bar_w) / 2
        h = plot_h * n / top if top else 0
        if n:
            parts.append(
                f'<rect x="{x:.1f}" y="{head + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" class="bar">'
                f"<title>{year}: {n} {escape(label)}</title></rect>"
            )
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{head + plot_h - h - 3:.1f}" class="value" '
                f'text-anchor="middle">{n}</text>'
            )
        if index % label_every == 0 or n:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" class="tick" text-anchor="middle">{year}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


# --- pages ---------------------------------------------------------------------------------------------------------


@dataclass
class PropertyRow:
    """One property of the resource and its values (IRIs as links, literals as text)."""

    prop: str
    name: str
    values: list[dict[str, Any]]


def _value(term: ox.NamedNode | ox.BlankNode | ox.Literal, blanks: dict[str, list[ox.Triple]], linker: Linker,
           depth: int = 0) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"iri": term.value, "href": linker.href(term.value), "label": linker.label(term.value)}
    if isinstance(term, ox.BlankNode):
        inner = blanks.get(term.value, [])
        if depth > 1:
            return {"text": "[…]"}
        return {"blank": [(linker.term(t.predicate.value), _value(t.object, blanks, linker, depth + 1))
                          for t in inner]}
    datatype = term.datatype.value if term.datatype else ""
    short = curie(datatype) if datatype and not term.language and not datatype.endswith("#string") else ""
    return {"text": term.value, "lang": term.language or "", "datatype": short}


def property_rows(triples: list[ox.Triple], this: str, linker: Linker, *, incoming: bool) -> list[PropertyRow]:
    """The resource's properties (or, ``incoming``, the triples pointing to it) grouped by property."""
    blanks: dict[str, list[ox.Triple]] = defaultdict(list)
    for t in triples:
        if isinstance(t.subject, ox.BlankNode):
            blanks[t.subject.value].append(t)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in triples:
        if incoming:
            if not (isinstance(t.object, ox.NamedNode) and t.object.value == this) or t.subject.value == this:
                continue
            grouped[t.predicate.value].append(_value(t.subject, blanks, linker))
        else:
            if not (isinstance(t.subject, ox.NamedNode) and t.subject.value == this):
                continue
            if t.predicate.value in HIDDEN_PROPERTIES:
                continue
            grouped[t.predicate.value].append(_value(t.object, blanks, linker))
    rows = []
    for prop, values in grouped.items():
        values.sort(key=lambda v: (v.get("lang", "") not in ("en", ""), str(v.get("label") or v.get("text") or "")))
        rows.append(PropertyRow(prop, linker.term(prop), values))
    first = {RDF_TYPE: 0, SKOS_PREF: 1, RDFS_LABEL: 2, DCT_TITLE: 3, SKOS + "definition": 4}
    rows.sort(key=lambda r: (first.get(r.prop, 9), r.name.lower()))
    return rows


@dataclass
class ClauseRef:
    """A clause pointing to the resource of a page, for the clause lists of topics, actors and others."""

    iri: str
    position: int
    text: str
    props: list[str]


@dataclass
class DeclarationGroup:
    """The clauses of one declaration in a list, with the declaration's date."""

    iri: str
    date: str
    clauses: list[ClauseRef]


#: Most rows of clause lists a page asks for (a topic of a large corpus may have thousands of clauses; the
#: counts and the chart still cover all of them).
MAX_LISTED_ROWS = 600


@dataclass
class ClauseGroups:
    """The clauses pointing to a resource: the listed ones grouped by declaration, clauses per year, the total."""

    groups: list[DeclarationGroup]
    per_year: dict[int, int]
    total: int
    listed: int


async def pointing_clauses(service: QueryService, iri: str, linker: Linker, *, narrower: bool = False) -> ClauseGroups:
    """The clauses that point to ``iri`` (any property but membership and clause links), grouped by declaration in
    date order (the most recent :data:`MAX_LISTED_ROWS` rows), and how many per year of the declaration's date.
    With ``narrower`` (topics), also the clauses whose topic is narrower than ``iri`` (``skos:broader+``), shown
    as "narrower topic: ..."."""
    pattern = (
        f"{{ ?clause ?p <{check_iri(iri)}> . FILTER(?p NOT IN (rdf:type, dec:partOf, dec:relatedClause)) }}"
    )
    if narrower:
        pattern += f" UNION {{ ?via skos:broader+ <{iri}> . ?clause dcterms:subject ?via . }}"
    pattern += " ?clause dec:partOf ?decl . OPTIONAL { ?decl dcterms:date ?date }"
    rows, counts = await asyncio.gather(
        select(
            service,
            f"SELECT ?clause ?p ?via ?decl ?pos ?text ?date WHERE {{ {pattern} ?clause dec:position ?pos . "
            f"OPTIONAL {{ ?clause dec:text ?text }} }} ORDER BY DESC(?date) ?decl ?pos LIMIT {MAX_LISTED_ROWS}",
        ),
        select(
            service,
            f"SELECT ?year (COUNT(DISTINCT ?clause) AS ?n) WHERE {{ {pattern} "
            "BIND(SUBSTR(STR(?date), 1, 4) AS ?year) } GROUP BY ?year",
        ),
    )
    vias = {r["via"].value for r in rows if "via" in r}
    if vias:
        linker.labels.update(await labels_for(service, vias - set(linker.labels)))
    groups: dict[str, DeclarationGroup] = {}
    clauses: dict[str, ClauseRef] = {}
    for row in rows:
        decl = row["decl"].value
        group = groups.setdefault(decl, DeclarationGroup(decl, row["date"].value if "date" in row else "", []))
        clause = row["clause"].value
        ref = clauses.get(clause)
        if ref is None:
            text = row["text"].value if "text" in row else ""
            ref = clauses[clause] = ClauseRef(clause, _int(row["pos"]) or 0, text, [])
            group.clauses.append(ref)
        name = linker.term(row["p"].value) if "p" in row else f"narrower topic: {linker.label(row['via'].value)}"
        if name not in ref.props:
            ref.props.append(name)
    linker.labels.update(await labels_for(service, set(groups) - set(linker.labels)))
    ordered = sorted(groups.values(), key=lambda g: (g.date or "9999", linker.label(g.iri)))
    for group in ordered:
        group.clauses.sort(key=lambda c: c.position)
    per_year: dict[int, int] = {}
    total = 0
    for row in counts:
        n = _int(row.get("n")) or 0
        total += n
        year = row["year"].value if "year" in row else ""
        if year.isdigit():
            per_year[int(year)] = per_year.get(int(year), 0) + n
    return ClauseGroups(ordered, per_year, total, len(clauses))


async def pointing_declarations(service: QueryService, iri: str, linker: Linker) -> list[tuple[str, list[str], str]]:
    """Declarations that point to ``iri`` directly (adopted by, at, in; cites): (declaration, properties, date)."""
    rows = await select(
        service,
        f"SELECT ?decl ?p ?date WHERE {{ ?decl a dec:Declaration ; ?p <{check_iri(iri)}> . "
        "OPTIONAL { ?decl dcterms:date ?date } }",
    )
    found: dict[str, tuple[list[str], str]] = {}
    for row in rows:
        entry = found.setdefault(row["decl"].value, ([], row["date"].value if "date" in row else ""))
        name = linker.term(row["p"].value)
        if name not in entry[0]:
            entry[0].append(name)
    linker.labels.update(await labels_for(service, set(found) - set(linker.labels)))
    return sorted(((d, props, date) for d, (props, date) in found.items()), key=lambda x: (x[2] or "9999", x[0]))


async def citations(service: QueryService, iri: str, linker: Linker) -> tuple[list[str], list[str]]:
    """(what ``iri`` cites, what cites it) with ``cito:cites``."""
    rows = await select(
        service,
        f"SELECT ?dir ?other WHERE {{ {{ <{check_iri(iri)}> cito:cites ?other BIND(\"out\" AS ?dir) }} "
        f"UNION {{ ?other cito:cites <{iri}> BIND(\"in\" AS ?dir) }} FILTER(isIRI(?other)) }}",
    )
    cites = sorted({r["other"].value for r in rows if r["dir"].value == "out"})
    cited_by = sorted({r["other"].value for r in rows if r["dir"].value == "in"})
    linker.labels.update(await labels_for(service, set(cites + cited_by) - set(linker.labels)))
    return cites, cited_by


def _alternates(ref: ResourceRef, root: str) -> list[tuple[str, str, str]]:
    return [(f"{root}/doc/{ref.path}.{form.suffix}", form.media_type, form.name) for form in RDF_FORMS]


async def render_resource_page(request: Request, service: QueryService, ref: ResourceRef) -> str | None:
    """The HTML page of ``ref``, or None when the store knows nothing of it."""
    triples = await describe(service, ref.iri)
    if not triples:
        return None
    fresh = await freshness(request, service)
    base = base_iri_of(request)
    root = root_of(request)
    linker = Linker(base, root, terms=await term_labels(request, service, fresh.generation))
    linker.labels.update(
        pick_labels(
            (t.subject.value, t.predicate.value, t.object.value, t.object.language)
            for t in triples
            if t.predicate.value in LABEL_PROPERTIES and isinstance(t.object, ox.Literal)
            and isinstance(t.subject, ox.NamedNode)
        )
    )
    unlabelled = {
        term.value
        for t in triples
        for term in (t.subject, t.object)
        if isinstance(term, ox.NamedNode) and term.value not in linker.labels and type_of(term.value, base)
    }
    if unlabelled:
        linker.labels.update(await labels_for(service, unlabelled))
    this = ref.iri
    own = [t for t in triples if isinstance(t.subject, ox.NamedNode) and t.subject.value == this]

    def own_values(prop: str) -> list[ox.NamedNode | ox.Literal | ox.BlankNode]:
        return [t.object for t in own if t.predicate.value == prop]

    definition = next((o.value for o in own_values(SKOS + "definition")
                       if isinstance(o, ox.Literal) and (o.language or "en").startswith("en")), None)
    context: dict[str, Any] = {
        "ref": ref,
        "type_name": TYPE_NAMES.get(ref.type, ref.type),
        "title": linker.label(this),
        "definition": definition,
        "linker": linker,
        "alternates": _alternates(ref, root),
        "properties": property_rows(triples, this, linker, incoming=False),
        "incoming": property_rows(triples, this, linker, incoming=True),
        "kinds": sorted(KIND_CLASSES[o.value] for o in own_values(RDF_TYPE) if o.value in KIND_CLASSES),
    }
    if ref.type == "declaration":
        context["clauses"] = await clause_views(service, linker, declaration=this)
        context["highlighted"] = any(seg.spans for c in context["clauses"] for seg in c.segments)
        (context["cites"], context["cited_by"]), pointing = await asyncio.gather(
            citations(service, this, linker), pointing_clauses(service, this, linker)
        )
        context["groups"] = [g for g in pointing.groups if g.iri != this]
        context["date"] = next((o.value for o in own_values(DCT + "date")), "")
        context["meta"] = [
            (name, [o.value for o in own_values(str(prop)) if isinstance(o, ox.NamedNode)])
            for name, prop in (("Adopted by", DEC.adoptedBy), ("Adopted at", DEC.adoptedAt), ("Place", DEC.place))
        ]
        topic_counts: dict[str, int] = defaultdict(int)
        for view in context["clauses"]:
            for topic in view.facets.get("Topics", []):
                topic_counts[topic] += 1
        context["topic_counts"] = sorted(topic_counts.items(), key=lambda kv: (-kv[1], linker.label(kv[0])))
        return render(request, "declaration.html", **context)
    if ref.type == "clause":
        views = await clause_views(service, linker, clause=this)
        context["clauses"] = views
        context["highlighted"] = any(seg.spans for c in views for seg in c.segments)
        declaration = next((o.value for o in own_values(str(DEC.partOf)) if isinstance(o, ox.NamedNode)), None)
        context["declaration"] = declaration
        if declaration and views:
            position = views[0].position
            rows = await select(
                service,
                f"SELECT ?c ?pos WHERE {{ ?c dec:partOf <{check_iri(declaration)}> ; dec:position ?pos . "
                f"FILTER(?pos = {position - 1} || ?pos = {position + 1}) }}",
            )
            context["previous"] = next((r["c"].value for r in rows if _int(r["pos"]) == position - 1), None)
            context["next"] = next((r["c"].value for r in rows if _int(r["pos"]) == position + 1), None)
        return render(request, "clause.html", **context)
    pointing, declarations = await asyncio.gather(
        pointing_clauses(service, this, linker, narrower=ref.type == "topic"),
        pointing_declarations(service, this, linker),
    )
    context["groups"] = pointing.groups
    context["clause_count"] = pointing.total
    context["listed"] = pointing.listed
    context["chart"] = bar_chart(pointing.per_year) if pointing.per_year else Markup("")
    context["declarations"] = declarations
    return render(request, "resource.html", **context)


# --- routes --------------------------------------------------------------------------------------------------------


async def _page_response(request: Request, service: QueryService, key: str, build: Any) -> Response:
    fresh = await freshness(request, service)
    tag = etag(fresh, key, "text/html")
    headers = {**validator_headers(tag, fresh), "Vary": "Accept"}
    if not_modified(request, tag, fresh):
        return Response(status_code=304, headers={**CORS_HEADERS, **headers})
    return html_response(await build(fresh), headers=headers)


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def home(request: Request, service: QueryServiceDep) -> Response:
    """The home page: figures and ways in."""

    async def build(fresh: Any) -> str:
        from api.routers.dataset import statistics

        stats = await statistics(request, service)
        base = base_iri_of(request)
        prefix = id_base(base)
        rows = await select(
            service,
            f'SELECT ?t (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?c . FILTER(STRSTARTS(STR(?s), "{prefix}")) '
            f'BIND(STRBEFORE(STRAFTER(STR(?s), "{prefix}"), "/") AS ?t) }} GROUP BY ?t',
        )
        counts = {r["t"].value: _int(r["n"]) or 0 for r in rows}
        declarations = await select(
            service,
            "SELECT ?d ?date (COUNT(?c) AS ?n) WHERE { ?d a dec:Declaration . OPTIONAL { ?d dcterms:date ?date } "
            "OPTIONAL { ?c dec:partOf ?d } } GROUP BY ?d ?date ORDER BY DESC(?date)",
        )
        topics = await select(
            service,
            "SELECT ?t (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a dec:Clause ; dcterms:subject ?t } "
            "GROUP BY ?t ORDER BY DESC(?n) ?t LIMIT 24",
        )
        linker = Linker(base, root_of(request))
        linker.labels.update(
            await labels_for(service, [r["d"].value for r in declarations] + [r["t"].value for r in topics])
        )
        return render(
            request,
            "home.html",
            title="Declarations knowledge graph",
            stats=stats,
            counts=counts,
            declarations=[(r["d"].value, r["date"].value if "date" in r else "", _int(r["n"]) or 0)
                          for r in declarations],
            topics=[(r["t"].value, _int(r["n"]) or 0) for r in topics],
            linker=linker,
            last_modified=fresh.last_modified.date().isoformat(),
        )

    return await _page_response(request, service, "/", build)


@router.api_route("/browse/{type_}", methods=["GET", "HEAD"], include_in_schema=False)
async def browse(request: Request, type_: str, service: QueryServiceDep) -> Response:
    """Every resource of one type, with the number of clauses pointing to each. Raises NotFound for other types."""
    if type_ not in BROWSABLE:
        raise NotFound(f"no list of {type_!r}; lists: {', '.join(BROWSABLE)}")

    async def build(fresh: Any) -> str:
        base = base_iri_of(request)
        prefix = id_base(base) + type_ + "/"
        members = await select(
            service, f'SELECT DISTINCT ?s WHERE {{ ?s a ?c . FILTER(STRSTARTS(STR(?s), "{prefix}")) }}'
        )
        counts = await select(
            service,
            f"SELECT ?s (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?c dec:partOf ?d ; ?p ?s . "
            f'FILTER(STRSTARTS(STR(?s), "{prefix}")) }} GROUP BY ?s',
        )
        by_count = {r["s"].value: _int(r["n"]) or 0 for r in counts}
        linker = Linker(base, root_of(request))
        iris = [r["s"].value for r in members]
        linker.labels.update(await labels_for(service, iris))
        items = sorted(((i, by_count.get(i, 0)) for i in iris), key=lambda x: linker.label(x[0]).lower())
        return render(
            request, "browse.html", title=BROWSABLE[type_], type_=type_, items=items, linker=linker,
            with_counts=any(by_count.values()),
        )

    return await _page_response(request, service, f"/browse/{type_}", build)
