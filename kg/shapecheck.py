"""Fast SHACL validation of one declaration graph at a time.

pySHACL takes the better part of a second per declaration; ingestion needs a few milliseconds. :class:`ShapeChecker`
reads ``ontology/shapes.ttl`` once and turns every shape into Python predicates over in-memory indexes of the
declaration's triples and a fixed context (ontology, schemes, reference data); SPARQL-based constraints
(``sh:sparql``) run as SPARQL on an in-memory Oxigraph store, all of them in one query.

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
constraints...) is not compiled: the checker then runs pySHACL on the same data with the same focus nodes, slower but
complete. The tests check that both give the same results on the seed and on broken variants of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib import BNode, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD

log = logging.getLogger(__name__)

DATA_GRAPH = "urn:kg:shapecheck:data"
CONTEXT_GRAPH = "urn:kg:shapecheck:context"
FOCUS_GRAPH = "urn:kg:shapecheck:focus"
FOCUS_OF = "urn:kg:shapecheck:focusOf"
_DATA = ox.NamedNode(DATA_GRAPH)
_CONTEXT = ox.NamedNode(CONTEXT_GRAPH)
_FOCUS = ox.NamedNode(FOCUS_GRAPH)
_FOCUS_OF = ox.NamedNode(FOCUS_OF)
_RDF_TYPE = ox.NamedNode(str(RDF.type))
_SUBCLASS = ox.NamedNode(str(RDFS.subClassOf))
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

Term = ox.NamedNode | ox.BlankNode | ox.Literal


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

    __slots__ = ("out", "inv")

    def __init__(self) -> None:
        self.out: dict[Term, dict[ox.NamedNode, list[Term]]] = {}
        self.inv: dict[Term, dict[ox.NamedNode, list[Term]]] = {}

    def add(self, s: Term, p: ox.NamedNode, o: Term) -> None:
        self.out.setdefault(s, {}).setdefault(p, []).append(o)
        self.inv.setdefault(o, {}).setdefault(p, []).append(s)


class _View:
    """The union of the context index and one declaration's index, as the predicates see it."""

    __slots__ = ("ctx", "data", "types_cache", "subclasses", "sparql_ok")

    def __init__(self, ctx: _Index, data: _Index, subclasses: Callable[[str], frozenset[str]]) -> None:
        self.sparql_ok: Callable[[str, Term], bool] = lambda shape, v: True
        self.ctx = ctx
        self.data = data
        self.types_cache: dict[Term, set[str]] = {}
        self.subclasses = subclasses

    def objects(self, s: Term, p: ox.NamedNode) -> list[Term]:
        a = self.data.out.get(s)
        b = self.ctx.out.get(s)
        first = a.get(p, []) if a else []
        second = b.get(p, []) if b else []
        if not second:
            return first
        if not first:
            return second
        return list(dict.fromkeys(first + second))

    def subjects(self, p: ox.NamedNode, o: Term) -> list[Term]:
        a = self.data.inv.get(o)
        b = self.ctx.inv.get(o)
        first = a.get(p, []) if a else []
        second = b.get(p, []) if b else []
        if not second:
            return first
        if not first:
            return second
        return list(dict.fromkeys(first + second))

    def described(self, node: Term) -> bool:
        """Whether the declaration's own triples describe ``node``."""
        return node in self.data.out

    def is_instance(self, node: Term, classes: frozenset[str]) -> bool:
        types = self.types_cache.get(node)
        if types is None:
            types = {t.value for t in self.objects(node, _RDF_TYPE)}
            self.types_cache[node] = types
        return not types.isdisjoint(classes)


# A path evaluator: (view, node) -> value nodes.
PathFn = Callable[[_View, Term], list[Term]]
# A node test: (view, node, depth) -> conforms?
NodeTest = Callable[[_View, Term], bool]


def _numeric(lit: ox.Literal) -> Decimal | float | None:
    try:
        dt = lit.datatype.value
    except AttributeError:
        return None
    if dt in _NUMERIC:
        try:
            return Decimal(lit.value)
        except InvalidOperation:
            try:
                return float(lit.value)
            except ValueError:
                return None
    return None


def _compare(a: Term, b: Term) -> int | None:
    """-1/0/1 for comparable literals (numbers, same-typed dates, plain strings), else ``None``."""
    if not isinstance(a, ox.Literal) or not isinstance(b, ox.Literal):
        return None
    na, nb = _numeric(a), _numeric(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    if a.datatype == b.datatype and (a.datatype.value in _TEMPORAL or a.datatype.value == str(XSD.string)):
        return (a.value > b.value) - (a.value < b.value)
    return None


def _to_ox(term: rdflib.term.Node) -> Term:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))
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
    subjects_of: tuple[ox.NamedNode, ...]
    objects_of: tuple[ox.NamedNode, ...]
    checks: list[_Check]
    sparql: list[tuple[int, str]]  # (index of the SPARQL check in the checker's list, SELECT text with ?this)


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
            p = ox.NamedNode(str(node))
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
            p = ox.NamedNode(str(inverse))
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
            dtn = ox.NamedNode(str(dt))
            tests.append(lambda view, v, dtn=dtn: isinstance(v, ox.Literal) and v.datatype == dtn)
        for kind in g.objects(shape, SH.nodeKind):
            kinds = {
                SH.IRI: (ox.NamedNode,),
                SH.BlankNode: (ox.BlankNode,),
                SH.Literal: (ox.Literal,),
                SH.BlankNodeOrIRI: (ox.BlankNode, ox.NamedNode),
                SH.BlankNodeOrLiteral: (ox.BlankNode, ox.Literal),
                SH.IRIOrLiteral: (ox.NamedNode, ox.Literal),
            }
            if kind not in kinds:
                raise Unsupported(f"sh:nodeKind {kind}")
            tests.append(lambda view, v, types=kinds[kind]: isinstance(v, types))
        for lst in g.objects(shape, SH["in"]):
            members = frozenset(_to_ox(m) for m in self.items(lst))
            tests.append(lambda view, v, members=members: v in members)
        if self.one(shape, SH.path) is None:
            for value in g.objects(shape, SH.hasValue):
                target = _to_ox(value)
                tests.append(lambda view, v, target=target: v == target)
        for pattern in g.objects(shape, SH.pattern):
            flags = str(self.one(shape, SH.flags) or "")
            re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0) | (re.S if "s" in flags else 0)
            rx = re.compile(str(pattern), re_flags)
            tests.append(lambda view, v, rx=rx: not isinstance(v, ox.BlankNode) and rx.search(v.value) is not None)
        for n in g.objects(shape, SH.minLength):
            tests.append(lambda view, v, n=int(n): not isinstance(v, ox.BlankNode) and len(v.value) >= n)
        for n in g.objects(shape, SH.maxLength):
            tests.append(lambda view, v, n=int(n): not isinstance(v, ox.BlankNode) and len(v.value) <= n)
        for prop, ok in (
            (SH.minInclusive, (0, 1)),
            (SH.maxInclusive, (-1, 0)),
            (SH.minExclusive, (1,)),
            (SH.maxExclusive, (-1,)),
        ):
            for bound in g.objects(shape, prop):
                b = _to_ox(bound)
                tests.append(lambda view, v, b=b, ok=ok: _compare(v, b) in ok)
        for lst in g.objects(shape, SH.languageIn):
            tags = [str(t).lower() for t in self.items(lst)]

            def lang_in(view: _View, v: Term, tags: list[str] = tags) -> bool:
                if not isinstance(v, ox.Literal) or not v.language:
                    return False
                lang = v.language.lower()
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
            target = _to_ox(value)
            tests.append(lambda view, f, target=target: target in path(view, f))
        unique = self.one(prop_shape, SH.uniqueLang)
        if unique is not None and unique.toPython() is True:

            def unique_lang(view: _View, f: Term) -> bool:
                langs = [v.language.lower() for v in path(view, f) if isinstance(v, ox.Literal) and v.language]
                return len(langs) == len(set(langs))

            tests.append(unique_lang)
        for other in g.objects(prop_shape, SH.equals):
            q = ox.NamedNode(str(other))
            tests.append(lambda view, f, q=q: set(path(view, f)) == set(view.objects(f, q)))
        for other in g.objects(prop_shape, SH.disjoint):
            q = ox.NamedNode(str(other))
            tests.append(lambda view, f, q=q: set(path(view, f)).isdisjoint(view.objects(f, q)))
        for prop, ok in ((SH.lessThan, (-1,)), (SH.lessThanOrEquals, (-1, 0))):
            for other in g.objects(prop_shape, prop):
                q = ox.NamedNode(str(other))
                tests.append(
                    lambda view, f, q=q, ok=ok: all(
                        _compare(a, b) in ok for a in path(view, f) for b in view.objects(f, q)
                    )
                )
        value_tests = self.value_tests(prop_shape, depth)
        if value_tests:
            tests.append(lambda view, f: all(t(view, v) for v in path(view, f) for t in value_tests))
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

        def conforms(view: _View, v: Term, tests: list[NodeTest] = tests) -> bool:
            return all(t(view, v) for t in tests)

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
            subjects_of = tuple(ox.NamedNode(str(p)) for p in g.objects(shape, SH.targetSubjectsOf))
            objects_of = tuple(ox.NamedNode(str(p)) for p in g.objects(shape, SH.targetObjectsOf))
            if not (classes or nodes or subjects_of or objects_of):
                continue
            name = shape.n3() if isinstance(shape, URIRef) else "a shape"
            plan = _Plan(str(shape), classes, nodes, subjects_of, objects_of, [], [])
            if self.one(shape, SH.path) is not None:
                message, severity = self.message([shape], f"{name} not satisfied")
                tests = self.property_tests(shape, 0)
                plan.checks.append(_Check(message, severity, str(shape), lambda view, f, t=tests: all(x(view, f) for x in t)))
            else:
                node_tests = self.value_tests(shape, 0)
                if node_tests:
                    message, severity = self.message([shape], f"{name} not satisfied")
                    plan.checks.append(
                        _Check(message, severity, str(shape), lambda view, f, t=node_tests: all(x(view, f) for x in t))
                    )
                for prop_shape in g.objects(shape, SH.property):
                    if self.deactivated(prop_shape):
                        continue
                    tests = self.property_tests(prop_shape, 1)
                    message, severity = self.message([prop_shape, shape], f"{name}: a property constraint failed")
                    plan.checks.append(
                        _Check(message, severity, str(prop_shape), lambda view, f, t=tests: all(x(view, f) for x in t))
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


def _fill(message: str, solution: ox.QuerySolution | None, focus: Term) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "this":
            return focus.value
        term = solution[name] if solution is not None else None
        return match.group(0) if term is None else term.value

    return _PLACEHOLDER.sub(value, message)


class ShapeChecker:
    """Validates declaration graphs against a shapes file, over a fixed context (ontology, schemes, reference).

    ``shapes``: a path to a Turtle file or an rdflib graph. ``context``: the quads or triples every check sees
    beside the declaration (graph names are ignored). Raises ``rdflib`` parse errors for a broken shapes file.
    Not thread-safe: one checker per thread or process.
    """

    def __init__(self, shapes: Path | rdflib.Graph, context: Iterable[ox.Quad | ox.Triple] = ()) -> None:
        if isinstance(shapes, rdflib.Graph):
            self.shapes = shapes
        else:
            self.shapes = rdflib.Graph().parse(str(shapes), format="turtle")
        self._store = ox.Store()
        self._ctx = _Index()
        for st in context:
            self._ctx.add(st.subject, st.predicate, st.object)
        self._store.extend(
            ox.Quad(s, p, o, _CONTEXT) for s, po in self._ctx.out.items() for p, os in po.items() for o in os
        )
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
            self._sparql_queries = [
                [(i, self._sparql_query(k, text)) for i, text in plan.sparql] for k, plan in enumerate(self._plans)
            ]
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
            frontier = [ox.NamedNode(cls)]
            while frontier:
                nxt = []
                for c in frontier:
                    for sub in self._ctx.inv.get(c, {}).get(_SUBCLASS, []):
                        if isinstance(sub, ox.NamedNode) and sub.value not in seen:
                            seen.add(sub.value)
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
                        bad.add(row["this"])
            out[shape] = bad
        return out

    def _sparql_query(self, plan: int, select: str) -> str:
        """A SPARQL constraint's select joined with the focus nodes of its plan."""
        focus = f"GRAPH <{FOCUS_GRAPH}> {{ ?this <{FOCUS_OF}> <{FOCUS_GRAPH}:{plan}> }}"
        return f"{self._prologue}SELECT * WHERE {{ {focus} {{ {select} }} }}"

    def _focus(self, data: _Index, quads: list[ox.Quad]) -> list[tuple[int, list[Term]]]:
        """Per plan, the nodes the data describes that its shape targets."""
        types: dict[Term, set[str]] = {}
        for s in data.out:
            types[s] = {t.value for t in data.out[s].get(_RDF_TYPE, ())} | {
                t.value for t in self._ctx.out.get(s, {}).get(_RDF_TYPE, ())
            }
        out = []
        assert self._plans is not None
        for k, plan in enumerate(self._plans):
            focus: dict[Term, None] = {}
            if plan.classes:
                focus.update((s, None) for s, ts in types.items() if not ts.isdisjoint(plan.classes))
            for s in data.out:
                if isinstance(s, ox.NamedNode) and s.value in plan.nodes:
                    focus[s] = None
            for p in plan.subjects_of:
                focus.update((s, None) for s, po in data.out.items() if p in po)
            for p in plan.objects_of:
                focus.update((q.object, None) for q in quads if q.predicate == p and q.object in data.out)
            if focus:
                out.append((k, list(focus)))
        return out

    def check(
        self, statements: Iterable[ox.Quad | ox.Triple], *, extra: Iterable[ox.Quad | ox.Triple] = ()
    ) -> list[Violation]:
        """The violations (and warnings) of the declaration made of ``statements``; ``[]`` when it conforms.

        Focus nodes are the subjects of ``statements`` that a shape targets. ``extra``: more context for this
        check only (for instance the types of other declarations it refers to).
        """
        quads = [ox.Quad(s.subject, s.predicate, s.object, _DATA) for s in statements]
        more = [ox.Quad(s.subject, s.predicate, s.object, _CONTEXT) for s in extra]
        if self._plans is None:
            return self._check_pyshacl(quads, more)
        data = _Index()
        for q in quads:
            data.add(q.subject, q.predicate, q.object)
        ctx = self._ctx
        if more:  # a private copy of the context index only when this check adds to it
            ctx = _Index()
            ctx.out = {s: {p: list(os) for p, os in po.items()} for s, po in self._ctx.out.items()}
            ctx.inv = {o: {p: list(ss) for p, ss in po.items()} for o, po in self._ctx.inv.items()}
            for q in more:
                ctx.add(q.subject, q.predicate, q.object)
        view = _View(ctx, data, self._subclasses)
        view.sparql_ok = lambda shape, v: self._nested_ok(shape, v, view, quads)
        found: set[Violation] = set()
        targets = self._focus(data, quads)
        for k, nodes in targets:
            plan = self._plans[k]
            for check in plan.checks:
                for node in nodes:
                    if not check.test(view, node):
                        found.add(Violation(node.value, _fill(check.message, None, node), check.severity, check.shape))
        sparql_plans = [k for k, _ in targets if self._plans[k].sparql]
        if sparql_plans:
            store = self._store
            added = [q for q in more if q not in store]
            store.extend(quads)
            store.extend(added)
            store.extend(
                ox.Quad(n, _FOCUS_OF, ox.NamedNode(f"{FOCUS_GRAPH}:{k}"), _FOCUS) for k, nodes in targets for n in nodes
            )
            try:
                for k in sparql_plans:  # one query per constraint: cheaper to plan than one big union
                    for i, query in self._sparql_queries[k]:
                        shape, message, severity, _ = self._sparql[i]
                        for row in store.query(query, default_graph=[_DATA, _CONTEXT]):
                            focus = row["this"]
                            found.add(Violation(focus.value, _fill(message, row, focus), severity, shape))
            finally:
                store.remove_graph(_DATA)
                store.remove_graph(_FOCUS)
                for q in added:
                    store.remove(q)
        return sorted(found, key=lambda x: (x.focus, x.message))

    def _nested_ok(self, shape: str, v: Term, view: _View, quads: list[ox.Quad]) -> bool:
        """SPARQL constraints of a shape used through ``sh:node``: precomputed for context nodes, run for others."""
        if not view.described(v):
            return v not in self._context_violations[shape]
        store = self._store
        store.extend(quads)
        try:
            for text in self._nested_sparql[shape]:
                rows = store.query(
                    self._prologue + text, default_graph=[_DATA, _CONTEXT], substitutions={ox.Variable("this"): v}
                )
                if any(True for _ in rows):
                    return False
            return True
        finally:
            store.remove_graph(_DATA)

    def _check_pyshacl(self, data: list[ox.Quad], more: list[ox.Quad]) -> list[Violation]:
        import pyshacl

        from kg.rdf import to_rdflib

        if self._rdflib_context is None:
            self._rdflib_context = to_rdflib(self._store.quads_for_pattern(None, None, None, _CONTEXT))
        graph = to_rdflib(data)
        focus_nodes = sorted(set(graph.subjects()), key=str)
        if not focus_nodes:
            return []
        graph += to_rdflib(more)
        graph += self._rdflib_context
        _, results, _ = pyshacl.validate(
            graph, shacl_graph=self.shapes, advanced=True, focus_nodes=focus_nodes, allow_warnings=True
        )
        out = set()
        for result in results.subjects(RDF.type, SH.ValidationResult):
            focus = results.value(result, SH.focusNode)
            msg = results.value(result, SH.resultMessage)
            sev = _SEVERITY.get(str(results.value(result, SH.resultSeverity)), "Violation")
            shape = results.value(result, SH.sourceShape)
            out.add(Violation(str(focus), str(msg), sev, str(shape)))
        return sorted(out, key=lambda x: (x.focus, x.message))


def pyshacl_check(shapes: rdflib.Graph, statements: Iterable[ox.Quad | ox.Triple],
                  context: Iterable[ox.Quad | ox.Triple]) -> list[Violation]:
    """The same check done by pySHACL (reference implementation for tests): focus nodes are the subjects of
    ``statements``; the data graph is ``statements`` plus ``context``."""
    checker = ShapeChecker.__new__(ShapeChecker)
    checker.shapes = shapes
    checker._store = ox.Store()
    checker._store.extend(ox.Quad(s.subject, s.predicate, s.object, _CONTEXT) for s in context)
    checker._rdflib_context = None
    return checker._check_pyshacl([ox.Quad(s.subject, s.predicate, s.object, _DATA) for s in statements], [])
