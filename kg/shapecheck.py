"""Fast SHACL validation of one declaration graph at a time.

pySHACL takes seconds per declaration (with the reference data in the data graph); ingestion needs milliseconds.
:class:`ShapeChecker` reads ``ontology/shapes.ttl`` once and turns every shape into Python predicates over in-memory
indexes of the declaration's triples and a fixed context (ontology, schemes, reference data). SPARQL-based
constraints (``sh:sparql``) are evaluated by :mod:`kg.minisparql` over the same indexes with ``$this`` pre-bound;
one it cannot evaluate runs on an in-memory Oxigraph store holding the triples it can match
(:func:`predicates_used`).

What is checked: the nodes the declaration's graph describes (the subjects of its triples) that are targets of a
shape (``sh:targetClass`` with ``rdfs:subClassOf*`` from the context, ``sh:targetNode``, ``sh:targetSubjectsOf``,
``sh:targetObjectsOf``), against the SHACL Core components ``sh:class``, ``sh:datatype``, ``sh:nodeKind``, ``sh:in``,
``sh:hasValue``, ``sh:pattern``/``sh:flags``, ``sh:minLength``/``sh:maxLength``, ``sh:min/maxInclusive/Exclusive``,
``sh:minCount``/``sh:maxCount``, ``sh:uniqueLang``, ``sh:languageIn``, ``sh:equals``, ``sh:disjoint``, ``sh:lessThan``,
``sh:lessThanOrEquals``, ``sh:node``, ``sh:and``, ``sh:or``, ``sh:not``, ``sh:xone``, every SHACL path, and
SPARQL-based constraints (``sh:select`` with ``sh:prefixes``). Reference entities are not re-checked per declaration
(``kg validate`` does that); whether a reference entity conforms to a shape named by ``sh:node`` is worked out once,
on the context alone. Results carry the shape's ``sh:message`` (``{?var}``/``{$this}`` filled in).

A shapes file that uses anything else (``sh:closed``, ``sh:qualifiedValueShape``, SPARQL constraints inside logical
constraints...) is not compiled: the checker then runs pySHACL on the same data and keeps the results about the same focus
nodes, slower but complete. The tests check that both give the same results on the seed and on broken variants of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib import URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD

from kg.minisparql import Select, compile_select
from kg.minisparql import Unsupported as MiniUnsupported

log = logging.getLogger(__name__)

DATA_GRAPH = "urn:kg:shapecheck:data"
CONTEXT_GRAPH = "urn:kg:shapecheck:context"
FOCUS_GRAPH = "urn:kg:shapecheck:focus"
FOCUS_OF = "urn:kg:shapecheck:focusOf"
_DATA = ox.NamedNode(DATA_GRAPH)
_CONTEXT = ox.NamedNode(CONTEXT_GRAPH)
_FOCUS = ox.NamedNode(FOCUS_GRAPH)
_FOCUS_OF = ox.NamedNode(FOCUS_OF)
_SEVERITY = {str(SH.Violation): "Violation", str(SH.Warning): "Warning", str(SH.Info): "Info"}
_MAX_DEPTH = 8
_NUMERIC = {
    str(XSD[t])
    for t in (
        "integer", "decimal", "double", "float", "long", "int", "short", "byte", "nonNegativeInteger",
        "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedLong", "unsignedInt", "unsignedShort",
        "unsignedByte",
    )
}
_TEMPORAL = {str(XSD.date), str(XSD.dateTime), str(XSD.gYear), str(XSD.time)}

# Terms inside the checker are plain Python values, cheap to hash and compare: an IRI is its string, a blank node
# "_:" + its id, a literal the tuple (lexical form, datatype IRI, language tag or None).
Term = str | tuple[str, str, str | None]
_RDF_TYPE_S = str(RDF.type)
_SUBCLASS_S = str(RDFS.subClassOf)
_XSD_STRING = str(XSD.string)


_NAMED_NODE = ox.NamedNode
_LITERAL = ox.Literal


def native(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Term:
    """The checker's form of a pyoxigraph term."""
    kind = type(term)
    if kind is _NAMED_NODE:
        return term.value
    if kind is _LITERAL:
        return (term.value, term.datatype.value, term.language)  # type: ignore[union-attr]
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.Literal):
        return (term.value, term.datatype.value, term.language)
    return "_:" + term.value


def _triples(statements: Iterable[Statement]) -> Iterable[tuple[str, str, Term]]:
    """The statements (quads or triples) as the checker's triples (graph names dropped)."""
    for st in statements:
        s, o = st.subject, st.object
        kind = type(o)
        yield (
            s.value if type(s) is _NAMED_NODE else native(s),  # type: ignore[misc]
            st.predicate.value,
            o.value if kind is _NAMED_NODE else (
                (o.value, o.datatype.value, o.language) if kind is _LITERAL else native(o)  # type: ignore[union-attr]
            ),
        )


def to_term(value: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term of a checker value (inverse of :func:`native`)."""
    if isinstance(value, tuple):
        lexical, datatype, language = value
        return ox.Literal(lexical, language=language) if language else ox.Literal(lexical, datatype=ox.NamedNode(datatype))
    if value.startswith("_:"):
        return ox.BlankNode(value[2:])
    return ox.NamedNode(value)


def _is_iri(v: Term) -> bool:
    return isinstance(v, str) and not v.startswith("_:")


def _is_blank(v: Term) -> bool:
    return isinstance(v, str) and v.startswith("_:")


def _lexical(v: Term) -> str:
    return v[0] if isinstance(v, tuple) else v


class Unsupported(Exception):
    """A shape uses a SHACL feature this checker does not evaluate."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One result: the node that fails, the message (the shape's ``sh:message`` with its ``{?var}`` filled in),
    the severity (``Violation``, ``Warning`` or ``Info``) and the shape (IRI, or a blank-node label)."""

    focus: str
    message: str
    severity: str = "Violation"
    shape: str = ""

    def __str__(self) -> str:
        return f"<{self.focus}>: {self.message}"


class _Index:
    """Forward and backward adjacency of a set of triples: ``out[s][p] -> [o]``, ``inv[o][p] -> [s]``."""

    __slots__ = ("out", "inv", "_by_predicate")

    def __init__(self, triples: Iterable[tuple[str, str, Term]] = ()) -> None:
        self.out: dict[str, dict[str, list[Term]]] = {}
        self.inv: dict[Term, dict[str, list[str]]] = {}
        self._by_predicate: dict[str, list[tuple[str, Term]]] | None = None
        out, inv = self.out, self.inv
        for s, p, o in triples:
            po = out.get(s)
            if po is None:
                po = out[s] = {}
            objs = po.get(p)
            if objs is None:
                po[p] = [o]
            else:
                objs.append(o)
            ps = inv.get(o)
            if ps is None:
                ps = inv[o] = {}
            subs = ps.get(p)
            if subs is None:
                ps[p] = [s]
            else:
                subs.append(s)


    def pairs(self, p: str) -> list[tuple[str, Term]]:
        """Every (subject, object) with predicate ``p`` (an index by predicate, built on first use)."""
        if self._by_predicate is None:
            by_p: dict[str, list[tuple[str, Term]]] = {}
            for s, po in self.out.items():
                for pred, objs in po.items():
                    by_p.setdefault(pred, []).extend((s, o) for o in objs)
            self._by_predicate = by_p
        return self._by_predicate.get(p, [])


_EMPTY: dict[str, list] = {}  # type: ignore[type-arg]


class _View:
    """The union of one declaration's index, its extra context and the fixed context, as the tests see it."""

    __slots__ = ("indexes", "data", "types_cache", "sparql_ok", "shared", "only_context")

    def __init__(self, data: _Index, *context: _Index) -> None:
        self.sparql_ok: Callable[[str, Term], bool] = lambda shape, v: True
        self.data = data
        self.indexes = (data, *context)
        self.types_cache: dict[Term, set[Term]] = {}
        # Subjects described in more than one index need merging; the others are looked up in one dict.
        self.shared: set[str] = set()
        for index in context:
            self.shared |= data.out.keys() & index.out.keys()
        self.only_context = context[0] if len(context) == 1 else None

    def objects(self, s: Term, p: str) -> Sequence[Term]:
        po = self.data.out.get(s)  # type: ignore[call-overload]
        if po is not None:
            if s not in self.shared:
                return po.get(p, ())
        elif self.only_context is not None:
            return self.only_context.out.get(s, _EMPTY).get(p, ())  # type: ignore[call-overload]
        found: list[Term] = []
        parts = 0
        for index in self.indexes:
            values = index.out.get(s, _EMPTY).get(p)  # type: ignore[call-overload]
            if values:
                parts += 1
                found = values if parts == 1 else found + values
        return found if parts < 2 else list(dict.fromkeys(found))

    def subjects(self, p: str, o: Term) -> list[Term]:
        found: list[Term] = []
        parts = 0
        for index in self.indexes:
            values = index.inv.get(o, _EMPTY).get(p)
            if values:
                parts += 1
                found = values if parts == 1 else found + values
        return found if parts < 2 else list(dict.fromkeys(found))

    def pairs(self, p: str) -> list[tuple[Term, Term]]:
        """Every (subject, object) with predicate ``p`` in the union."""
        found: list[tuple[Term, Term]] = []
        parts = 0
        for index in self.indexes:
            values = index.pairs(p)
            if values:
                parts += 1
                found = values if parts == 1 else found + values
        return found if parts < 2 else list(dict.fromkeys(found))

    def described(self, node: Term) -> bool:
        """Whether the declaration's own triples describe ``node``."""
        return node in self.data.out

    def is_instance(self, node: Term, classes: frozenset[str]) -> bool:
        types = self.types_cache.get(node)
        if types is None:
            types = set(self.objects(node, _RDF_TYPE_S))
            self.types_cache[node] = types
        return not types.isdisjoint(classes)


# A path evaluator: (view, node) -> value nodes.
PathFn = Callable[[_View, Term], list[Term]]
# A node test: (view, node, depth) -> conforms?
NodeTest = Callable[[_View, Term], bool]


def _numeric(lit: tuple[str, str, str | None]) -> Decimal | float | None:
    if lit[1] in _NUMERIC:
        try:
            return Decimal(lit[0])
        except InvalidOperation:
            try:
                return float(lit[0])
            except ValueError:
                return None
    return None


def _compare(a: Term, b: Term) -> int | None:
    """-1/0/1 for comparable literals (numbers, same-typed dates, plain strings), else ``None``."""
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        return None
    na, nb = _numeric(a), _numeric(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    if a[1] == b[1] and (a[1] in _TEMPORAL or a[1] == _XSD_STRING) and not a[2] and not b[2]:
        return (a[0] > b[0]) - (a[0] < b[0])
    return None


def _from_rdflib(term: rdflib.term.Node) -> Term:
    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, rdflib.Literal):
        if term.language:
            return (str(term), str(RDF.langString), term.language)
        return (str(term), str(term.datatype or XSD.string), None)
    raise Unsupported("blank node used as a value in a shape")


@dataclass(frozen=True, slots=True)
class _Check:
    """One top-level constraint group: the message explaining it and the test it runs on a focus node."""

    message: str
    severity: str
    shape: str
    test: NodeTest


@dataclass(slots=True)
class _Plan:
    """A shape with targets: what it targets and its checks."""

    shape: str
    classes: frozenset[str]
    nodes: frozenset[str]
    subjects_of: tuple[str, ...]
    objects_of: tuple[str, ...]
    checks: list[_Check]
    sparql: list[tuple[int, str]]  # (index of the SPARQL check in the checker's list, SELECT text with ?this)


def _all_of(tests: list[NodeTest]) -> NodeTest:
    """A test passing when every one of ``tests`` passes (in order, stopping at the first failure)."""
    if len(tests) == 1:
        return tests[0]

    def all_of(view: _View, v: Term) -> bool:
        for t in tests:
            if not t(view, v):
                return False
        return True

    return all_of


def _each_value(path: PathFn, tests: list[NodeTest]) -> NodeTest:
    """A test on a focus node passing when every value node on ``path`` passes every one of ``tests``."""
    if len(tests) == 1:
        test = tests[0]

        def each_value_one(view: _View, f: Term) -> bool:
            for v in path(view, f):
                if not test(view, v):
                    return False
            return True

        return each_value_one

    def each_value(view: _View, f: Term) -> bool:
        for v in path(view, f):
            for t in tests:
                if not t(view, v):
                    return False
        return True

    return each_value


class _Compiler:
    """Translates a shapes graph into Python predicates and SPARQL selects."""

    _KNOWN = {
        SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.message, SH.severity,
        SH.name, SH.description, SH.order, SH.group, SH.defaultValue, SH.property, SH.sparql, SH.path,
        SH.deactivated, SH["class"], SH.datatype, SH.nodeKind, SH["in"], SH.hasValue, SH.pattern, SH.flags,
        SH.minLength, SH.maxLength, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive,
        SH.minCount, SH.maxCount, SH.uniqueLang, SH.languageIn, SH.equals, SH.disjoint, SH.lessThan,
        SH.lessThanOrEquals, SH.node, SH["and"], SH["or"], SH["not"], SH.xone, RDF.type, RDFS.label, RDFS.comment,
        SH.declare, SH.prefixes,
    }

    def __init__(self, shapes: rdflib.Graph, subclasses: Callable[[str], frozenset[str]]) -> None:
        self.g = shapes
        self.subclasses = subclasses
        self.prefixes: dict[str, str] = {}
        self.node_tests: dict[rdflib.term.Node, NodeTest] = {}
        self.sparql_selects: list[tuple[str, str, str, str]] = []  # (shape, message, severity, select text)
        self.nested_sparql: dict[str, list[str]] = {}  # shape IRI -> its SELECTs (for sh:node use)

    def one(self, node: rdflib.term.Node, prop: URIRef) -> rdflib.term.Node | None:
        values = list(self.g.objects(node, prop))
        if len(values) > 1:
            raise Unsupported(f"several values of {prop} on one shape")
        return values[0] if values else None

    def items(self, node: rdflib.term.Node) -> list[rdflib.term.Node]:
        return list(Collection(self.g, node))

    def deactivated(self, node: rdflib.term.Node) -> bool:
        return self.one(node, SH.deactivated) == rdflib.Literal(True)

    # -- paths ----------------------------------------------------------------------------------------------
    def path(self, node: rdflib.term.Node) -> PathFn:
        if isinstance(node, URIRef):
            p = str(node)
            return lambda view, n: view.objects(n, p)
        if (node, RDF.first, None) in self.g:
            steps = [self.path(x) for x in self.items(node)]

            def sequence(view: _View, n: Term) -> list[Term]:
                current = [n]
                for step in steps:
                    current = list(dict.fromkeys(v for c in current for v in step(view, c)))
                return current

            return sequence
        inverse = self.one(node, SH.inversePath)
        if inverse is not None:
            if not isinstance(inverse, URIRef):
                raise Unsupported("sh:inversePath of a complex path")
            p = str(inverse)
            return lambda view, n: view.subjects(p, n)
        alternative = self.one(node, SH.alternativePath)
        if alternative is not None:
            options = [self.path(x) for x in self.items(alternative)]
            return lambda view, n: list(dict.fromkeys(v for o in options for v in o(view, n)))
        for prop, include_self, repeat in (
            (SH.zeroOrMorePath, True, True),
            (SH.oneOrMorePath, False, True),
            (SH.zeroOrOnePath, True, False),
        ):
            inner_node = self.one(node, prop)
            if inner_node is not None:
                inner = self.path(inner_node)

                def closure(view: _View, n: Term, inner: PathFn = inner, include_self: bool = include_self,
                            repeat: bool = repeat) -> list[Term]:
                    seen: dict[Term, None] = {n: None} if include_self else {}
                    frontier = [n]
                    while frontier:
                        nxt = []
                        for c in frontier:
                            for v in inner(view, c):
                                if v not in seen:
                                    seen[v] = None
                                    nxt.append(v)
                        frontier = nxt if repeat else []
                    return list(seen)

                return closure
        raise Unsupported(f"unknown path form {node!r}")

    # -- value tests ------------------------------------------------------------------------------------------
    def value_tests(self, shape: rdflib.term.Node, depth: int) -> list[NodeTest]:
        """Tests on a value node itself (value type, range, string and logical components)."""
        if depth > _MAX_DEPTH:
            raise Unsupported("shapes nested too deep (recursive sh:node?)")
        for p in set(self.g.predicates(shape, None)):
            if p not in self._KNOWN:
                raise Unsupported(f"{p} on shape {shape}")
        g = self.g
        tests: list[NodeTest] = []
        for cls in g.objects(shape, SH["class"]):
            closure = self.subclasses(str(cls))
            tests.append(lambda view, v, closure=closure: view.is_instance(v, closure))
        for dt in g.objects(shape, SH.datatype):
            dtn = str(dt)
            tests.append(lambda view, v, dtn=dtn: isinstance(v, tuple) and v[1] == dtn)
        for kind in g.objects(shape, SH.nodeKind):
            kinds: dict[rdflib.term.Node, Callable[[Term], bool]] = {
                SH.IRI: _is_iri,
                SH.BlankNode: _is_blank,
                SH.Literal: lambda v: isinstance(v, tuple),
                SH.BlankNodeOrIRI: lambda v: isinstance(v, str),
                SH.BlankNodeOrLiteral: lambda v: not _is_iri(v),
                SH.IRIOrLiteral: lambda v: not _is_blank(v),
            }
            if kind not in kinds:
                raise Unsupported(f"sh:nodeKind {kind}")
            tests.append(lambda view, v, kind_test=kinds[kind]: kind_test(v))
        for lst in g.objects(shape, SH["in"]):
            members = frozenset(_from_rdflib(m) for m in self.items(lst))
            tests.append(lambda view, v, members=members: v in members)
        if self.one(shape, SH.path) is None:
            for value in g.objects(shape, SH.hasValue):
                target = _from_rdflib(value)
                tests.append(lambda view, v, target=target: v == target)
        for pattern in g.objects(shape, SH.pattern):
            flags = str(self.one(shape, SH.flags) or "")
            re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0) | (re.S if "s" in flags else 0)
            rx = re.compile(str(pattern), re_flags)
            tests.append(lambda view, v, rx=rx: not _is_blank(v) and rx.search(_lexical(v)) is not None)
        for n in g.objects(shape, SH.minLength):
            tests.append(lambda view, v, n=int(n): not _is_blank(v) and len(_lexical(v)) >= n)
        for n in g.objects(shape, SH.maxLength):
            tests.append(lambda view, v, n=int(n): not _is_blank(v) and len(_lexical(v)) <= n)
        for prop, ok in (
            (SH.minInclusive, (0, 1)),
            (SH.maxInclusive, (-1, 0)),
            (SH.minExclusive, (1,)),
            (SH.maxExclusive, (-1,)),
        ):
            for bound in g.objects(shape, prop):
                b = _from_rdflib(bound)
                tests.append(lambda view, v, b=b, ok=ok: _compare(v, b) in ok)
        for lst in g.objects(shape, SH.languageIn):
            tags = [str(t).lower() for t in self.items(lst)]

            def lang_in(view: _View, v: Term, tags: list[str] = tags) -> bool:
                if not isinstance(v, tuple) or not v[2]:
                    return False
                lang = v[2].lower()
                return any(lang == t or lang.startswith(t + "-") or t == "*" for t in tags)

            tests.append(lang_in)
        for other in g.objects(shape, SH.node):
            tests.append(self.node_test(other, depth + 1))
        for lst in g.objects(shape, SH["and"]):
            parts = [self.node_test(s, depth + 1) for s in self.items(lst)]
            tests.append(lambda view, v, parts=parts: all(t(view, v) for t in parts))
        for lst in g.objects(shape, SH["or"]):
            parts = [self.node_test(s, depth + 1) for s in self.items(lst)]
            tests.append(lambda view, v, parts=parts: any(t(view, v) for t in parts))
        for s in g.objects(shape, SH["not"]):
            part = self.node_test(s, depth + 1)
            tests.append(lambda view, v, part=part: not part(view, v))
        for lst in g.objects(shape, SH.xone):
            parts = [self.node_test(s, depth + 1) for s in self.items(lst)]
            tests.append(lambda view, v, parts=parts: sum(1 for t in parts if t(view, v)) == 1)
        return tests

    def property_tests(self, prop_shape: rdflib.term.Node, depth: int) -> list[NodeTest]:
        """Tests on a focus node for one property shape (counts, pair components, each value's tests)."""
        g = self.g
        path_node = self.one(prop_shape, SH.path)
        if path_node is None:
            raise Unsupported(f"property shape {prop_shape} without sh:path")
        if (prop_shape, SH.sparql, None) in g:
            raise Unsupported("sh:sparql inside a property shape")
        path = self.path(path_node)
        tests: list[NodeTest] = []
        lo = self.one(prop_shape, SH.minCount)
        hi = self.one(prop_shape, SH.maxCount)
        if lo is not None and int(lo) > 0:
            tests.append(lambda view, f, n=int(lo): len(path(view, f)) >= n)
        if hi is not None:
            tests.append(lambda view, f, n=int(hi): len(path(view, f)) <= n)
        for value in g.objects(prop_shape, SH.hasValue):
            target = _from_rdflib(value)
            tests.append(lambda view, f, target=target: target in path(view, f))
        unique = self.one(prop_shape, SH.uniqueLang)
        if unique is not None and unique.toPython() is True:

            def unique_lang(view: _View, f: Term) -> bool:
                langs = [v[2].lower() for v in path(view, f) if isinstance(v, tuple) and v[2]]
                return len(langs) == len(set(langs))

            tests.append(unique_lang)
        for other in g.objects(prop_shape, SH.equals):
            q = str(other)
            tests.append(lambda view, f, q=q: set(path(view, f)) == set(view.objects(f, q)))
        for other in g.objects(prop_shape, SH.disjoint):
            q = str(other)
            tests.append(lambda view, f, q=q: set(path(view, f)).isdisjoint(view.objects(f, q)))
        for prop, ok in ((SH.lessThan, (-1,)), (SH.lessThanOrEquals, (-1, 0))):
            for other in g.objects(prop_shape, prop):
                q = str(other)
                tests.append(
                    lambda view, f, q=q, ok=ok: all(
                        _compare(a, b) in ok for a in path(view, f) for b in view.objects(f, q)
                    )
                )
        value_tests = self.value_tests(prop_shape, depth)
        if value_tests:
            tests.append(_each_value(path, value_tests))
        return tests

    def node_test(self, shape: rdflib.term.Node, depth: int) -> NodeTest:
        """Whether a node conforms to ``shape`` (a node shape or a property shape)."""
        if shape in self.node_tests:
            return self.node_tests[shape]
        if depth > _MAX_DEPTH:
            raise Unsupported("shapes nested too deep (recursive sh:node?)")
        if self.one(shape, SH.path) is not None:
            tests = self.property_tests(shape, depth)
        else:
            tests = self.value_tests(shape, depth)
            for prop_shape in self.g.objects(shape, SH.property):
                if not self.deactivated(prop_shape):
                    tests.extend(self.property_tests(prop_shape, depth + 1))
        sparql = [self.select_text(c) for c in self.g.objects(shape, SH.sparql) if not self.deactivated(c)]
        if sparql:
            if not isinstance(shape, URIRef):
                raise Unsupported("sh:sparql in an unnamed shape used by sh:node or a logical constraint")
            self.nested_sparql[str(shape)] = sparql
            key = str(shape)
            tests.append(lambda view, v, key=key: view.sparql_ok(key, v))

        conforms = _all_of(tests)
        self.node_tests[shape] = conforms
        return conforms

    def select_text(self, constraint: rdflib.term.Node) -> str:
        """The ``sh:select`` of a SPARQL constraint, ``$this`` as ``?this``; records its ``sh:prefixes``."""
        select = self.one(constraint, SH.select)
        if select is None:
            raise Unsupported("sh:sparql without sh:select")
        for decl_node in self.g.objects(constraint, SH.prefixes):
            for d in self.g.objects(decl_node, SH.declare):
                prefix, ns = str(self.one(d, SH.prefix)), str(self.one(d, SH.namespace))
                if self.prefixes.setdefault(prefix, ns) != ns:
                    raise Unsupported(f"prefix {prefix}: declared with two namespaces")
        text = re.sub(r"\$this\b", "?this", str(select))
        if re.search(r"\$\w+", text):
            raise Unsupported("pre-bound variables other than $this")
        return text

    def message(self, nodes: list[rdflib.term.Node], fallback: str) -> tuple[str, str]:
        message = next((m for n in nodes if (m := self.one(n, SH.message)) is not None), None)
        severity = next((s for n in nodes if (s := self.one(n, SH.severity)) is not None), None)
        return (
            str(message) if message is not None else fallback,
            _SEVERITY.get(str(severity), "Violation") if severity is not None else "Violation",
        )

    def compile(self) -> list[_Plan]:
        g = self.g
        plans: list[_Plan] = []
        shapes = set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type, SH.PropertyShape))
        for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
            shapes |= set(g.subjects(p, None))
        for shape in sorted(shapes, key=str):
            if self.deactivated(shape):
                continue
            classes = frozenset(c for cls in g.objects(shape, SH.targetClass) for c in self.subclasses(str(cls)))
            nodes = frozenset(str(n) for n in g.objects(shape, SH.targetNode))
            subjects_of = tuple(str(p) for p in g.objects(shape, SH.targetSubjectsOf))
            objects_of = tuple(str(p) for p in g.objects(shape, SH.targetObjectsOf))
            if not (classes or nodes or subjects_of or objects_of):
                continue
            name = shape.n3() if isinstance(shape, URIRef) else "a shape"
            plan = _Plan(str(shape), classes, nodes, subjects_of, objects_of, [], [])
            if self.one(shape, SH.path) is not None:
                message, severity = self.message([shape], f"{name} not satisfied")
                tests = self.property_tests(shape, 0)
                plan.checks.append(_Check(message, severity, str(shape), _all_of(tests)))
            else:
                node_tests = self.value_tests(shape, 0)
                if node_tests:
                    message, severity = self.message([shape], f"{name} not satisfied")
                    plan.checks.append(
                        _Check(message, severity, str(shape), _all_of(node_tests))
                    )
                for prop_shape in g.objects(shape, SH.property):
                    if self.deactivated(prop_shape):
                        continue
                    tests = self.property_tests(prop_shape, 1)
                    message, severity = self.message([prop_shape, shape], f"{name}: a property constraint failed")
                    plan.checks.append(
                        _Check(message, severity, str(prop_shape), _all_of(tests))
                    )
            for constraint in g.objects(shape, SH.sparql):
                if self.deactivated(constraint):
                    continue
                message, severity = self.message([constraint, shape], "SPARQL constraint failed")
                plan.sparql.append((len(self.sparql_selects), self.select_text(constraint)))
                self.sparql_selects.append((str(shape), message, severity, self.select_text(constraint)))
            plans.append(plan)
        return plans

    def prologue(self) -> str:
        return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(self.prefixes.items()))


_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")


def _shown(term: Term | ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
    if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return term.value
    return _lexical(term)


def _fill(message: str, solution: ox.QuerySolution | dict[str, Term] | None, focus: Term) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "this":
            return _shown(focus)
        if solution is None:
            term = None
        elif isinstance(solution, dict):
            term = solution.get(name)
        else:
            term = solution[name]
        return match.group(0) if term is None else _shown(term)

    return _PLACEHOLDER.sub(value, message)


Statement = ox.Quad | ox.Triple


def predicates_used(query: str) -> set[str] | None:
    """The IRIs a SPARQL query can match as predicates, or ``None`` when it may match any (a variable or a
    negated property set in predicate position, or a query rdflib cannot translate)."""
    from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.term import Variable

    try:
        algebra = translateQuery(parseQuery(query)).algebra
    except Exception:  # noqa: BLE001 - any failure only means "load everything"
        return None
    found: set[str] = set()

    def predicate(p: object) -> bool:
        if isinstance(p, URIRef):
            found.add(str(p))
            return True
        if isinstance(p, (SequencePath, AlternativePath)):
            return all(predicate(a) for a in p.args)
        if isinstance(p, InvPath):
            return predicate(p.arg)
        if isinstance(p, MulPath):
            return predicate(p.path)
        if isinstance(p, (Variable, NegatedPath)):
            return False
        return False

    def walk(node: object) -> bool:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "triples":
                    for triple in value:
                        if len(triple) != 3 or not predicate(triple[1]):
                            return False
                elif not walk(value):
                    return False
        elif isinstance(node, (list, tuple)):
            return all(walk(x) for x in node)
        return True

    return found if walk(algebra) else None


class ShapeChecker:
    """Validates declaration graphs against a shapes file, over a fixed context (ontology, schemes, reference).

    ``shapes``: a path to a Turtle file or an rdflib graph. ``context``: the quads or triples every check sees
    beside the declaration (graph names are ignored). Raises ``rdflib`` parse errors for a broken shapes file.
    Not thread-safe: one checker per thread or process.
    """

    def __init__(self, shapes: Path | rdflib.Graph, context: Iterable[Statement] = ()) -> None:
        if isinstance(shapes, rdflib.Graph):
            self.shapes = shapes
        else:
            self.shapes = rdflib.Graph().parse(str(shapes), format="turtle")
        context = list(context)
        self._store = ox.Store()
        self._store.extend(ox.Quad(s.subject, s.predicate, s.object, _CONTEXT) for s in context)
        self._ctx = _Index(_triples(context))  # type: ignore[misc]
        self._subclass_cache: dict[str, frozenset[str]] = {}
        self.reason_not_compiled = ""
        self._rdflib_context: rdflib.Graph | None = None
        compiler = _Compiler(self.shapes, self._subclasses)
        try:
            self._plans: list[_Plan] | None = compiler.compile()
            self._sparql = compiler.sparql_selects
            self._nested_sparql = compiler.nested_sparql
            self._prologue = compiler.prologue()
            self._context_violations = self._run_nested_on_context()
            self._compiled_sparql: dict[int, Select] = {}
            for i, (_, _, _, text) in enumerate(self._sparql):
                try:
                    self._compiled_sparql[i] = compile_select(self._prologue + text)
                except MiniUnsupported as exc:
                    log.info("SPARQL constraint %d runs on Oxigraph: %s", i, exc)
            self._sparql_queries = [
                [(i, self._sparql_query(k, text)) for i, text in plan.sparql if i not in self._compiled_sparql]
                for k, plan in enumerate(self._plans)
            ]
            # Only the triples the SPARQL constraints can match are copied into the store for them.
            needed: set[str] | None = {FOCUS_OF}
            for queries in self._sparql_queries:
                for _, query in queries:
                    used = predicates_used(query)
                    needed = None if used is None or needed is None else needed | used
            self._sparql_predicates = needed
            for queries in self._sparql_queries:  # parse each SPARQL constraint now, so a bad one fails here
                for _, query in queries:
                    ox.Store().query(query)
        except (Unsupported, SyntaxError) as exc:
            log.warning("SHACL shapes not compiled (%s); validating with pySHACL instead (slower)", exc)
            self._plans = None
            self.reason_not_compiled = str(exc)

    @property
    def compiled(self) -> bool:
        """Whether the fast path is in use (``False``: pySHACL is)."""
        return self._plans is not None

    def _subclasses(self, cls: str) -> frozenset[str]:
        """``cls`` and its subclasses in the context (``rdfs:subClassOf*``)."""
        if cls not in self._subclass_cache:
            seen = {cls}
            frontier = [cls]
            while frontier:
                nxt = []
                for c in frontier:
                    for sub in self._ctx.inv.get(c, _EMPTY).get(_SUBCLASS_S, []):
                        if _is_iri(sub) and sub not in seen:
                            seen.add(sub)
                            nxt.append(sub)
                frontier = nxt
            self._subclass_cache[cls] = frozenset(seen)
        return self._subclass_cache[cls]

    def _run_nested_on_context(self) -> dict[str, set[Term]]:
        """For shapes with SPARQL constraints used through ``sh:node``: the context nodes that violate them."""
        out: dict[str, set[Term]] = {}
        for shape, selects in self._nested_sparql.items():
            bad: set[Term] = set()
            for text in selects:
                for row in self._store.query(self._prologue + text, default_graph=[_CONTEXT]):
                    if row["this"] is not None:
                        bad.add(native(row["this"]))
            out[shape] = bad
        return out

    def _sparql_query(self, plan: int, select: str) -> str:
        """A SPARQL constraint's select joined with the focus nodes of its plan."""
        focus = f"GRAPH <{FOCUS_GRAPH}> {{ ?this <{FOCUS_OF}> <{FOCUS_GRAPH}:{plan}> }}"
        return f"{self._prologue}SELECT * WHERE {{ {focus} {{ {select} }} }}"

    def _focus(self, view: _View) -> list[tuple[int, list[str]]]:
        """Per plan, the nodes the data describes that its shape targets."""
        data = view.data
        types = {s: set(view.objects(s, _RDF_TYPE_S)) for s in data.out}
        out = []
        assert self._plans is not None
        for k, plan in enumerate(self._plans):
            focus: dict[str, None] = {}
            if plan.classes:
                focus.update((s, None) for s, ts in types.items() if not ts.isdisjoint(plan.classes))
            focus.update((n, None) for n in plan.nodes if n in data.out)
            for p in plan.subjects_of:
                focus.update((s, None) for s, po in data.out.items() if p in po)
            for p in plan.objects_of:
                focus.update((o, None) for o, ps in data.inv.items() if p in ps and o in data.out)  # type: ignore[misc]
            if focus:
                out.append((k, list(focus)))
        return out

    def check(self, statements: Iterable[Statement], *, extra: Iterable[Statement] = ()) -> list[Violation]:
        """The violations (and warnings) of the declaration made of ``statements``; ``[]`` when it conforms.

        Focus nodes are the subjects of ``statements`` that a shape targets. ``extra``: more context for this
        check only (for instance the types of other declarations it refers to).
        """
        return self.check_many([list(statements)], extras=[list(extra)])[0]

    def check_many(
        self, items: Sequence[Sequence[Statement]], *, extras: Sequence[Sequence[Statement]] | None = None
    ) -> list[list[Violation]]:
        """:meth:`check` for several declarations at once (the SPARQL constraints run once for all of them).

        The declarations must not share subjects (two versions of one declaration go in separate calls).
        Returns one sorted list of results per item.
        """
        extras = extras if extras is not None else [[] for _ in items]
        if self._plans is None:
            return [self._check_pyshacl(list(item), list(more)) for item, more in zip(items, extras, strict=True)]
        found: list[set[Violation]] = [set() for _ in items]
        owner: dict[str, int] = {}
        targets_of: list[list[tuple[int, list[str]]]] = []
        for n, (item, more) in enumerate(zip(items, extras, strict=True)):
            data = _Index(_triples(item))  # type: ignore[misc]
            indexes = [self._ctx]
            if more:
                indexes.insert(0, _Index(_triples(more)))  # type: ignore[misc]
            view = _View(data, *indexes)
            view.sparql_ok = lambda shape, v, view=view, item=item: self._nested_ok(shape, v, view, item)
            targets = self._focus(view)
            targets_of.append(targets)
            run_context = Select.context(view)  # shared by the SPARQL constraints: parts not about ?this run once
            for node in data.out:
                owner[node] = n
            for k, nodes in targets:
                plan = self._plans[k]
                for check in plan.checks:
                    test = check.test
                    for node in nodes:
                        if not test(view, node):
                            found[n].add(Violation(node, _fill(check.message, None, node), check.severity, check.shape))
                for i, _ in plan.sparql:
                    select = self._compiled_sparql.get(i)
                    if select is None:
                        continue
                    shape, message, severity, _ = self._sparql[i]
                    for node in nodes:
                        try:
                            rows = select.run(view, node, run_context)
                        except MiniUnsupported:
                            rows = self._sparql_on_oxigraph(i, item, more, node)
                        for row in rows:
                            found[n].add(Violation(node, _fill(message, row, node), severity, shape))
        self._run_sparql(items, extras, targets_of, owner, found)
        return [sorted(f, key=lambda x: (x.focus, x.message)) for f in found]

    def _run_sparql(
        self,
        items: Sequence[Sequence[Statement]],
        extras: Sequence[Sequence[Statement]],
        targets_of: list[list[tuple[int, list[str]]]],
        owner: dict[str, int],
        found: list[set[Violation]],
    ) -> None:
        assert self._plans is not None
        plans = sorted({k for targets in targets_of for k, _ in targets if self._sparql_queries[k]})
        if not plans:
            return
        store = self._store
        needed = self._sparql_predicates
        for statements in (*items, *extras):
            store.extend(
                ox.Quad(s.subject, s.predicate, s.object, _DATA)
                for s in statements
                if needed is None or s.predicate.value in needed
            )
        store.extend(
            ox.Quad(to_term(node), _FOCUS_OF, ox.NamedNode(f"{FOCUS_GRAPH}:{k}"), _FOCUS)  # type: ignore[arg-type]
            for targets in targets_of
            for k, nodes in targets
            if k in plans
            for node in nodes
        )
        try:
            for k in plans:  # one query per constraint: cheaper to plan than one big union
                for i, query in self._sparql_queries[k]:
                    shape, message, severity, _ = self._sparql[i]
                    for row in store.query(query, default_graph=[_DATA, _CONTEXT]):
                        focus = native(row["this"])  # type: ignore[arg-type]
                        n = owner.get(focus)  # type: ignore[arg-type]
                        if n is not None:
                            found[n].add(Violation(_shown(focus), _fill(message, row, focus), severity, shape))
        finally:
            store.remove_graph(_DATA)
            store.remove_graph(_FOCUS)

    def _sparql_on_oxigraph(
        self, i: int, item: Sequence[Statement], more: Sequence[Statement], node: Term
    ) -> list[dict[str, Term]]:
        """One SPARQL constraint for one focus node on Oxigraph (when the evaluator cannot enumerate a pattern)."""
        store = self._store
        store.extend(ox.Quad(s.subject, s.predicate, s.object, _DATA) for s in (*item, *more))
        try:
            rows = store.query(
                self._prologue + self._sparql[i][3],
                default_graph=[_DATA, _CONTEXT],
                substitutions={ox.Variable("this"): to_term(node)},
            )
            names = [v.value for v in rows.variables]  # type: ignore[union-attr]
            return [{n: native(row[n]) for n in names if row[n] is not None} for row in rows]  # type: ignore[union-attr]
        finally:
            store.remove_graph(_DATA)

    def _nested_ok(self, shape: str, v: Term, view: _View, item: Sequence[Statement]) -> bool:
        """SPARQL constraints of a shape used through ``sh:node``: precomputed for context nodes, run for others."""
        if not view.described(v):
            return v not in self._context_violations[shape]
        store = self._store
        store.extend(ox.Quad(s.subject, s.predicate, s.object, _DATA) for s in item)
        try:
            for text in self._nested_sparql[shape]:
                rows = store.query(
                    self._prologue + text,
                    default_graph=[_DATA, _CONTEXT],
                    substitutions={ox.Variable("this"): to_term(v)},
                )
                if any(True for _ in rows):
                    return False
            return True
        finally:
            store.remove_graph(_DATA)

    def _check_pyshacl(self, data: list[Statement], more: list[Statement]) -> list[Violation]:
        import pyshacl

        from kg.rdf import to_rdflib

        if self._rdflib_context is None:
            self._rdflib_context = to_rdflib(self._store.quads_for_pattern(None, None, None, _CONTEXT))
        graph = to_rdflib(data)
        focus_nodes = set(graph.subjects())
        if not focus_nodes:
            return []
        graph += to_rdflib(more)
        graph += self._rdflib_context
        # pySHACL's own focus_nodes option misses results here, so validate everything and keep the results
        # about the nodes the declaration describes.
        _, results, _ = pyshacl.validate(graph, shacl_graph=self.shapes, advanced=True, allow_warnings=True)
        out = set()
        for result in results.subjects(RDF.type, SH.ValidationResult):
            focus = results.value(result, SH.focusNode)
            if focus not in focus_nodes:
                continue
            msg = results.value(result, SH.resultMessage)
            sev = _SEVERITY.get(str(results.value(result, SH.resultSeverity)), "Violation")
            shape = results.value(result, SH.sourceShape)
            out.add(Violation(str(focus), str(msg), sev, str(shape)))
        return sorted(out, key=lambda x: (x.focus, x.message))


def pyshacl_check(
    shapes: rdflib.Graph, statements: Iterable[Statement], context: Iterable[Statement]
) -> list[Violation]:
    """The same check done by pySHACL (the reference for tests): focus nodes are the subjects of ``statements``;
    the data graph is ``statements`` plus ``context``."""
    checker = ShapeChecker.__new__(ShapeChecker)
    checker.shapes = shapes
    checker._store = ox.Store()
    checker._store.extend(ox.Quad(s.subject, s.predicate, s.object, _CONTEXT) for s in context)
    checker._rdflib_context = None
    return checker._check_pyshacl(list(statements), [])
