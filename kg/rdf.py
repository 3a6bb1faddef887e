"""Turn a :class:`kg.extract.model.Declaration` into the quads of its named graph.

The graph of a declaration is ``graph/declaration/{key}`` (:func:`kg.namespaces.declaration_graph`). It holds:

- the declaration ``id/declaration/{key}``: ``a dec:Declaration``, ``dcterms:title`` (language-tagged),
  ``dcterms:date`` (``xsd:date``), ``dec:adoptedBy``, ``dec:adoptedAt``, ``dec:place``, ``dec:sourceText`` (the
  normalised text every offset points into) and ``dec:hasClause``;
- each clause ``id/clause/{key}/{position}``: ``a dec:Clause`` plus its materialised kinds (``dec:Commitment``,
  ``dec:Appeal``, ``dec:Recognition``, ``dec:Endorsement``), ``dec:partOf``, ``dec:position``, ``dec:text``,
  ``dec:start``/``dec:end``, ``dec:label`` (the number or bullet as printed), ``dec:section`` (UN style only), ``dec:speechAct`` or ``dec:unrecognisedAct``,
  ``dec:mentions`` (states, organisations, groups, population groups, places), ``dec:concernsRight`` (rights),
  ``dec:refersTo`` (forums, meetings, declarations) and ``dcterms:subject`` (topics);
- one evidence node ``id/evidence/{key}/{n}`` per extracted fact ``S P O`` (title, date, place, each adopter, each
  speech act, mention, topic, right and reference, in that order, clause by clause): ``a dec:Evidence;
  dec:evidenceOf S; dec:property P; dec:value O; dec:start; dec:end; dec:quote``, and ``S dec:hasEvidence E``.

Everything is a function of the declaration object alone, numbered in document order, so the same text always gives
the same (identical, not merely isomorphic) graph: there are no blank nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Triple, serialize

from kg.namespaces import DEC, PREFIXES, declaration_graph, resource_iri

if TYPE_CHECKING:
    import rdflib

    from kg.extract.model import Clause, Declaration, Span

log = logging.getLogger(__name__)

KindsOf = Callable[["Clause"], "set[str]"]


def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


_DCT = PREFIXES["dcterms"]
_XSD = PREFIXES["xsd"]
RDF_TYPE = _n(PREFIXES["rdf"] + "type")
XSD_DATE = _n(_XSD + "date")
XSD_INTEGER = _n(_XSD + "integer")

DCT_TITLE = _n(_DCT + "title")
DCT_DATE = _n(_DCT + "date")
DCT_SUBJECT = _n(_DCT + "subject")

DEC_DECLARATION = _n(str(DEC.Declaration))
DEC_CLAUSE = _n(str(DEC.Clause))
DEC_EVIDENCE = _n(str(DEC.Evidence))
DEC_ADOPTED_BY = _n(str(DEC.adoptedBy))
DEC_ADOPTED_AT = _n(str(DEC.adoptedAt))
DEC_PLACE = _n(str(DEC.place))
DEC_SOURCE_TEXT = _n(str(DEC.sourceText))
DEC_HAS_CLAUSE = _n(str(DEC.hasClause))
DEC_PART_OF = _n(str(DEC.partOf))
DEC_POSITION = _n(str(DEC.position))
DEC_TEXT = _n(str(DEC.text))
DEC_START = _n(str(DEC.start))
DEC_END = _n(str(DEC.end))
DEC_SECTION = _n(str(DEC.section))
DEC_LABEL = _n(str(DEC.label))
DEC_SPEECH_ACT = _n(str(DEC.speechAct))
DEC_UNRECOGNISED_ACT = _n(str(DEC.unrecognisedAct))
DEC_MENTIONS = _n(str(DEC.mentions))
DEC_CONCERNS_RIGHT = _n(str(DEC.concernsRight))
DEC_REFERS_TO = _n(str(DEC.refersTo))
DEC_EVIDENCE_OF = _n(str(DEC.evidenceOf))
DEC_HAS_EVIDENCE = _n(str(DEC.hasEvidence))
DEC_PROPERTY = _n(str(DEC.property))
DEC_VALUE = _n(str(DEC.value))
DEC_QUOTE = _n(str(DEC.quote))

#: The property a clause gets for each kind of entity it names.
ENTITY_PROPERTY: dict[str, NamedNode] = {
    "state": DEC_MENTIONS,
    "organisation": DEC_MENTIONS,
    "group": DEC_MENTIONS,
    "population-group": DEC_MENTIONS,
    "place": DEC_MENTIONS,
    "right": DEC_CONCERNS_RIGHT,
    "forum": DEC_REFERS_TO,
    "meeting": DEC_REFERS_TO,
    "declaration": DEC_REFERS_TO,
}


def _int(value: int) -> Literal:
    literal = _INTS.get(value)
    if literal is None:
        literal = Literal(str(value), datatype=XSD_INTEGER)
        if len(_INTS) < _INTS_MAX:
            _INTS[value] = literal
    return literal


# ``xsd:integer`` literals already made (offsets and positions repeat; pyoxigraph terms are immutable); bounded.
_INTS: dict[int, Literal] = {}
_INTS_MAX = 1 << 17


def _default_kinds_of() -> KindsOf:
    import functools

    from kg.extract import kinds_of, load_lexicon  # lazy: extraction loads its lexicons on first use

    return functools.partial(kinds_of, lexicon=load_lexicon())


class _Builder:
    """Accumulates the quads of one declaration graph and numbers its evidence nodes."""

    __slots__ = ("graph", "key", "text", "quads", "n_evidence", "evidence_prefix")

    def __init__(self, key: str, text: str) -> None:
        self.graph = _n(declaration_graph(key))
        self.key = key
        self.text = text
        self.quads: list[Quad] = []
        self.n_evidence = 0
        # resource_iri("evidence", key, n) for any n >= 1 (the key is checked here, once; a number always passes)
        self.evidence_prefix = resource_iri("evidence", key, 1)[:-1]

    def add(self, s: NamedNode, p: NamedNode, o: NamedNode | Literal) -> None:
        self.quads.append(Quad(s, p, o, self.graph))

    def fact(self, s: NamedNode, p: NamedNode, o: NamedNode | Literal, span: Span | None) -> None:
        """Add ``s p o`` and, when the span is known, its evidence node."""
        g = self.graph
        append = self.quads.append
        append(Quad(s, p, o, g))
        if span is None:
            return
        self.n_evidence += 1
        e = NamedNode(self.evidence_prefix + str(self.n_evidence))
        start, end = span.start, span.end
        append(Quad(e, RDF_TYPE, DEC_EVIDENCE, g))
        append(Quad(e, DEC_EVIDENCE_OF, s, g))
        append(Quad(e, DEC_PROPERTY, p, g))
        append(Quad(e, DEC_VALUE, o, g))
        append(Quad(e, DEC_START, _int(start), g))
        append(Quad(e, DEC_END, _int(end), g))
        append(Quad(e, DEC_QUOTE, Literal(self.text[start:end]), g))
        append(Quad(s, DEC_HAS_EVIDENCE, e, g))


def declaration_quads(decl: Declaration, *, kinds_of: KindsOf | None = None) -> list[Quad]:
    """The quads of ``decl``'s named graph, all in graph ``graph/declaration/{decl.key}``.

    ``kinds_of(clause)`` gives the IRIs of the kind classes of a clause (``dec:Commitment`` ...); by default
    :func:`kg.extract.kinds_of`, which reads them from the speech-act scheme. Returns a list in a deterministic
    order. Raises ``ValueError`` for a key or an IRI that is not a valid resource key.
    """
    if kinds_of is None:
        kinds_of = _default_kinds_of()
    key = decl.key
    b = _Builder(key, decl.text)
    d = _n(resource_iri("declaration", key))
    lang = decl.language or "en"
    b.add(d, RDF_TYPE, DEC_DECLARATION)
    b.fact(d, DCT_TITLE, Literal(decl.title, language=lang), decl.title_span)
    if decl.date is not None:
        b.fact(d, DCT_DATE, Literal(decl.date.isoformat(), datatype=XSD_DATE), decl.date_span)
    if decl.place is not None:
        b.fact(d, DEC_PLACE, _n(decl.place), decl.place_span)
    for adopter in decl.adopters:
        b.fact(d, DEC_ADOPTED_BY, _n(adopter.iri), adopter.span)
    if decl.meeting is not None:
        b.add(d, DEC_ADOPTED_AT, _n(decl.meeting))
    b.add(d, DEC_SOURCE_TEXT, Literal(decl.text))

    for clause in decl.clauses:
        c = _n(resource_iri("clause", key, clause.position))
        b.add(d, DEC_HAS_CLAUSE, c)
        b.add(c, RDF_TYPE, DEC_CLAUSE)
        for kind in sorted(kinds_of(clause)):
            b.add(c, RDF_TYPE, _n(kind))
        b.add(c, DEC_PART_OF, d)
        b.add(c, DEC_POSITION, _int(clause.position))
        b.add(c, DEC_TEXT, Literal(clause.text))
        b.add(c, DEC_START, _int(clause.span.start))
        b.add(c, DEC_END, _int(clause.span.end))
        if clause.label is not None:
            b.add(c, DEC_LABEL, Literal(clause.label))
        if clause.section is not None:
            b.add(c, DEC_SECTION, Literal(clause.section))
        for act in clause.speech_acts:
            if act.concept is not None:
                b.fact(c, DEC_SPEECH_ACT, _n(act.concept), act.span)
            else:
                b.fact(c, DEC_UNRECOGNISED_ACT, Literal(act.lemma), act.span)
        for mention in clause.entities:
            prop = ENTITY_PROPERTY.get(mention.kind)
            if prop is None:
                log.warning("clause %s: entity kind %r has no property; %s dropped", c.value, mention.kind, mention.iri)
                continue
            b.fact(c, prop, _n(mention.iri), mention.span)
        for topic in clause.topics:
            b.fact(c, DCT_SUBJECT, _n(topic.concept), topic.span)
    return b.quads


def declaration_triples(decl: Declaration, *, kinds_of: KindsOf | None = None) -> list[Triple]:
    """The triples of ``decl``'s named graph (see :func:`declaration_quads`), without the graph name."""
    return [q.triple for q in declaration_quads(decl, kinds_of=kinds_of)]


def to_rdflib(statements: Iterable[Triple | Quad]) -> rdflib.Graph:
    """An rdflib graph of the given triples or quads (graph names dropped), for comparisons in tests and tools."""
    import rdflib

    triples = [s.triple if isinstance(s, Quad) else s for s in statements]
    data = serialize(triples, format=RdfFormat.N_TRIPLES)
    graph = rdflib.Graph()
    graph.parse(data=data, format="nt")
    return graph
