"""A store kept in any SPARQL 1.1 server (the scale-out path), reached through SPARQLWrapper.

Reads go to the server's SPARQL 1.1 query endpoint and come back as the same pyoxigraph result objects the embedded
store returns (:class:`pyoxigraph.QuerySolutions`, :class:`pyoxigraph.QueryBoolean`,
:class:`pyoxigraph.QueryTriples`), so the API and the build cannot tell the two apart.

Writes use SPARQL 1.1 Update only (``INSERT DATA`` in chunks, ``MOVE``, ``DROP``), which every server supports:
:meth:`RemoteStore.replace_graphs` first writes each new graph under a temporary graph name, and only when every chunk
of every graph has been accepted swaps them in with one request of ``MOVE`` operations. A failed ingest therefore
leaves the old graphs in place (and removes its temporary graphs). How atomic the final swap request is depends on the
server: Virtuoso 7.2 applies the operations of one request one after the other and does not undo earlier ones when a
later one fails (seen here), so the window left is that one request of ``MOVE SILENT``/``DROP SILENT`` operations,
which have nothing left to fail on but the server itself.

Server differences handled here (Virtuoso 7.2 from Debian is the one we test):

- Virtuoso refuses blank nodes in ``INSERT DATA``; chunks with blank nodes are sent as ``INSERT {...} WHERE {}``,
  and all triples connected through a blank node go in the same chunk (a blank node label means one node only within
  one request).
- A blank-node structure is never split, and Virtuoso compiles ``INSERT {...} WHERE {}`` into SQL of limited length
  (about 1,500 template triples; seen here: 1,400 pass, 2,000 fail), so a single blank-node structure larger than
  that cannot be written to Virtuoso; it has no ``BNODE(str)`` to rebuild one from pieces either. Our graphs have
  none that large (the largest are OWL lists and restrictions).
- Virtuoso names blank nodes ``nodeID://b123`` in results, which is not a valid blank node label; they are renamed
  (injectively) before parsing.
- Every query carries the time limit as ``timeout`` (milliseconds), which Virtuoso enforces on the server, so an
  overrunning query is stopped there and not only abandoned by us. Virtuoso then answers with a *partial* result
  and an ``X-SQL-State`` header (as it does past its ``MaxQueryExecutionTime``); that is turned into
  :class:`kg.errors.QueryTimeout` rather than a silently truncated answer.
- Virtuoso's implicit default graph is the union of *all* its graphs, including its own system graphs (``virtrdf:``
  and a few more, about 2,500 triples in a fresh database), and its DESCRIBE finds nothing over it; Fuseki's is a
  graph of its own. So a query that names no dataset is sent with our graphs (:meth:`RemoteStore.graph_names`) as
  ``default-graph-uri`` and ``named-graph-uri``: it sees what the embedded store would. The list is cached for as
  long as the generation marker (:meth:`RemoteStore.generation`, one small query per request) stays the same;
  graphs written to the server by other means than this class are not seen until the next write through it.
  (Virtuoso's ``define input:default-graph-exclude`` pragmas were tried and dropped: with them Virtuoso 7.2 counted
  ``GRAPH <g> {...}`` wrongly and returned empty CONSTRUCT results.) Virtuoso's DESCRIBE also returns triples
  *into* the resource.
- Virtuoso refuses a ``+``/``*`` property path whose both ends are free ("transitive start not given"); bind the
  start first (``?d a dec:Declaration ; cito:cites+ ?e`` works). That error is reported as :class:`StoreError`.
- Virtuoso lower-cases language tags (``fr-CA`` comes back as ``fr-ca``; RDF compares them case-insensitively).
- Virtuoso does not accept a malformed typed literal (``"x"^^xsd:integer``) in an update.

Substitutions (pre-bound variables, as pyoxigraph's ``substitutions=``) are sent as a ``VALUES`` block placed first in
the query's top-level ``WHERE`` group; values are written as RDF terms by pyoxigraph, never spliced as raw text.
"""

from __future__ import annotations

import gzip
import logging
import math
import re
import socket
import uuid
import urllib.error
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Union

import pyoxigraph as ox
from SPARQLWrapper import DIGEST, POST, SPARQLWrapper, URLENCODED
from SPARQLWrapper.SPARQLExceptions import (
    EndPointInternalError,
    EndPointNotFound,
    QueryBadFormed,
    SPARQLWrapperException,
    Unauthorized,
    URITooLong,
)

from kg.errors import BadInput, BadQuery, KGError, QueryTimeout, StoreError
from kg.namespaces import DEC, GRAPH_BASE, PREFIXES
from kg.settings import Settings
from kg.store.base import EXPORT_FORMATS, ExportFormat, GraphEdit, Store, check_apply_arguments

log = logging.getLogger(__name__)

QueryResult = Union[ox.QuerySolutions, ox.QueryBoolean, ox.QueryTriples]
Statement = Union[ox.Triple, ox.Quad]

# Graphs a fresh Virtuoso database holds for itself; never ours, never listed.
SYSTEM_GRAPH_PREFIXES: tuple[str, ...] = (
    "http://www.openlinksw.com/",
    "http://www.w3.org/ns/ldp#",
    "http://localuriqaserver/",
    "http://localhost:8890/",
    "urn:activitystreams-owl:map",
    "virtrdf:",
)
TEMP_GRAPH_BASE = GRAPH_BASE + "tmp/"
"""Temporary graphs of an unfinished :meth:`RemoteStore.replace_graphs` live under this prefix."""
META_GRAPH = GRAPH_BASE + "meta"
"""Holds one triple, the store's generation marker (see :meth:`RemoteStore.generation`); not listed as ours."""
GENERATION = str(DEC) + "generation"

CHUNK_TRIPLES = 2_000
BNODE_CHUNK_TRIPLES = 1_000
CHUNK_BYTES = 400_000

_ACCEPT_RESULTS = "application/sparql-results+json, application/sparql-results+xml;q=0.5"
_ACCEPT_GRAPH = "application/n-triples, text/turtle;q=0.8, application/rdf+xml;q=0.4"
_RDF_TYPES: dict[str, ox.RdfFormat] = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/ntriples": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "text/rdf+n3": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
_RESULT_TYPES: dict[str, ox.QueryResultsFormat] = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
_JSON_BNODE = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")([^"]*)(")')


def _safe_label(raw: bytes) -> bytes:
    """An injective renaming of a server's blank node id to a valid label (letters, digits; ``_xx`` escapes)."""
    out = bytearray(b"b")
    for byte in raw:
        if (48 <= byte <= 57) or (65 <= byte <= 90) or (97 <= byte <= 122):
            out.append(byte)
        else:
            out += b"_%02x" % byte
    return bytes(out)


def _fix_json_bnodes(body: bytes) -> bytes:
    if b'"bnode"' not in body:
        return body
    return _JSON_BNODE.sub(lambda m: m.group(1) + _safe_label(m.group(2)) + m.group(3), body)


# --- query text -----------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def query_form(sparql: str) -> str:
    """``SELECT``, ``CONSTRUCT``, ``ASK`` or ``DESCRIBE``: the first form keyword outside strings, IRIs and comments
    (``SELECT`` when none is found: the server will say what is wrong).

    >>> query_form("PREFIX s: <http://ex/SELECT> # ASK\\nCONSTRUCT { ?s ?p 'SELECT' } WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    for match in _TOKEN.finditer(sparql):
        if match.lastgroup == "word":
            word = match.group().upper()
            if word in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE"):
                return word
    return "SELECT"


def _where_brace(sparql: str) -> int:
    """Offset just after the ``{`` that opens the query's top-level WHERE group.

    Raises :class:`BadQuery` when there is none (or for ``CONSTRUCT WHERE {...}``, whose group is also the template).
    """
    depth = 0
    form: str | None = None
    saw_where = False
    top_groups = 0
    for match in _TOKEN.finditer(sparql):
        kind = match.lastgroup
        if kind == "word" and depth == 0:
            word = match.group().upper()
            if form is None and word in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE"):
                form = word
            elif word == "WHERE":
                saw_where = True
        elif kind == "open":
            if depth == 0:
                top_groups += 1
                is_where = saw_where or form in ("SELECT", "ASK", "DESCRIBE") or (form == "CONSTRUCT" and top_groups == 2)
                if is_where:
                    if form == "CONSTRUCT" and top_groups == 1:
                        raise BadQuery("substitutions are not supported with the short form CONSTRUCT WHERE {...}")
                    return match.end()
            depth += 1
        elif kind == "close":
            depth -= 1
    raise BadQuery("no WHERE group found to bind the parameters in")


def _values_block(substitutions: Mapping[Any, Any]) -> str:
    names: list[str] = []
    terms: list[str] = []
    for var, term in substitutions.items():
        name = var.value if isinstance(var, ox.Variable) else str(var).lstrip("?$")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise BadInput(f"not a variable name: {name!r}")
        if not isinstance(term, (ox.NamedNode, ox.Literal)):
            raise BadInput(f"?{name} can only be bound to an IRI or a literal on a remote store, not {term!r}")
        names.append("?" + name)
        terms.append(str(term))
    return f" VALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }} "


def bind_values(sparql: str, substitutions: Mapping[Any, Any] | None) -> str:
    """The query with ``substitutions`` (variable -> IRI or literal) bound by a VALUES block at the start of its
    top-level WHERE group; the query unchanged when there are none.

    >>> bind_values("SELECT ?c WHERE { ?c ?p ?t }", {ox.Variable("t"): ox.NamedNode("http://ex/t")})
    'SELECT ?c WHERE { VALUES (?t) { (<http://ex/t>) }  ?c ?p ?t }'

    Raises :class:`BadQuery` when the query has no WHERE group and :class:`BadInput` for a blank node value.
    """
    if not substitutions:
        return sparql
    at = _where_brace(sparql)
    return sparql[:at] + _values_block(substitutions) + sparql[at:]


# --- writing --------------------------------------------------------------------------------------------------------


def _term_text(term: Any) -> str:
    if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return str(term)
    raise BadInput(f"cannot write {term!r} to a remote store (RDF-star terms are not supported)")


def _chunks(triples: Iterable[Statement]) -> Iterator[tuple[list[str], bool]]:
    """Lines ``s p o .`` grouped into chunks of at most about CHUNK_TRIPLES triples / CHUNK_BYTES bytes; triples
    linked through blank nodes stay in one chunk. Yields (lines, has_blank_nodes)."""
    plain: list[str] = []
    plain_bytes = 0
    parent: dict[str, str] = {}
    with_bnodes: list[tuple[list[str], str]] = []

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for t in triples:
        if not isinstance(t, (ox.Triple, ox.Quad)):
            raise TypeError(f"expected a pyoxigraph Triple or Quad, got {type(t).__name__}")
        s, p, o = t.subject, t.predicate, t.object
        line = f"{_term_text(s)} {_term_text(p)} {_term_text(o)} ."
        bnodes = [n.value for n in (s, o) if isinstance(n, ox.BlankNode)]
        if not bnodes:
            plain.append(line)
            plain_bytes += len(line)
            if len(plain) >= CHUNK_TRIPLES or plain_bytes >= CHUNK_BYTES:
                yield plain, False
                plain, plain_bytes = [], 0
            continue
        for b in bnodes:
            parent.setdefault(b, b)
        if len(bnodes) == 2:
            ra, rb = find(bnodes[0]), find(bnodes[1])
            if ra != rb:
                parent[ra] = rb
        with_bnodes.append(([line], bnodes[0]))
    if plain:
        yield plain, False
    if not with_bnodes:
        return
    groups: dict[str, list[str]] = {}
    for lines, b in with_bnodes:
        groups.setdefault(find(b), []).extend(lines)
    chunk: list[str] = []
    size = 0
    for lines in groups.values():
        if chunk and (len(chunk) + len(lines) > BNODE_CHUNK_TRIPLES or size >= CHUNK_BYTES):
            yield chunk, True
            chunk, size = [], 0
        chunk.extend(lines)
        size += sum(len(x) for x in lines)
    if chunk:
        yield chunk, True


def _insert(graph: str, lines: list[str], has_bnodes: bool) -> str:
    body = "\n".join(lines)
    if has_bnodes:
        return f"INSERT {{ GRAPH <{graph}> {{\n{body}\n}} }} WHERE {{}}"
    return f"INSERT DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}"


_EDIT_VALUES = 500
"""Terms per ``VALUES`` block of an edit's ``DELETE ... WHERE`` (longer lists go in several operations)."""


def _edit_deletes(graph: str, edit: GraphEdit) -> list[str]:
    """The update operations that remove what ``edit`` removes from ``graph`` (subjects, objects, statements)."""
    ops = []
    for var, terms in (("s", edit.remove_subjects), ("o", edit.remove_objects)):
        names = sorted({_term_text(t) for t in terms})
        for i in range(0, len(names), _EDIT_VALUES):
            values = " ".join(names[i : i + _EDIT_VALUES])
            ops.append(
                f"DELETE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} WHERE {{ VALUES ?{var} {{ {values} }} "
                f"GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            )
    if edit.remove:
        lines = sorted({f"{_term_text(t.subject)} {_term_text(t.predicate)} {_term_text(t.object)} ." for t in edit.remove})
        for i in range(0, len(lines), CHUNK_TRIPLES):
            body = "\n".join(lines[i : i + CHUNK_TRIPLES])
            ops.append(f"DELETE DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}")
    return ops


def _check_graph_iri(iri: str) -> str:
    if not re.fullmatch(r"[^<>\"{}|^`\\\x00-\x20]+", iri) or ":" not in iri:
        raise BadInput(f"not a graph IRI: {iri!r}")
    return iri


# --- the store ------------------------------------------------------------------------------------------------------


class RemoteStore(Store):
    """The graph in a SPARQL 1.1 server.

    ``location`` is a :class:`kg.settings.Settings` (``store`` is the query endpoint URL, ``store_update`` its
    update endpoint, ``store_user``/``store_password`` the credentials, ``query_timeout`` the time limit) or the
    query endpoint URL itself; keyword arguments override the settings. Credentials are sent with HTTP digest (or
    basic) authentication. ``timeout`` is the seconds one HTTP request may take; ``read_only`` refuses every write
    with :class:`kg.errors.StoreError`. Raises :class:`kg.errors.BadInput` for a location that is not an http(s) URL.
    """

    def __init__(
        self,
        location: Settings | str,
        *,
        read_only: bool = False,
        update_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if isinstance(location, Settings):
            query_url = location.store
            update_url = update_url or location.store_update
            user = user if user is not None else location.store_user
            password = password if password is not None else location.store_password
            timeout = timeout if timeout is not None else float(location.query_timeout) + 10.0
        else:
            query_url = str(location)
        if not re.match(r"^https?://", query_url, re.IGNORECASE):
            raise BadInput(f"a remote store needs an http(s) URL, not {query_url!r}")
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.user = user
        self.password = password
        self.timeout = timeout if timeout is not None else 60.0
        self.read_only = read_only
        self._graphs: tuple[str, list[str]] | None = None  # (generation, graph names)

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url!r}{', read_only=True' if self.read_only else ''})"

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _wrapper(self, url: str, timeout: float | None = None) -> SPARQLWrapper:
        sw = SPARQLWrapper(url, agent="declarations-kg")
        sw.setMethod(POST)
        sw.setRequestMethod(URLENCODED)
        sw.setTimeout(max(1, math.ceil(timeout if timeout is not None else self.timeout)))  # whole seconds
        sw.setOnlyConneg(True)  # no `format=`/`output=` parameters: the Accept header decides
        if self.user is not None:
            sw.setHTTPAuth(DIGEST)
            sw.setCredentials(self.user, self.password or "")
        return sw

    def _send(self, sw: SPARQLWrapper, what: str) -> tuple[bytes, str, Mapping[str, str]]:
        """Run the request; returns (body, media type, headers). Maps failures to our errors."""
        try:
            result = sw.query()
            response = result.response
            body = response.read()
            headers = {k.lower(): v for k, v in response.headers.items()}
        except QueryBadFormed as exc:
            raise BadQuery(f"the store refused the {what}: {_short(exc)}") from exc
        except Unauthorized as exc:
            raise StoreError(f"the store at {sw.endpoint} refused our credentials for the {what}") from exc
        except (EndPointNotFound, URITooLong, EndPointInternalError, SPARQLWrapperException) as exc:
            raise StoreError(f"the store at {sw.endpoint} failed on the {what}: {_short(exc)}") from exc
        except urllib.error.HTTPError as exc:
            raise StoreError(f"the store at {sw.endpoint} answered HTTP {exc.code} to the {what}") from exc
        except (TimeoutError, socket.timeout) as exc:
            raise QueryTimeout(f"the store did not answer the {what} within {self.timeout:.0f} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise QueryTimeout(f"the store did not answer the {what} within {self.timeout:.0f} s") from exc
            raise StoreError(f"cannot reach the store at {sw.endpoint}: {exc.reason}") from exc
        except OSError as exc:
            raise StoreError(f"cannot reach the store at {sw.endpoint}: {exc}") from exc
        if "x-sql-state" in headers:
            # Virtuoso's "anytime" answer: a partial result after MaxQueryExecutionTime.
            raise QueryTimeout(
                f"the store stopped the {what} at its time limit and returned a partial result "
                f"({headers.get('x-sql-message', headers['x-sql-state'])})"
            )
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        return body, media, headers

    # -- reading ---------------------------------------------------------------------------------------------
    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Any, Any] | None = None,
        use_default_graph_as_union: bool = True,
        default_graph: Any = None,
        named_graphs: Iterable[Any] | None = None,
        timeout: float | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Run a SPARQL query on the server; returns pyoxigraph results like the embedded store.

        ``default_graph`` (one graph or a list) and ``named_graphs`` become ``default-graph-uri`` and
        ``named-graph-uri``. Without them the server's default graph is used, which on Virtuoso (and most servers
        configured for it) is the union of all graphs; ``use_default_graph_as_union=False`` without a default graph
        asks for an empty default graph, and so does an empty ``default_graph`` list. ``timeout`` (seconds) overrides
        the store's time limit for this query: it is sent to the server (Virtuoso enforces it) and the HTTP request
        gives up after twice the limit (at most 5 s more). ``base_iri`` resolves the query's relative IRIs (sent as
        a leading ``BASE``; a ``BASE`` of the query's own still applies after it). Raises :class:`BadQuery` (the server refused the query),
        :class:`QueryTimeout` and :class:`StoreError`.
        """
        text = bind_values(sparql, substitutions)
        if base_iri is not None:
            text = f"BASE <{_check_graph_iri(base_iri)}>\n{text}"
        form = query_form(text)
        defaults = _iris(default_graph)
        named = _iris(named_graphs)
        if default_graph is None and named_graphs is None and use_default_graph_as_union:
            # The union of *our* graphs, named explicitly: a server's implicit default graph may hold its own system
            # graphs (Virtuoso) or be a graph of its own (Fuseki).
            defaults = named = self._our_graphs()
        if not defaults and (default_graph is not None or use_default_graph_as_union or named_graphs is None):
            defaults = [TEMP_GRAPH_BASE + "empty"]  # a graph nobody writes: an empty default graph
        if named_graphs is not None and not named:
            named = [TEMP_GRAPH_BASE + "empty"]  # no named graphs at all
        limit = timeout if timeout is not None else self.timeout
        # The server's own limit first; the HTTP one as a backstop (after twice the limit, at most 5 s more).
        sw = self._wrapper(self.query_url, limit + min(5.0, limit))
        sw.setQuery(text)
        sw.queryType = form  # SPARQLWrapper guesses it by a keyword search that a pragma or an IRI can mislead
        sw.addCustomHttpHeader("Accept", _ACCEPT_GRAPH if form in ("CONSTRUCT", "DESCRIBE") else _ACCEPT_RESULTS)
        # Virtuoso stops a query after `timeout` milliseconds (and says so in X-SQL-State, see _send); servers that
        # do not know the parameter ignore it, and the HTTP timeout still applies.
        sw.addParameter("timeout", str(max(1, int(limit * 1000))))
        for g in defaults:
            sw.addParameter("default-graph-uri", g)
        for g in named:
            sw.addParameter("named-graph-uri", g)
        body, media, _ = self._send(sw, "query")
        return _parse_result(body, media)

    def _our_graphs(self) -> list[str]:
        """:meth:`graph_names`, cached for as long as :meth:`generation` stays the same (one small query)."""
        generation = self.generation()
        cached = self._graphs
        if cached is not None and cached[0] == generation:
            return cached[1]
        names = self.graph_names()
        self._graphs = (generation, names)
        return names

    def graph_names(self) -> list[str]:
        """IRIs of the named graphs that hold triples, the server's own system graphs, our marker graph and
        temporary graphs left out, sorted."""
        sw = self._wrapper(self.query_url)
        sw.setQuery("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        sw.queryType = "SELECT"
        sw.addCustomHttpHeader("Accept", _ACCEPT_RESULTS)
        result = _parse_result(*self._send(sw, "query")[:2])
        assert isinstance(result, ox.QuerySolutions)
        names = [row["g"].value for row in result if isinstance(row["g"], ox.NamedNode)]  # type: ignore[union-attr]
        return sorted(g for g in names if not _is_hidden(g))

    def export(self, target: str | Path | BinaryIO, format: ExportFormat) -> None:
        """Write a dump of the graphs of :meth:`graph_names`: ``nq``/``trig`` with their names, ``ttl``/``nt``
        merged (the union). ``target`` is a path (gzip-compressed when it ends in ``.gz``) or a binary stream.
        Raises ``ValueError`` for an unknown format and :class:`StoreError` when the store or the file fails."""
        if format not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {format!r}; use one of {', '.join(EXPORT_FORMATS)}")
        rdf_format, with_graphs = EXPORT_FORMATS[format]
        dataset = ox.Dataset()
        for g in self.graph_names():
            graph = ox.NamedNode(g) if with_graphs else ox.DefaultGraph()
            triples = self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")
            for t in triples:  # type: ignore[union-attr]
                dataset.add(ox.Quad(t.subject, t.predicate, t.object, graph))
        prefixes = PREFIXES if rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
        if with_graphs:
            statements: Iterable[Any] = dataset
        else:
            statements = (ox.Triple(q.subject, q.predicate, q.object) for q in dataset)
        if isinstance(target, (str, Path)):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            opener: Any = gzip.open if path.suffix == ".gz" else open
            try:
                with opener(path, "wb") as out:
                    ox.serialize(statements, out, rdf_format, prefixes=prefixes)
            except OSError as exc:
                raise StoreError(f"cannot write {path}: {exc}") from exc
        else:
            ox.serialize(statements, target, rdf_format, prefixes=prefixes)

    def generation(self) -> str:
        """A token that changes with every :meth:`replace_graphs` through this class (by any process): the value of
        the marker written in the same request that swaps the graphs in. ``"none"`` before the first write.
        Writes made to the server by other means do not change it."""
        result = self.query(
            f"SELECT ?v WHERE {{ <{META_GRAPH}> <{GENERATION}> ?v }}", default_graph=[ox.NamedNode(META_GRAPH)]
        )
        values = sorted(row["v"].value for row in result)  # type: ignore[union-attr, index]
        return values[0] if values else "none"

    # -- writing ---------------------------------------------------------------------------------------------
    def update(self, sparql_update: str) -> None:
        """Send one SPARQL 1.1 Update request. Raises :class:`StoreError` on a read-only store or a failure."""
        if self.read_only:
            raise StoreError("this store was opened read-only")
        sw = self._wrapper(self.update_url)
        sw.setQuery(sparql_update)
        sw.queryType = "INSERT"  # always sent as `update=`, whatever SPARQLWrapper's keyword search guessed
        self._send(sw, "update")

    def apply(
        self,
        replace: Mapping[str, Iterable[Statement]] | None = None,
        *,
        remove: Iterable[str] = (),
        edits: Mapping[str, GraphEdit] | None = None,
    ) -> None:
        """Replace each named graph in ``replace`` by the given triples (a quad's graph is ignored), drop the graphs
        in ``remove`` and apply ``edits`` to parts of other graphs (:class:`kg.store.base.GraphEdit`): all or none,
        as far as the server allows.

        Everything new (whole graphs and the statements edits add) is first written under temporary graph names;
        only when all were accepted does ONE update request move the new graphs in, drop the removed ones, delete
        what each edit removes (``DELETE {...} WHERE { VALUES ?s {...} GRAPH <g> {?s ?p ?o} }`` by subject and by
        object, ``DELETE DATA`` for given statements), add the edit's statements (``ADD`` from its temporary
        graph) and write a new :meth:`generation` marker. On any failure before that request the temporary
        graphs are dropped and the old graphs are untouched. Raises :class:`StoreError` (or :class:`BadInput` for
        a term the server cannot take), ``ValueError`` for a graph both replaced and edited or a removed
        statement with a blank node, ``TypeError`` for a statement that is not a pyoxigraph ``Triple``/``Quad``.
        """
        if self.read_only:
            raise StoreError("this store was opened read-only")
        replace = replace or {}
        edits = edits or {}
        remove = [_check_graph_iri(str(g.value if isinstance(g, ox.NamedNode) else g)) for g in remove]
        check_apply_arguments(replace, remove, edits)
        for graph, edit in edits.items():
            for st in edit.remove:
                if isinstance(st.subject, ox.BlankNode) or isinstance(st.object, ox.BlankNode):
                    raise ValueError(f"cannot remove a statement with a blank node from {graph}: {st}")
        token = uuid.uuid4().hex
        temp: dict[str, str] = {}
        added: dict[str, str] = {}
        empty: list[str] = []
        written: list[str] = []
        try:
            for n, (graph, triples) in enumerate([*replace.items(), *((g, e.add) for g, e in edits.items())]):
                graph = _check_graph_iri(str(graph.value if isinstance(graph, ox.NamedNode) else graph))
                tmp = f"{TEMP_GRAPH_BASE}{token}/{n}"
                written.append(tmp)
                count = 0
                for lines, has_bnodes in _chunks(triples):
                    self.update(_insert(tmp, lines, has_bnodes))
                    count += len(lines)
                if n >= len(replace):
                    if count:
                        added[graph] = tmp
                elif count:
                    temp[graph] = tmp
                else:
                    empty.append(graph)
                log.debug("wrote %d triples of %s to %s", count, graph, tmp)
        except BaseException:
            self._drop_quietly(written)
            raise
        ops = [f"MOVE SILENT GRAPH <{tmp}> TO GRAPH <{graph}>" for graph, tmp in temp.items()]
        drops = set(empty) | set(remove)
        ops += [f"DROP SILENT GRAPH <{g}>" for g in sorted(drops - set(temp))]
        for graph, edit in edits.items():
            graph = _check_graph_iri(graph)
            ops += _edit_deletes(graph, edit)
            if graph in added:
                ops += [f"ADD SILENT GRAPH <{added[graph]}> TO GRAPH <{graph}>", f"DROP SILENT GRAPH <{added[graph]}>"]
        if not ops:
            return
        ops += [
            f"DROP SILENT GRAPH <{META_GRAPH}>",
            f'INSERT DATA {{ GRAPH <{META_GRAPH}> {{ <{META_GRAPH}> <{GENERATION}> "{token}" }} }}',
        ]
        try:
            self.update(" ;\n".join(ops))
        except KGError:
            self._drop_quietly([*temp.values(), *added.values()])
            raise
        log.info("replaced %d graphs, removed %d and edited %d on %s", len(temp), len(drops - set(temp)),
                 len(edits), self.query_url)

    def _drop_quietly(self, graphs: list[str]) -> None:
        for g in graphs:
            try:
                self.update(f"DROP SILENT GRAPH <{g}>")
            except KGError as exc:  # the store is failing already; the first error is the one to report
                log.warning("could not drop temporary graph %s: %s", g, exc.detail)

    def close(self) -> None:
        """Nothing to release: each request opens its own connection."""


def _short(exc: Exception) -> str:
    text = str(exc).strip()
    return text if len(text) < 600 else text[:600] + "..."


def _iris(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, ox.NamedNode)):
        value = [value]
    out = []
    for v in value:
        if isinstance(v, ox.DefaultGraph):
            continue
        out.append(_check_graph_iri(v.value if isinstance(v, ox.NamedNode) else str(v)))
    return out


def _is_hidden(iri: str) -> bool:
    return iri == META_GRAPH or iri.startswith(TEMP_GRAPH_BASE) or iri.startswith(SYSTEM_GRAPH_PREFIXES)


def _parse_result(body: bytes, media: str) -> QueryResult:
    """pyoxigraph results from a response body and its media type; raises :class:`StoreError` for anything else."""
    try:
        if media in _RESULT_TYPES:
            fmt = _RESULT_TYPES[media]
            if fmt == ox.QueryResultsFormat.JSON:
                body = _fix_json_bnodes(body)
            return ox.parse_query_results(body, fmt)
        if media in _RDF_TYPES:
            fmt_rdf = _RDF_TYPES[media]
            holder = ox.Store()
            holder.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in ox.parse(body, fmt_rdf))
            result = holder.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
            return result
    except SyntaxError as exc:
        raise StoreError(f"the store's answer ({media}) does not parse: {exc}") from exc
    raise StoreError(f"the store answered with an unexpected media type {media!r}")
