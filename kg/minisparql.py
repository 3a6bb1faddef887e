"""A small SPARQL evaluator for SHACL-SPARQL constraints over the shape checker's in-memory indexes.

Running a constraint on Oxigraph means copying the declaration's triples into a store first, which costs more
than the query. The constraints of ``ontology/shapes.ttl`` are small ``SELECT`` queries (basic graph patterns,
property paths, ``UNION``, ``OPTIONAL``, ``BIND``, ``FILTER`` with ``EXISTS`` and string and arithmetic functions),
so :func:`compile_select` parses one with rdflib's SPARQL parser and evaluates its algebra directly over
:class:`kg.shapecheck._View` (terms in the checker's plain form), with ``$this`` pre-bound to each focus node as
SHACL-SPARQL prescribes. A query that uses anything else raises :class:`Unsupported` when compiled (or, for a
pattern it cannot enumerate, when run), and the checker runs it on Oxigraph instead.

A query in the common subset (BGPs, ``UNION``, joins of triple patterns, ``BIND``, ``FILTER``, a projection: all
the constraints of ``ontology/shapes.ttl``) is also compiled, once, into the source of a Python function of nested
loops over the indexes (:class:`_Generator`); :meth:`Select.run` then runs that instead of the closures, with the
same solutions (about a third of the CPU time on the generated corpus). The closure evaluator stays the general
path for the rest (``OPTIONAL``, a ``FILTER`` inside a joined group...).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.namespace import RDF, XSD
from rdflib.paths import AlternativePath, InvPath, MulPath, Path, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue

if TYPE_CHECKING:
    from kg.shapecheck import Term, _View

Solution = dict[str, Any]
_XSD = str(XSD)
_INTEGER_TYPES = {
    _XSD + t
    for t in (
        "integer", "long", "int", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
        "nonPositiveInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte",
    )
}
_XSD_INTEGER = _XSD + "integer"
_XSD_DECIMAL = _XSD + "decimal"
_XSD_DOUBLE = _XSD + "double"
_XSD_FLOAT = _XSD + "float"
_XSD_STRING = _XSD + "string"
_XSD_BOOLEAN = _XSD + "boolean"
_LANG_STRING = str(RDF.langString)
_TRUE = ("true", _XSD_BOOLEAN, None)
_FALSE = ("false", _XSD_BOOLEAN, None)


class Unsupported(Exception):
    """The query uses a feature this evaluator does not implement."""


class _Error(Exception):
    """A SPARQL expression error (an unbound variable, a type error...)."""


# -- terms and values -------------------------------------------------------------------------------------------


def _term(node: object) -> Term | str:
    """A constant of the query in the checker's form; a variable as ``?name``."""
    if isinstance(node, Variable):
        return "?" + str(node)
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, Literal):
        if node.language:
            return (str(node), _LANG_STRING, node.language)
        return (str(node), str(node.datatype or XSD.string), None)
    if isinstance(node, BNode):
        raise Unsupported("blank nodes in a query pattern")
    raise Unsupported(f"query term {node!r}")


def _number(t: Term) -> int | Decimal | float:
    if not isinstance(t, tuple):
        raise _Error("not a number")
    found = _NUMBERS.get(t)  # type: ignore[call-overload]
    if found is not None:
        return found
    lexical, datatype, _ = t
    try:
        if datatype in _INTEGER_TYPES:
            found = int(lexical)
        elif datatype == _XSD_DECIMAL:
            found = Decimal(lexical)
        elif datatype in (_XSD_DOUBLE, _XSD_FLOAT):
            found = float(lexical)
    except (ValueError, InvalidOperation):
        raise _Error("ill-typed number") from None
    if found is None:
        raise _Error("not a number")
    if len(_NUMBERS) >= _NUMBERS_MAX:
        _NUMBERS.clear()
    _NUMBERS[t] = found  # type: ignore[index]
    return found


# The values of numeric literals already seen (offsets repeat across constraints and declarations); bounded.
_NUMBERS: dict[tuple[str, str, str | None], int | Decimal | float] = {}
_NUMBERS_MAX = 1 << 16


def _numeric_literal(n: int | Decimal | float) -> Term:
    if isinstance(n, bool):
        raise _Error("boolean is not a number")
    if isinstance(n, int):
        return (str(n), _XSD_INTEGER, None)
    if isinstance(n, Decimal):
        return (str(n), _XSD_DECIMAL, None)
    return (repr(n), _XSD_DOUBLE, None)


def _is_number(t: Term) -> bool:
    return isinstance(t, tuple) and (t[1] in _INTEGER_TYPES or t[1] in (_XSD_DECIMAL, _XSD_DOUBLE, _XSD_FLOAT))


def _string(t: Term) -> tuple[str, str | None]:
    """A string literal's text and language (for string functions)."""
    if isinstance(t, tuple) and t[1] in (_XSD_STRING, _LANG_STRING):
        return t[0], t[2]
    raise _Error("not a string")


def _bool(b: bool) -> Term:
    return _TRUE if b else _FALSE


def _ebv(t: Term) -> bool:
    """Effective boolean value."""
    if isinstance(t, tuple):
        lexical, datatype, _ = t
        if datatype == _XSD_BOOLEAN:
            return lexical in ("true", "1")
        if datatype in (_XSD_STRING, _LANG_STRING):
            return lexical != ""
        if _is_number(t):
            n = _number(t)
            return n == n and n != 0  # NaN is false
    raise _Error("no effective boolean value")


def _compare(a: Term, b: Term, op: str) -> bool:
    if op in ("=", "!="):
        if _is_number(a) and _is_number(b):
            equal = _number(a) == _number(b)
        elif isinstance(a, tuple) and isinstance(b, tuple):
            if a[1] == b[1] and a[2] == b[2]:
                equal = a[0] == b[0]
            elif a[1] in (_XSD_STRING, _LANG_STRING) and b[1] in (_XSD_STRING, _LANG_STRING):
                equal = False
            elif a[1] in _KNOWN and b[1] in _KNOWN:
                equal = False
            else:
                raise _Error("cannot compare literals of unknown types")
        else:
            equal = a == b
        return equal if op == "=" else not equal
    if _is_number(a) and _is_number(b):
        x, y = _number(a), _number(b)
    elif isinstance(a, tuple) and isinstance(b, tuple) and a[1] == b[1] and a[2] == b[2] and (
        a[1] in (_XSD_STRING, _LANG_STRING, _XSD + "date", _XSD + "dateTime", _XSD_BOOLEAN)
    ):
        x, y = a[0], b[0]  # type: ignore[assignment]
    else:
        raise _Error("incomparable")
    return _ORDER[op](x, y)  # type: ignore[no-any-return]


_ORDER = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_KNOWN = _INTEGER_TYPES | {_XSD_DECIMAL, _XSD_DOUBLE, _XSD_FLOAT, _XSD_STRING, _LANG_STRING, _XSD_BOOLEAN,
                           _XSD + "date", _XSD + "dateTime"}


# -- paths ------------------------------------------------------------------------------------------------------


def _forward(view: _View, s: Term, path: object) -> list[Term]:
    if isinstance(path, URIRef):
        return list(view.objects(s, str(path)))
    if isinstance(path, InvPath):
        return _backward(view, s, path.arg)
    if isinstance(path, SequencePath):
        current = [s]
        for step in path.args:
            current = list(dict.fromkeys(v for c in current for v in _forward(view, c, step)))
        return current
    if isinstance(path, AlternativePath):
        return list(dict.fromkeys(v for step in path.args for v in _forward(view, s, step)))
    if isinstance(path, MulPath):
        return _closure(s, path, lambda n: _forward(view, n, path.path))
    raise Unsupported(f"property path {path!r}")


def _backward(view: _View, o: Term, path: object) -> list[Term]:
    if isinstance(path, URIRef):
        return list(view.subjects(str(path), o))
    if isinstance(path, InvPath):
        return _forward(view, o, path.arg)
    if isinstance(path, SequencePath):
        current = [o]
        for step in reversed(path.args):
            current = list(dict.fromkeys(v for c in current for v in _backward(view, c, step)))
        return current
    if isinstance(path, AlternativePath):
        return list(dict.fromkeys(v for step in path.args for v in _backward(view, o, step)))
    if isinstance(path, MulPath):
        return _closure(o, path, lambda n: _backward(view, n, path.path))
    raise Unsupported(f"property path {path!r}")


def _closure(start: Term, path: MulPath, step: Callable[[Term], list[Term]]) -> list[Term]:
    seen: dict[Term, None] = {start: None} if path.mod in ("*", "?") else {}
    frontier = [start]
    while frontier:
        nxt = []
        for n in frontier:
            for v in step(n):
                if v not in seen:
                    seen[v] = None
                    nxt.append(v)
        frontier = nxt if path.mod != "?" else []
    return list(seen)


def _first_steps(view: _View, path: object) -> list[tuple[Term, Term]] | None:
    """All (subject, object) pairs of a plain predicate (scan); ``None`` for a path that cannot be scanned."""
    if isinstance(path, URIRef):
        return view.pairs(str(path))
    if isinstance(path, InvPath) and isinstance(path.arg, URIRef):
        return [(o, s) for s, o in view.pairs(str(path.arg))]
    return None


# -- the evaluator: the algebra compiled into closures ----------------------------------------------------------

PatternFn = Callable[["_Ctx", Solution], list[Solution]]
ExprFn = Callable[["_Ctx", Solution], "Term"]


class _Ctx:
    """One run: the data to match and the memo of sub-patterns already evaluated under the same bindings."""

    __slots__ = ("view", "memo")

    def __init__(self, view: _View) -> None:
        self.view = view
        self.memo: dict[tuple[object, ...], list[Solution]] = {}


class Select:
    """A compiled ``SELECT`` (see :func:`compile_select`): ``run(view, this)`` returns its solutions.

    ``generate``: also write it as a Python function (:class:`_Generator`) when it is in the subset that allows;
    :attr:`generated` says whether that function or the closure evaluator runs it.
    """

    def __init__(self, algebra: CompValue, *, generate: bool = True) -> None:
        self._run = _pattern_fn(algebra)
        self._generated: Callable[[_View, Term, _Ctx], list[Solution]] | None = None
        self.not_generated = "not asked"
        if generate:
            try:
                self._generated = _Generator().generate(algebra)
                self.not_generated = ""
            except Unsupported as exc:
                self.not_generated = str(exc)

    @property
    def generated(self) -> bool:
        """Whether the query runs as generated Python (else on the closure evaluator)."""
        return self._generated is not None

    def run(self, view: _View, this: Term, ctx: _Ctx | None = None) -> list[Solution]:
        """The solutions with ``?this`` bound to ``this``. Raises :class:`Unsupported` for a pattern it cannot
        enumerate (a path with both ends unbound that is not a plain predicate)."""
        if self._generated is not None:
            return self._generated(view, this, ctx or _Ctx(view))
        return self._run(ctx or _Ctx(view), {"this": this})

    @staticmethod
    def context(view: _View) -> _Ctx:
        """A run context to share between runs over the same data (its memo is reused)."""
        return _Ctx(view)


_PATTERNS = {"SelectQuery", "Project", "Distinct", "Reduced", "Filter", "Extend", "Join", "LeftJoin", "Union", "BGP",
             "OrderBy"}


def _pattern_fn(node: CompValue) -> PatternFn:
    name = node.name
    if name not in _PATTERNS:
        raise Unsupported(f"SPARQL feature {name}")
    names = tuple(sorted(_all_vars(node)))
    token = object()
    inner = _pattern_inner(node)

    def memoized(ctx: _Ctx, mu: Solution) -> list[Solution]:
        bound = tuple((k, mu[k]) for k in names if k in mu)
        key = (token, bound)
        found = ctx.memo.get(key)
        if found is None:
            found = ctx.memo[key] = inner(ctx, dict(bound))
        if len(mu) > len(bound):
            extra = {k: v for k, v in mu.items() if k not in names}
            return [{**extra, **s} for s in found]
        return found

    return memoized


def _pattern_inner(node: CompValue) -> PatternFn:
    name = node.name
    if name in ("SelectQuery", "OrderBy"):
        return _pattern_fn(node.p)
    if name in ("Distinct", "Reduced"):
        p = _pattern_fn(node.p)
        return lambda ctx, mu: list({tuple(sorted(s.items())): s for s in p(ctx, mu)}.values())
    if name == "Project":
        p = _pattern_fn(node.p)
        keep = frozenset(str(v) for v in node.PV) | {"this"}
        return lambda ctx, mu: [{k: v for k, v in s.items() if k in keep} for s in p(ctx, mu)]
    if name == "Filter":
        p = _pattern_fn(node.p)
        test = _test_fn(node.expr)
        return lambda ctx, mu: [s for s in p(ctx, mu) if test(ctx, s)]
    if name == "Extend":
        p = _pattern_fn(node.p)
        value = _expr_fn(node.expr)
        var = str(node.var)

        def extend(ctx: _Ctx, mu: Solution) -> list[Solution]:
            out = []
            for s in p(ctx, mu):
                try:
                    out.append({**s, var: value(ctx, s)})
                except _Error:
                    out.append(s)
            return out

        return extend
    if name == "Union":
        p1, p2 = _pattern_fn(node.p1), _pattern_fn(node.p2)
        return lambda ctx, mu: p1(ctx, mu) + p2(ctx, mu)
    if name == "Join":
        p1, p2 = _pattern_fn(node.p1), _pattern_fn(node.p2)

        def join(ctx: _Ctx, mu: Solution) -> list[Solution]:
            left = p1(ctx, mu)
            return _join(left, p2(ctx, mu)) if left else []

        return join
    if name == "LeftJoin":
        p1, p2 = _pattern_fn(node.p1), _pattern_fn(node.p2)
        expr = node.get("expr")
        trivial = expr is None or (isinstance(expr, CompValue) and expr.name == "TrueFilter")  # OPTIONAL without FILTER
        test = None if trivial else _test_fn(expr)

        def left_join(ctx: _Ctx, mu: Solution) -> list[Solution]:
            right = p2(ctx, mu)
            out = []
            for a in p1(ctx, mu):
                matched = [m for m in _join([a], right) if test is None or test(ctx, m)]
                out.extend(matched or [a])
            return out

        return left_join
    if name == "BGP":
        return _bgp_fn(node.triples)
    raise Unsupported(f"SPARQL feature {name}")


def _bgp_fn(triples: Sequence[tuple[object, object, object]]) -> PatternFn:
    steps = []
    for s_node, p_node, o_node in triples:
        if isinstance(p_node, Variable):
            raise Unsupported("variable predicates")
        if isinstance(p_node, Path) and not isinstance(p_node, (InvPath, SequencePath, AlternativePath, MulPath)):
            raise Unsupported(f"property path {p_node!r}")
        s_t, o_t = _term(s_node), _term(o_node)
        s_var = s_t[1:] if isinstance(s_t, str) and s_t.startswith("?") else None
        o_var = o_t[1:] if isinstance(o_t, str) and o_t.startswith("?") else None
        steps.append((s_t, s_var, p_node, o_t, o_var))

    def bgp(ctx: _Ctx, mu: Solution) -> list[Solution]:
        view = ctx.view
        sols = [mu]
        for s_t, s_var, p_node, o_t, o_var in steps:
            nxt: list[Solution] = []
            for sol in sols:
                s = sol.get(s_var) if s_var else s_t
                o = sol.get(o_var) if o_var else o_t
                if s is not None:
                    for value in _forward(view, s, p_node):
                        if o is None:
                            nxt.append({**sol, o_var: value})  # type: ignore[dict-item]
                        elif value == o:
                            nxt.append(sol)
                elif o is not None:
                    for value in _backward(view, o, p_node):
                        nxt.append({**sol, s_var: value})  # type: ignore[dict-item]
                else:
                    for a, b in _scan(view, p_node):
                        if s_var == o_var and a != b:
                            continue
                        nxt.append({**sol, s_var: a, o_var: b})  # type: ignore[dict-item]
            sols = nxt
            if not sols:
                break
        return sols

    return bgp


def _scan(view: _View, path: object) -> list[tuple[Term, Term]]:
    pairs = _first_steps(view, path)
    if pairs is not None:
        return pairs
    if isinstance(path, SequencePath) and (first := _first_steps(view, path.args[0])) is not None:
        return [(a, b) for a in dict.fromkeys(a for a, _ in first) for b in _forward(view, a, path)]
    raise Unsupported("a property path with both ends unbound")


def _test_fn(expr: object) -> Callable[[_Ctx, Solution], bool]:
    value = _expr_fn(expr)

    def test(ctx: _Ctx, s: Solution) -> bool:
        try:
            return _ebv(value(ctx, s))
        except _Error:
            return False

    return test


def _expr_fn(expr: object) -> ExprFn:
    if isinstance(expr, Variable):
        name = str(expr)

        def variable(ctx: _Ctx, s: Solution) -> Term:
            v = s.get(name)
            if v is None:
                raise _Error(f"unbound ?{name}")
            return v

        return variable
    if isinstance(expr, (URIRef, Literal)):
        constant = _term(expr)
        return lambda ctx, s: constant  # type: ignore[return-value]
    if not isinstance(expr, CompValue):
        raise Unsupported(f"expression {expr!r}")
    name = expr.name
    if name in ("ConditionalAndExpression", "ConditionalOrExpression"):
        parts = [_expr_fn(e) for e in [expr.expr, *(expr.other or [])]]
        is_and = name == "ConditionalAndExpression"

        def logical(ctx: _Ctx, s: Solution) -> Term:
            return _logical(is_and, tuple(functools.partial(part, ctx, s) for part in parts))

        return logical
    if name in ("UnaryNot", "UnaryMinus", "UnaryPlus"):
        inner = _expr_fn(expr.expr)
        if name == "UnaryNot":
            return lambda ctx, s: _bool(not _ebv(inner(ctx, s)))
        sign = -1 if name == "UnaryMinus" else 1
        return lambda ctx, s: _numeric_literal(sign * _number(inner(ctx, s)))
    if name == "RelationalExpression":
        left = _expr_fn(expr.expr)
        op = expr.op
        if op in ("IN", "NOT IN"):
            members = [_expr_fn(e) for e in expr.other]

            def membership(ctx: _Ctx, s: Solution) -> Term:
                v = left(ctx, s)
                found = False
                for m in members:
                    try:
                        if _compare(v, m(ctx, s), "="):
                            found = True
                            break
                    except _Error:
                        pass
                return _bool(found if op == "IN" else not found)

            return membership
        right = _expr_fn(expr.other)
        order = _ORDER.get(op)

        def relational(ctx: _Ctx, s: Solution) -> Term:
            a, b = left(ctx, s), right(ctx, s)
            if order is not None and type(a) is tuple and type(b) is tuple and a[1] == b[1] == _XSD_INTEGER:
                return _TRUE if order(_number(a), _number(b)) else _FALSE  # what _compare does, without the dispatch
            return _bool(_compare(a, b, op))

        return relational
    if name in ("AdditiveExpression", "MultiplicativeExpression"):
        first = _expr_fn(expr.expr)
        rest = [(op, _expr_fn(e)) for op, e in zip(expr.op or [], expr.other or [], strict=True)]

        def arithmetic(ctx: _Ctx, s: Solution) -> Term:
            return _arithmetic(first(ctx, s), tuple((op, part(ctx, s)) for op, part in rest))

        return arithmetic
    if name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
        pattern = _pattern_fn(_pattern(expr))
        wanted = name == "Builtin_EXISTS"
        return lambda ctx, s: _bool(bool(pattern(ctx, s)) == wanted)
    if name.startswith("Builtin_"):
        function = _FUNCTIONS.get(name[8:])
        if function is None:
            raise Unsupported(f"function {name[8:]}")
        return function(expr)
    raise Unsupported(f"expression {name}")


def _pattern(expr: CompValue) -> CompValue:
    """The algebra of an ``EXISTS`` pattern (rdflib leaves it untranslated), translated once."""
    graph = expr.graph
    if isinstance(graph, CompValue) and graph.name == "GroupGraphPatternSub":
        from rdflib.plugins.sparql.algebra import translateGroupGraphPattern

        translated = translateGroupGraphPattern(graph)
        expr["graph"] = translated
        return translated
    return graph


def _all_vars(node: object) -> set[str]:
    out: set[str] = set()
    if isinstance(node, Variable):
        out.add(str(node))
    elif isinstance(node, CompValue):
        for key, value in node.items():
            if key != "_vars":
                out |= _all_vars(value)
    elif isinstance(node, (list, tuple)):
        for x in node:
            out |= _all_vars(x)
    return out


def _join(left: list[Solution], right: list[Solution]) -> list[Solution]:
    if not left or not right:
        return []
    # The variables bound in every solution on both sides are the hash key; solutions usually share one set of
    # variables per side, and then no other variable can clash.
    left_shapes = {tuple(s) for s in left}
    right_shapes = {tuple(s) for s in right}
    common = set.intersection(*(set(k) for k in left_shapes)) & set.intersection(*(set(k) for k in right_shapes))
    keys = sorted(common)
    uniform = len(left_shapes) == 1 and len(right_shapes) == 1
    table: dict[tuple[Term, ...], list[Solution]] = {}
    for b in right:
        table.setdefault(tuple(b[k] for k in keys), []).append(b)
    out = []
    for a in left:
        for b in table.get(tuple(a[k] for k in keys), ()):
            if uniform or all(a[k] == v for k, v in b.items() if k in a):
                out.append({**a, **b})
    return out


# -- functions: each factory takes the call's algebra node and returns an ExprFn --------------------------------


def _unary(key: str, apply: Callable[[Term], Term]) -> Callable[[CompValue], ExprFn]:
    def factory(expr: CompValue) -> ExprFn:
        arg = _expr_fn(expr[key])
        return lambda ctx, s: apply(arg(ctx, s))

    return factory


def _binary(apply: Callable[[Term, Term], Term]) -> Callable[[CompValue], ExprFn]:
    def factory(expr: CompValue) -> ExprFn:
        a, b = _expr_fn(expr.arg1), _expr_fn(expr.arg2)
        return lambda ctx, s: apply(a(ctx, s), b(ctx, s))

    return factory


def _str(t: Term) -> Term:
    if isinstance(t, tuple):
        return (t[0], _XSD_STRING, None)
    if t.startswith("_:"):
        raise _Error("STR of a blank node")
    return (t, _XSD_STRING, None)


def _strlen(t: Term) -> Term:
    return (str(len(_string(t)[0])), _XSD_INTEGER, None)


def _substring(source: Term, start: Term, length: Term | None) -> Term:
    """SUBSTR(source, start[, length])."""
    text, lang = _string(source)
    first = round(_number(start))
    last = first + round(_number(length)) if length is not None else len(text) + 1
    return (text[max(first, 1) - 1 : max(last, 1) - 1], source[1], lang)  # type: ignore[index]


def _substr(expr: CompValue) -> ExprFn:
    source_fn, start_fn = _expr_fn(expr.arg), _expr_fn(expr.start)
    length_fn = _expr_fn(expr.length) if expr.get("length") is not None else None

    def substr(ctx: _Ctx, s: Solution) -> Term:
        source = source_fn(ctx, s)
        start = start_fn(ctx, s)
        return _substring(source, start, length_fn(ctx, s) if length_fn is not None else None)

    return substr


def _case(upper: bool) -> Callable[[Term], Term]:
    def apply(t: Term) -> Term:
        text, lang = _string(t)
        return (text.upper() if upper else text.lower(), t[1], lang)  # type: ignore[index]

    return apply


def _lang(t: Term) -> Term:
    if not isinstance(t, tuple):
        raise _Error("LANG of a resource")
    return (t[2] or "", _XSD_STRING, None)


def _datatype(t: Term) -> Term:
    if not isinstance(t, tuple):
        raise _Error("DATATYPE of a resource")
    return t[1]


def _bound(expr: CompValue) -> ExprFn:
    name = str(expr.arg)
    return lambda ctx, s: _bool(name in s)


def _regex(expr: CompValue) -> ExprFn:
    text_fn, pattern_fn = _expr_fn(expr.text), _expr_fn(expr.pattern)
    flags_fn = _expr_fn(expr.flags) if expr.get("flags") is not None else None

    def regex(ctx: _Ctx, s: Solution) -> Term:
        text, _ = _string(text_fn(ctx, s))
        pattern, _ = _string(pattern_fn(ctx, s))
        flags = 0
        if flags_fn is not None:
            given, _ = _string(flags_fn(ctx, s))
            flags = (re.I if "i" in given else 0) | (re.M if "m" in given else 0) | (re.S if "s" in given else 0)
        try:
            return _bool(re.search(pattern, text, flags) is not None)
        except re.error:
            raise _Error("bad regular expression") from None

    return regex


def _if(expr: CompValue) -> ExprFn:
    cond, then, other = _expr_fn(expr.arg1), _expr_fn(expr.arg2), _expr_fn(expr.arg3)
    return lambda ctx, s: then(ctx, s) if _ebv(cond(ctx, s)) else other(ctx, s)


def _coalesce(expr: CompValue) -> ExprFn:
    parts = [_expr_fn(e) for e in expr.arg]

    def coalesce(ctx: _Ctx, s: Solution) -> Term:
        for part in parts:
            try:
                return part(ctx, s)
            except _Error:
                continue
        raise _Error("COALESCE: no value")

    return coalesce


def _concat(expr: CompValue) -> ExprFn:
    parts = [_expr_fn(e) for e in expr.arg]
    return lambda ctx, s: ("".join(_string(p(ctx, s))[0] for p in parts), _XSD_STRING, None)


def _is_iri(t: Term) -> bool:
    return isinstance(t, str) and not t.startswith("_:")


# Functions that evaluate all their arguments first (the generated code calls these directly).
_STRICT_UNARY: dict[str, Callable[[Term], Term]] = {
    "STR": _str,
    "STRLEN": _strlen,
    "LCASE": _case(False),
    "UCASE": _case(True),
    "LANG": _lang,
    "DATATYPE": _datatype,
    "isIRI": lambda t: _bool(_is_iri(t)),
    "isURI": lambda t: _bool(_is_iri(t)),
    "isBLANK": lambda t: _bool(isinstance(t, str) and t.startswith("_:")),
    "isLITERAL": lambda t: _bool(isinstance(t, tuple)),
    "isNUMERIC": lambda t: _bool(_is_number(t)),
}
_STRICT_BINARY: dict[str, Callable[[Term, Term], Term]] = {
    "CONTAINS": lambda a, b: _bool(_string(b)[0] in _string(a)[0]),
    "STRSTARTS": lambda a, b: _bool(_string(a)[0].startswith(_string(b)[0])),
    "STRENDS": lambda a, b: _bool(_string(a)[0].endswith(_string(b)[0])),
    "sameTerm": lambda a, b: _bool(a == b),
}

_FUNCTIONS: dict[str, Callable[[CompValue], ExprFn]] = {
    **{name: _unary("arg", apply) for name, apply in _STRICT_UNARY.items()},
    **{name: _binary(apply) for name, apply in _STRICT_BINARY.items()},
    "SUBSTR": _substr,
    "BOUND": _bound,
    "REGEX": _regex,
    "IF": _if,
    "COALESCE": _coalesce,
    "CONCAT": _concat,
}


# -- generated Python: a SELECT in the common subset compiled into nested loops ---------------------------------
#
# A query made of BGPs, UNION, a JOIN whose right side is BGPs and UNIONs, BIND, FILTER, DISTINCT and a projection
# (what the constraints of ontology/shapes.ttl use) is turned into the source of one Python function: one loop per
# triple pattern over the view's indexes, variables as local variables (``None`` while unbound), BIND as an
# assignment, FILTER as an ``if``; the expressions call the helpers above, so the results are those of the
# closure evaluator. Expressions outside the helpers (EXISTS, REGEX, IF, COALESCE, IN...) call the closure
# evaluator's function on a solution made of the local variables. Anything else: :class:`Unsupported`, and the
# query runs on the closure evaluator.

_BASIC = ("BGP", "Union", "Join")


def _substitutable(node: CompValue) -> bool:
    """Whether ``node`` may be evaluated with the bindings of a pattern joined to its left substituted in (only
    triple patterns: the scope of a FILTER or BIND inside it would change)."""
    if node.name == "BGP":
        return True
    if node.name == "Union":
        return _substitutable(node.p1) and _substitutable(node.p2)
    if node.name == "Join":
        return _substitutable(node.p1) and _substitutable(node.p2)
    return False


class _Generator:
    """Writes the source of a query's function: ``def run(view, this, ctx)`` returning its solutions."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, object] = {}  # constants and helpers the source refers to
        self.counter = 0
        self.distinct = False
        self.project: CompValue | None = None

    def constant(self, value: object) -> str:
        name = f"_k{len(self.names)}"
        self.names[name] = value
        return name

    def fresh(self) -> str:
        self.counter += 1
        return f"_t{self.counter}"

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    @staticmethod
    def local(var: str) -> str:
        if not var.isidentifier():
            raise Unsupported(f"variable name {var!r}")
        return "v_" + var

    # patterns: each writes its loops, then calls ``then(bound, maybe, indent)`` for the code run per solution;
    # ``bound``: variables certainly bound there, ``maybe``: variables that may be unbound (None).

    def pattern(self, node: CompValue, bound: frozenset[str], maybe: frozenset[str], indent: int,
                then: Callable[[frozenset[str], frozenset[str], int], None]) -> None:
        name = node.name
        if name in ("SelectQuery", "OrderBy"):
            self.pattern(node.p, bound, maybe, indent, then)
        elif name in ("Distinct", "Reduced"):
            self.distinct = self.distinct or name == "Distinct"
            self.pattern(node.p, bound, maybe, indent, then)
        elif node is self.project:  # the query's own projection: the code per solution keeps its variables
            self.pattern(node.p, bound, maybe, indent, then)
        elif name == "Filter":
            self.filter(_conjuncts(node.expr), node.p, bound, maybe, indent, then)
        elif name == "Extend":
            self.pattern(node.p, bound, maybe, indent, self.bind(str(node.var), node.expr, then))
        elif name == "Union":
            self.pattern(node.p1, bound, maybe, indent, then)
            self.pattern(node.p2, bound, maybe, indent, then)
        elif name == "Join":
            if not _substitutable(node.p2):
                raise Unsupported("a join with FILTER, BIND or OPTIONAL on its right side")
            right = node.p2

            def joined(b: frozenset[str], m: frozenset[str], i: int) -> None:
                if m & _all_vars(right):
                    raise Unsupported("a join on a variable that may be unbound")
                self.pattern(right, b, m, i, then)

            self.pattern(node.p1, bound, maybe, indent, joined)
        elif name == "BGP":
            self.triples(list(node.triples), bound, maybe, indent, then)
        else:
            raise Unsupported(f"SPARQL feature {name} in generated code")

    def bind(self, var: str, expr: object, then: Callable[[frozenset[str], frozenset[str], int], None]
             ) -> Callable[[frozenset[str], frozenset[str], int], None]:
        """The code per solution of a BIND: the variable assigned (unbound, None, when the expression fails)."""

        def extended(b: frozenset[str], m: frozenset[str], i: int) -> None:
            if var in b or var in m:
                raise Unsupported(f"BIND to ?{var}, already in scope")
            value = self.expression(expr, b, m)
            local = self.local(var)
            self.emit(i, "try:")
            self.emit(i + 1, f"{local} = {value}")
            self.emit(i, "except _Error:")
            self.emit(i + 1, f"{local} = None")
            then(b, m | {var}, i)

        return extended

    def filter(self, parts: list[object], inner: CompValue, bound: frozenset[str], maybe: frozenset[str],
               indent: int, then: Callable[[frozenset[str], frozenset[str], int], None]) -> None:
        """A FILTER of the conjunction of ``parts`` over ``inner``. Over a BIND, the parts that do not use its
        variable are tested before it (a BIND neither adds nor removes solutions, so the result is the same and
        the expression is not computed for solutions they reject)."""

        def tested(tests: list[object], after: Callable[[frozenset[str], frozenset[str], int], None]
                   ) -> Callable[[frozenset[str], frozenset[str], int], None]:
            def run(b: frozenset[str], m: frozenset[str], i: int) -> None:
                for e in tests:
                    i = self.test(e, b, m, i)
                after(b, m, i)

            return run

        if inner.name == "Extend":
            var = str(inner.var)
            early = [e for e in parts if var not in _all_vars(e)]
            if early:
                late = [e for e in parts if var in _all_vars(e)]
                self.filter(early, inner.p, bound, maybe, indent, self.bind(var, inner.expr, tested(late, then)))
                return
        self.pattern(inner, bound, maybe, indent, tested(parts, then))

    def test(self, expr: object, bound: frozenset[str], maybe: frozenset[str], indent: int) -> int:
        """Write the ``if`` of a FILTER; return the indent of the code it guards. A conjunction is one ``if`` per
        part (a FILTER keeps a solution when every part is true: an error or false in any rejects it); a
        disjunction keeps it when one part is true (errors in the others do not matter)."""
        if isinstance(expr, CompValue) and expr.name == "ConditionalAndExpression":
            for part in [expr.expr, *(expr.other or [])]:
                indent = self.test(part, bound, maybe, indent)
            return indent
        if isinstance(expr, CompValue) and expr.name == "ConditionalOrExpression":
            ok = self.fresh()
            self.emit(indent, f"{ok} = False")
            for part in [expr.expr, *(expr.other or [])]:
                self.emit(indent, f"if not {ok}:")
                self.emit(indent + 1, "try:")
                self.emit(indent + 2, f"{ok} = _ebv({self.expression(part, bound, maybe)})")
                self.emit(indent + 1, "except _Error:")
                self.emit(indent + 2, "pass")
            self.emit(indent, f"if {ok}:")
            return indent + 1
        self.emit(indent, "try:")
        self.emit(indent + 1, f"_ok = _ebv({self.expression(expr, bound, maybe)})")
        self.emit(indent, "except _Error:")
        self.emit(indent + 1, "_ok = False")
        self.emit(indent, "if _ok:")
        return indent + 1

    def term(self, node: object) -> tuple[str | None, str | None]:
        """(variable name or None, Python expression of a constant or None)."""
        t = _term(node)
        if isinstance(t, str) and t.startswith("?"):
            return t[1:], None
        return None, self.constant(t)

    def triples(self, triples: list[tuple[object, object, object]], bound: frozenset[str], maybe: frozenset[str],
                indent: int, then: Callable[[frozenset[str], frozenset[str], int], None]) -> None:
        if not triples:
            then(bound, maybe, indent)
            return
        (s_node, p_node, o_node), rest = triples[0], triples[1:]
        if isinstance(p_node, Variable):
            raise Unsupported("variable predicates")
        if isinstance(p_node, Path) and not isinstance(p_node, (InvPath, SequencePath, AlternativePath, MulPath)):
            raise Unsupported(f"property path {p_node!r}")
        s_var, s_const = self.term(s_node)
        o_var, o_const = self.term(o_node)
        for var in (s_var, o_var):
            if var is not None and var in maybe:
                raise Unsupported("a triple pattern on a variable that may be unbound")
        s = s_const if s_var is None else (self.local(s_var) if s_var in bound else None)
        o = o_const if o_var is None else (self.local(o_var) if o_var in bound else None)
        plain = isinstance(p_node, URIRef)
        p = self.constant(str(p_node) if plain else p_node)
        now = set(bound)
        if s is not None:
            values = f"view.objects({s}, {p})" if plain else f"_forward(view, {s}, {p})"
            if o is not None:
                loop = self.fresh()
                self.emit(indent, f"for {loop} in {values}:")
                self.emit(indent + 1, f"if {loop} == {o}:")
                indent += 2
            else:
                self.emit(indent, f"for {self.local(o_var)} in {values}:")  # type: ignore[arg-type]
                now.add(o_var)  # type: ignore[arg-type]
                indent += 1
        elif o is not None:
            values = f"view.subjects({p}, {o})" if plain else f"_backward(view, {o}, {p})"
            self.emit(indent, f"for {self.local(s_var)} in {values}:")  # type: ignore[arg-type]
            now.add(s_var)  # type: ignore[arg-type]
            indent += 1
        else:
            path = self.constant(p_node)
            if s_var == o_var:
                a, b = self.fresh(), self.fresh()
                self.emit(indent, f"for {a}, {b} in _scan(view, {path}):")
                self.emit(indent + 1, f"if {a} == {b}:")
                self.emit(indent + 2, f"{self.local(s_var)} = {a}")  # type: ignore[arg-type]
                indent += 2
            else:
                self.emit(indent, f"for {self.local(s_var)}, {self.local(o_var)} in _scan(view, {path}):")  # type: ignore[arg-type]
                indent += 1
            now |= {s_var, o_var}  # type: ignore[arg-type]
        self.triples(rest, frozenset(now), maybe, indent, then)

    # expressions: a Python expression evaluating to a term or raising _Error

    def expression(self, expr: object, bound: frozenset[str], maybe: frozenset[str]) -> str:
        if isinstance(expr, Variable):
            var = str(expr)
            if var in bound:
                return self.local(var)
            if var in maybe:
                return f"_need({self.local(var)})"
            return "_need(None)"
        if isinstance(expr, (URIRef, Literal)):
            return self.constant(_term(expr))
        if not isinstance(expr, CompValue):
            raise Unsupported(f"expression {expr!r}")
        name = expr.name
        if name in ("ConditionalAndExpression", "ConditionalOrExpression"):
            parts = ", ".join(f"lambda: {self.expression(e, bound, maybe)}" for e in [expr.expr, *(expr.other or [])])
            return f"_logical({name == 'ConditionalAndExpression'}, ({parts},))"
        if name == "UnaryNot":
            return f"_bool(not _ebv({self.expression(expr.expr, bound, maybe)}))"
        if name in ("UnaryMinus", "UnaryPlus"):
            sign = -1 if name == "UnaryMinus" else 1
            return f"_numeric_literal({sign} * _number({self.expression(expr.expr, bound, maybe)}))"
        if name == "RelationalExpression" and expr.op not in ("IN", "NOT IN"):
            a = self.expression(expr.expr, bound, maybe)
            b = self.expression(expr.other, bound, maybe)
            if str(expr.op) not in _RELATIONAL:
                raise Unsupported(f"operator {expr.op}")
            return f"{self.constant(_RELATIONAL[str(expr.op)])}({a}, {b})"
        if name in ("AdditiveExpression", "MultiplicativeExpression"):
            first = self.expression(expr.expr, bound, maybe)
            rest = ", ".join(f"({op!r}, {self.expression(e, bound, maybe)})"
                             for op, e in zip(expr.op or [], expr.other or [], strict=True))
            return f"_arithmetic({first}, ({rest},))" if rest else f"_arithmetic({first}, ())"
        if name.startswith("Builtin_"):
            function = name[8:]
            if function in _STRICT_UNARY:
                return f"{self.constant(_STRICT_UNARY[function])}({self.expression(expr.arg, bound, maybe)})"
            if function in _STRICT_BINARY:
                a = self.expression(expr.arg1, bound, maybe)
                b = self.expression(expr.arg2, bound, maybe)
                return f"{self.constant(_STRICT_BINARY[function])}({a}, {b})"
            if function == "SUBSTR":
                source = self.expression(expr.arg, bound, maybe)
                start = self.expression(expr.start, bound, maybe)
                length = self.expression(expr.length, bound, maybe) if expr.get("length") is not None else "None"
                return f"_substring({source}, {start}, {length})"
            if function == "BOUND":
                var = str(expr.arg)
                return "_TRUE" if var in bound else (
                    f"_bool({self.local(var)} is not None)" if var in maybe else "_FALSE")
        # Anything else: the closure evaluator's function, on a solution of the variables in scope.
        closure = self.constant(_expr_fn(expr))
        pairs = [f"{var!r}: {self.local(var)}" for var in sorted(bound)]
        if maybe:
            extra = ", ".join(f"({var!r}, {self.local(var)})" for var in sorted(maybe))
            solution = f"_solution({{{', '.join(pairs)}}}, ({extra},))"
        else:
            solution = f"{{{', '.join(pairs)}}}"
        return f"{closure}(ctx, {solution})"

    def generate(self, algebra: CompValue) -> Callable[[_View, Term, _Ctx], list[Solution]]:
        project = algebra
        while project.name in ("SelectQuery", "OrderBy", "Distinct", "Reduced"):
            project = project.p
        if project.name != "Project":
            raise Unsupported("no projection")
        self.project = project
        keep = sorted(frozenset(str(v) for v in project.PV) | {"this"})
        if _has_subquery(project.p):
            raise Unsupported("a sub-query")
        self.emit(1, "v_this = this")

        def row(b: frozenset[str], m: frozenset[str], i: int) -> None:
            certain = ", ".join(f"{var!r}: {self.local(var)}" for var in keep if var in b)
            self.emit(i, f"_row = {{{certain}}}")
            for var in keep:
                if var in m:
                    self.emit(i, f"if {self.local(var)} is not None:")
                    self.emit(i + 1, f"_row[{var!r}] = {self.local(var)}")
            self.emit(i, "_out.append(_row)")

        self.emit(1, "_out = []")
        self.pattern(algebra, frozenset({"this"}), frozenset(), 1, row)
        if self.distinct:
            self.emit(1, "_out = list({tuple(sorted(r.items())): r for r in _out}.values())")
        self.emit(1, "return _out")
        source = "def run(view, this, ctx):\n" + "\n".join(self.lines) + "\n"
        namespace: dict[str, object] = {
            **self.names, "_forward": _forward, "_backward": _backward, "_scan": _scan, "_ebv": _ebv,
            "_Error": _Error, "_need": _need, "_logical": _logical, "_bool": _bool, "_numeric_literal": _numeric_literal,
            "_number": _number, "_arithmetic": _arithmetic, "_substring": _substring,
            "_solution": _solution, "_TRUE": _TRUE, "_FALSE": _FALSE,
        }
        exec(compile(source, "<shapes SPARQL constraint>", "exec"), namespace)  # noqa: S102 - our own source
        function = namespace["run"]
        function.source = source  # type: ignore[attr-defined]
        return function  # type: ignore[return-value]


def _conjuncts(expr: object) -> list[object]:
    """The parts of a conjunction (nested ones flattened); ``[expr]`` for anything else."""
    if isinstance(expr, CompValue) and expr.name == "ConditionalAndExpression":
        return [part for e in [expr.expr, *(expr.other or [])] for part in _conjuncts(e)]
    return [expr]


def _has_subquery(node: object) -> bool:
    if isinstance(node, CompValue):
        if node.name in ("Project", "SelectQuery", "Group", "AggregateJoin", "ToMultiSet", "values"):
            return True
        return any(_has_subquery(v) for k, v in node.items() if k in ("p", "p1", "p2"))
    return False


def _need(value: Term | None) -> Term:
    if value is None:
        raise _Error("unbound variable")
    return value


def _solution(certain: Solution, maybe: tuple[tuple[str, Term | None], ...]) -> Solution:
    for var, value in maybe:
        if value is not None:
            certain[var] = value
    return certain


def _logical(is_and: bool, parts: tuple[Callable[[], Term], ...]) -> Term:
    """``&&`` / ``||`` with SPARQL's error rules (what the closure evaluator's ``logical`` does)."""
    error = False
    for part in parts:
        try:
            if _ebv(part()) != is_and:
                return _bool(not is_and)
        except _Error:
            error = True
    if error:
        raise _Error("error in a logical expression")
    return _bool(is_and)


def _relational(op: str) -> Callable[[Term, Term], Term]:
    """A comparison operator (what the closure evaluator's ``relational`` does)."""
    order = _ORDER.get(op)

    def relational(a: Term, b: Term) -> Term:
        if order is not None and type(a) is tuple and type(b) is tuple and a[1] == b[1] == _XSD_INTEGER:
            return _TRUE if order(_number(a), _number(b)) else _FALSE
        return _bool(_compare(a, b, op))

    return relational


_RELATIONAL = {op: _relational(op) for op in ("=", "!=", "<", ">", "<=", ">=")}


def _arithmetic(first: Term, rest: tuple[tuple[str, Term], ...]) -> Term:
    total = _number(first)
    for op, part in rest:
        n = _number(part)
        if op == "+":
            total = total + n  # type: ignore[operator]
        elif op == "-":
            total = total - n  # type: ignore[operator]
        elif op == "*":
            total = total * n  # type: ignore[operator]
        else:
            if n == 0:
                raise _Error("division by zero")
            total = (Decimal(total) / Decimal(n)) if isinstance(total, int) and isinstance(n, int) else total / n  # type: ignore[operator]
    return _numeric_literal(total)


def compile_select(text: str, *, generate: bool = True) -> Select:
    """Parse a SPARQL ``SELECT`` (prefixes included) into a :class:`Select` (``generate``: as generated Python when
    it can be). Raises :class:`Unsupported` for a query using a feature outside this evaluator, ``SyntaxError`` for
    one that does not parse."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        query = translateQuery(parseQuery(text))
    except Exception as exc:  # noqa: BLE001 - pyparsing and rdflib raise many kinds
        raise SyntaxError(f"SPARQL constraint does not parse: {exc}") from exc
    algebra = query.algebra
    if algebra.name != "SelectQuery":
        raise Unsupported("not a SELECT")
    _translate_exists(algebra)
    return Select(algebra, generate=generate)


def _translate_exists(node: object) -> None:
    if isinstance(node, CompValue):
        if node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            _pattern(node)
        for key, value in list(node.items()):
            if key != "_vars":
                _translate_exists(value)
    elif isinstance(node, (list, tuple)):
        for x in node:
            _translate_exists(x)


__all__: Iterable[str] = ["Select", "Unsupported", "compile_select"]
