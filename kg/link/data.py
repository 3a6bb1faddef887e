"""What the linker reads: a snapshot of the declarations and clauses in a store, plus the thesaurus hierarchy and
the forums of meetings, as plain Python objects.

:func:`load_corpus` reads the snapshot with a handful of SPARQL queries over the union of the graphs.
:func:`overlay` replaces (or adds) one declaration with the quads it is about to be written as, so links can be
computed *before* the write and go into the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import pyoxigraph as ox

from kg.namespaces import DEC, ID_BASE, LINKS_GRAPH, PREFIXES
from kg.store.base import Store

log = logging.getLogger(__name__)

DECLARATION_BASE = ID_BASE + "declaration/"
CLAUSE_BASE = ID_BASE + "clause/"

_PREFIXES = "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items() if p != "id")

_Q_DECLARATIONS = _PREFIXES + """
SELECT ?d ?p ?o WHERE {
  ?d a dec:Declaration ; ?p ?o .
  VALUES ?p { dcterms:title rdfs:label skos:prefLabel skos:altLabel dcterms:date dec:place dec:adoptedAt }
}"""
_Q_CLAUSES = _PREFIXES + """
SELECT ?c ?d ?pos ?text WHERE {
  ?c dec:partOf ?d .
  OPTIONAL { ?c dec:position ?pos }
  OPTIONAL { ?c dec:text ?text }
}"""
# Not from the links graph: the linker's own output (clause references it resolved) is not its input.
_Q_CLAUSE_FACTS = _PREFIXES + f"""
SELECT DISTINCT ?c ?p ?o WHERE {{
  GRAPH ?g {{ ?c ?p ?o . VALUES ?p {{ dcterms:subject dec:refersTo dec:mentions }} }}
  FILTER (?g != <{LINKS_GRAPH}>)
  ?c dec:partOf ?d .
}}"""
_Q_BROADER = _PREFIXES + """
SELECT DISTINCT ?n ?b WHERE {
  { ?n skos:broader ?b } UNION { ?b skos:narrower ?n }
  ?n a dec:Topic . ?b a dec:Topic .
}"""
_Q_MEETINGS = _PREFIXES + """
SELECT ?x ?k ?f WHERE { ?x a ?k . VALUES ?k { dec:Forum dec:Meeting } OPTIONAL { ?x dec:meetingOf ?f } }"""

_OVERLAY_GRAPH = ox.NamedNode("urn:x-kg-link:overlay")
_LABELS = {PREFIXES["dcterms"] + "title", PREFIXES["rdfs"] + "label", PREFIXES["skos"] + "prefLabel",
           PREFIXES["skos"] + "altLabel"}
_DATE = PREFIXES["dcterms"] + "date"
_PLACE = str(DEC.place)
_ADOPTED_AT = str(DEC.adoptedAt)
_SUBJECT = PREFIXES["dcterms"] + "subject"
_REFERS_TO = str(DEC.refersTo)
_MENTIONS = str(DEC.mentions)


@dataclass(slots=True)
class DeclarationInfo:
    """A declaration as the linker sees it: its IRI, names (titles and labels, any language), years, places and
    the meetings it was adopted at."""

    iri: str
    labels: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    dates: set[dt.date] = field(default_factory=set)
    places: set[str] = field(default_factory=set)
    meetings: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return declaration_key(self.iri)

    @property
    def first_date(self) -> dt.date | None:
        return min(self.dates) if self.dates else None


@dataclass(slots=True)
class ClauseInfo:
    """A clause: its IRI, declaration, position, text, topics and what it refers to or mentions."""

    iri: str
    declaration: str
    position: int = 0
    text: str = ""
    topics: set[str] = field(default_factory=set)
    refers_to: set[str] = field(default_factory=set)
    mentions: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Corpus:
    """A snapshot: declarations and clauses by IRI, the topic hierarchy (concept -> broader concepts), and for
    each forum or meeting IRI the forums it stands for (a forum: itself; a meeting: itself and its forum)."""

    declarations: dict[str, DeclarationInfo] = field(default_factory=dict)
    clauses: dict[str, ClauseInfo] = field(default_factory=dict)
    broader: dict[str, set[str]] = field(default_factory=dict)
    forums: dict[str, set[str]] = field(default_factory=dict)

    def clauses_of(self, declaration: str) -> list[ClauseInfo]:
        """The clauses of one declaration, by position."""
        return sorted((c for c in self.clauses.values() if c.declaration == declaration), key=lambda c: c.position)

    def without(self, declaration: str) -> Corpus:
        """A copy without one declaration and its clauses (the hierarchy and forums are shared, not copied)."""
        return Corpus(
            {k: v for k, v in self.declarations.items() if k != declaration},
            {k: v for k, v in self.clauses.items() if v.declaration != declaration},
            self.broader,
            self.forums,
        )


def declaration_key(iri: str) -> str:
    """``id/declaration/{key}`` -> ``key`` (the IRI itself when it is not a declaration IRI)."""
    return iri[len(DECLARATION_BASE):] if iri.startswith(DECLARATION_BASE) else iri


def _rows(source: Store | ox.Store, query: str) -> Iterable[ox.QuerySolution]:
    """Solutions of ``query``, the default graph being the union of the named graphs."""
    if isinstance(source, ox.Store):
        return source.query(query, use_default_graph_as_union=True)  # type: ignore[return-value]
    return source.query(query)  # type: ignore[return-value]


def _read_documents(source: Store | ox.Store, corpus: Corpus) -> None:
    for row in _rows(source, _Q_DECLARATIONS):
        d, p, o = row["d"], row["p"], row["o"]
        if not isinstance(d, ox.NamedNode):
            continue
        info = corpus.declarations.setdefault(d.value, DeclarationInfo(d.value))
        if p.value in _LABELS and isinstance(o, ox.Literal):
            info.labels.add(o.value)
        elif p.value == _DATE and isinstance(o, ox.Literal):
            try:
                day = dt.date.fromisoformat(o.value[:10])
            except ValueError:
                if o.value[:4].isdigit():
                    info.years.add(int(o.value[:4]))
            else:
                info.dates.add(day)
                info.years.add(day.year)
        elif p.value == _PLACE and isinstance(o, ox.NamedNode):
            info.places.add(o.value)
        elif p.value == _ADOPTED_AT and isinstance(o, ox.NamedNode):
            info.meetings.add(o.value)
    for row in _rows(source, _Q_CLAUSES):
        c, d = row["c"], row["d"]
        if not isinstance(c, ox.NamedNode) or not isinstance(d, ox.NamedNode):
            continue
        clause = corpus.clauses.setdefault(c.value, ClauseInfo(c.value, d.value))
        pos, text = row["pos"], row["text"]
        if isinstance(pos, ox.Literal):
            try:
                clause.position = int(pos.value)
            except ValueError:
                pass
        if isinstance(text, ox.Literal):
            clause.text = text.value
    for row in _rows(source, _Q_CLAUSE_FACTS):
        c, p, o = row["c"], row["p"], row["o"]
        clause = corpus.clauses.get(c.value)
        if clause is None or not isinstance(o, ox.NamedNode):
            continue
        {_SUBJECT: clause.topics, _REFERS_TO: clause.refers_to, _MENTIONS: clause.mentions}[p.value].add(o.value)


def load_corpus(store: Store) -> Corpus:
    """Read the snapshot of every declaration, clause, topic link and forum in ``store`` (union of its graphs but
    ``graph/links``).

    Raises :class:`kg.errors.StoreError` when the store fails.
    """
    corpus = Corpus()
    _read_documents(store, corpus)
    for row in _rows(store, _Q_BROADER):
        corpus.broader.setdefault(row["n"].value, set()).add(row["b"].value)
    for row in _rows(store, _Q_MEETINGS):
        x, f = row["x"], row["f"]
        stands = corpus.forums.setdefault(x.value, {x.value})
        if isinstance(f, ox.NamedNode):
            stands.add(f.value)
    log.debug("link corpus: %d declarations, %d clauses", len(corpus.declarations), len(corpus.clauses))
    return corpus


def overlay(corpus: Corpus, declaration: str, quads: Sequence[ox.Quad] | None) -> Corpus:
    """``corpus`` with declaration ``declaration`` (IRI) replaced by what ``quads`` say of it (``None``: removed).

    The clauses of the old version are dropped; the hierarchy and forums are kept. Nothing is written anywhere.
    """
    out = corpus.without(declaration)
    if not quads:
        return out
    scratch = ox.Store()
    scratch.extend(ox.Quad(q.subject, q.predicate, q.object, _OVERLAY_GRAPH) for q in quads)
    piece = Corpus()
    _read_documents(scratch, piece)
    # Reference facts the new graph points at (a meeting's forum, the labels of a cited declaration) stay those of
    # the store; only the replaced declaration and its clauses come from the quads.
    if declaration in piece.declarations:
        out.declarations[declaration] = piece.declarations[declaration]
    else:
        out.declarations[declaration] = DeclarationInfo(declaration)
    for iri, clause in piece.clauses.items():
        if clause.declaration == declaration:
            out.clauses[iri] = replace(clause)
    return out
