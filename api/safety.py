"""Look at a SPARQL request before it runs: what kind of query it is, which graphs it names, and whether the
public endpoint must refuse it.

The engine (Oxigraph, in a worker process) is the judge of syntax: a query that does not parse comes back from
the worker with the parser's message. What this module decides, in the server process and in well under a
millisecond, is *policy*: it lexes the text the way the SPARQL 1.1 grammar does (strings, IRIs, comments,
prefixed names are single tokens) and refuses updates, ``LOAD`` and ``SERVICE`` (Oxigraph would really fetch a
``SERVICE`` URL), and ``FROM``/``FROM NAMED``/``default-graph-uri``/``named-graph-uri`` naming anything but a
graph of our store. The token stream also gives the normalised text used as a cache key.

>>> info = analyse_query("PREFIX g: <http://g/>  SELECT * FROM g:one { ?s ?p 'a  b' } # comment")
>>> info.form, info.from_graphs, info.normalised  # doctest: +NORMALIZE_WHITESPACE
('SELECT', ('http://g/one',), "PREFIX g: <http://g/> SELECT * FROM g:one { ?s ?p 'a  b' }")
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin

from kg.errors import BadQuery, Forbidden

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH", "USING"}
)

# One alternative per token kind, tried in this order at each position (the SPARQL 1.1 terminals, section 19.8).
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][^\W][\w\u00B7\u0300-\u036F\u203F-\u2040]*)
  | (?P<bnode>_:[\w\-.\u00B7]*)
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<pname>(?:[^\W\d_][\w\-.\u00B7]*)?:(?:[\w\-.:%\u00B7]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<punct>\^\^|\|\||&&|!=|<=|>=|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_UNICODE_ESCAPE_RE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind (a group name of the lexer) and its text."""

    kind: str
    text: str


@dataclass(frozen=True)
class QueryInfo:
    """What the server needs to know about a query before running it.

    ``form`` is SELECT, ASK, CONSTRUCT or DESCRIBE; ``from_graphs``/``from_named`` the IRIs of the query's own
    ``FROM``/``FROM NAMED`` clauses (prefixes expanded, relative IRIs resolved against ``BASE``);
    ``normalised`` the query with comments dropped and whitespace between tokens collapsed (same meaning,
    same text: the cache key); ``text`` what the engine runs: the query as sent, each ``GROUP_CONCAT`` wrapped
    in ``STR`` (see :func:`_simple_group_concat`).
    """

    form: str
    from_graphs: tuple[str, ...]
    from_named: tuple[str, ...]
    normalised: str
    text: str

    @property
    def is_graph_result(self) -> bool:
        """True for CONSTRUCT and DESCRIBE (an RDF graph), False for SELECT and ASK (a results table)."""
        return self.form in ("CONSTRUCT", "DESCRIBE")


def tokenize(text: str) -> list[Token]:
    """Split SPARQL text into tokens, dropping whitespace and comments.

    Raises :class:`BadQuery` for text no SPARQL parser could accept (an unterminated string or IRI).

    >>> [t.text for t in tokenize("ASK { ?s a 'x # not a comment' } # a comment")]
    ['ASK', '{', '?s', 'a', "'x # not a comment'", '}']
    """
    return [token for token, _ in _positioned_tokens(text)]


def _positioned_tokens(text: str) -> list[tuple[Token, int]]:
    """:func:`tokenize`, with the character offset where each token starts."""
    tokens: list[tuple[Token, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        assert match is not None  # the last alternative matches any character
        kind = match.lastgroup or "punct"
        value = match.group()
        if kind == "pname":
            # A prefixed name cannot end with '.', which then ends the triple pattern instead.
            stripped = value.rstrip(".")
            if stripped.endswith(":") or not stripped.endswith("\\"):
                value = stripped
        if kind == "punct" and value in ("'", '"'):
            raise BadQuery(f"unterminated string starting at character {pos}")
        if kind not in ("ws", "comment"):
            tokens.append((Token(kind, value), pos))
        pos += len(value)
    return tokens


def _unescape_codepoints(text: str) -> str:
    r"""Apply ``\uXXXX``/``\UXXXXXXXX`` escapes, which SPARQL 1.1 (section 19.2) allows anywhere in a query."""

    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group()

    return _UNICODE_ESCAPE_RE.sub(replace, text)


def _forbidden_keyword(tokens: Iterable[Token]) -> str | None:
    for token in tokens:
        if token.kind == "word" and token.text.upper() in ("SERVICE", "LOAD"):
            return token.text.upper()
    return None


def _resolve(token: Token, prefixes: dict[str, str], base: str | None) -> str:
    if token.kind == "iri":
        iri = token.text[1:-1]
        return urljoin(base, iri) if base else iri
    prefix, _, local = token.text.partition(":")
    if prefix not in prefixes:
        raise BadQuery(f"prefix {prefix!r} is not declared")
    return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)


@lru_cache(maxsize=2048)
def analyse_query(text: str, base_iri: str | None = None) -> QueryInfo:
    """Classify a query and apply the endpoint's refusals.

    Returns a :class:`QueryInfo`. Raises :class:`Forbidden` (403) for an update (sent as a query or not),
    ``LOAD`` or ``SERVICE`` anywhere in the text, and :class:`BadQuery` (400) when no query form is found or
    the text cannot be lexed. Whether the rest is valid SPARQL is for the engine to say. ``base_iri`` is the
    base the engine resolves relative IRIs against before any ``BASE`` of the query. Results are memoised
    (repeated queries are the common case); refusals are not.
    """
    positioned = _positioned_tokens(text)
    tokens = [token for token, _ in positioned]
    _check_nesting(tokens)
    prefixes: dict[str, str] = {}
    base: str | None = base_iri
    form: str | None = None
    index = 0
    # The prologue: BASE and PREFIX declarations, then the query form.
    while index < len(tokens):
        token = tokens[index]
        upper = token.text.upper() if token.kind == "word" else ""
        if upper == "BASE" and index + 1 < len(tokens) and tokens[index + 1].kind == "iri":
            base = _resolve(tokens[index + 1], prefixes, base)
            index += 2
        elif (
            upper == "PREFIX"
            and index + 2 < len(tokens)
            and tokens[index + 1].kind == "pname"
            and tokens[index + 2].kind == "iri"
        ):
            prefixes[tokens[index + 1].text.rstrip(":").partition(":")[0]] = _resolve(tokens[index + 2], prefixes, base)
            index += 3
        else:
            if upper in QUERY_FORMS:
                form = upper
            elif upper in UPDATE_KEYWORDS:
                raise Forbidden(
                    f"SPARQL updates ({upper}) are not accepted: this endpoint is read-only", reason="update"
                )
            break
    keyword = _forbidden_keyword(tokens) or _forbidden_keyword(_lenient_tokens(_unescape_codepoints(text)))
    if keyword == "SERVICE":
        raise Forbidden("SERVICE is not allowed: this endpoint does not query other endpoints", reason="service")
    if keyword == "LOAD":
        raise Forbidden("LOAD is not allowed: this endpoint is read-only and fetches nothing", reason="update")
    if form is None:
        raise BadQuery("not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE after the prologue")

    from_graphs: list[str] = []
    from_named: list[str] = []
    for position in range(index, len(tokens) - 1):
        if tokens[position].kind != "word" or tokens[position].text.upper() != "FROM":
            continue
        target = tokens[position + 1]
        named = target.kind == "word" and target.text.upper() == "NAMED"
        if named:
            if position + 2 >= len(tokens):
                continue
            target = tokens[position + 2]
        if target.kind in ("iri", "pname"):
            (from_named if named else from_graphs).append(_resolve(target, prefixes, base))
    normalised = " ".join(token.text for token in tokens)
    return QueryInfo(form, tuple(from_graphs), tuple(from_named), normalised, _simple_group_concat(text, positioned))


def _simple_group_concat(text: str, positioned: list[tuple[Token, int]]) -> str:
    """``text`` with every ``GROUP_CONCAT(...)`` wrapped in ``STR(...)``, so that it yields a simple literal.

    SPARQL 1.1 defines GROUP_CONCAT's result as a simple literal, and the W3C tests (``agg-groupconcat-04``/``-06``)
    and Jena/Fuseki agree; Oxigraph keeps a language tag the concatenated values share (``"a b"@en``). ``STR`` of
    a simple or ``xsd:string`` literal is the same literal, and an error stays an error, so the wrapped aggregate
    differs from the original only there. The insertions are made in the original text, tokens found by the
    lexer (a ``GROUP_CONCAT`` inside a string, IRI or comment is left alone); text without a complete call is
    returned as it is, for the engine to report.

    >>> _simple_group_concat("SELECT (group_concat(?x; separator=')') AS ?y) {}", _positioned_tokens(
    ...     "SELECT (group_concat(?x; separator=')') AS ?y) {}"))
    "SELECT (STR(group_concat(?x; separator=')')) AS ?y) {}"
    """
    inserts: list[tuple[int, str]] = []
    for index, (token, start) in enumerate(positioned):
        if token.kind != "word" or token.text.upper() != "GROUP_CONCAT":
            continue
        if index + 1 >= len(positioned) or positioned[index + 1][0].text != "(":
            continue
        depth = 0
        for following, at in positioned[index + 1 :]:
            if following.kind != "punct":
                continue
            if following.text == "(":
                depth += 1
            elif following.text == ")":
                depth -= 1
                if depth == 0:
                    inserts += [(start, "STR("), (at + 1, ")")]
                    break
    for at, piece in sorted(inserts, key=lambda insert: insert[0], reverse=True):
        text = text[:at] + piece + text[at:]
    return text


#: Deepest nesting of ``{``, ``(`` and ``[`` accepted. Real queries stay far below; Oxigraph's recursive parser
#: overflows its stack (and kills the worker) somewhere past a few thousand levels.
MAX_NESTING = 256
_OPENERS = frozenset("{([")
_CLOSERS = frozenset("})]")


def _check_nesting(tokens: Iterable[Token]) -> None:
    """Raise :class:`BadQuery` when groups, brackets or parentheses nest deeper than :data:`MAX_NESTING`."""
    depth = 0
    for token in tokens:
        if token.kind != "punct":
            continue
        if token.text in _OPENERS:
            depth += 1
            if depth > MAX_NESTING:
                raise BadQuery(f"the query nests groups or expressions more than {MAX_NESTING} levels deep")
        elif token.text in _CLOSERS:
            depth -= 1


def _lenient_tokens(text: str) -> list[Token]:
    """Tokens of the text with unicode escapes applied; a lexing failure there yields no tokens (the raw
    text's lexing already decided)."""
    try:
        return tokenize(text)
    except BadQuery:
        return []


def check_dataset(
    graphs: Iterable[str], available: frozenset[str] | set[str], *, source: str = "the request"
) -> None:
    """Refuse a dataset naming a graph that is not in our store.

    ``graphs`` are the IRIs named by FROM/FROM NAMED or by the protocol parameters; ``available`` the store's
    named graphs. Raises :class:`Forbidden`: the endpoint never fetches a graph from elsewhere.
    """
    unknown = sorted(set(graphs) - set(available))
    if unknown:
        shown = ", ".join(f"<{iri}>" for iri in unknown[:5])
        raise Forbidden(
            f"{source} names graphs that are not in this store: {shown}; only the store's own graphs can be "
            "used (the list is in the service description at GET /sparql)",
            reason="unknown-graph",
        )
