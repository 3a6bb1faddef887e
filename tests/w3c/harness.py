"""Run the W3C SPARQL 1.1 test suites (``../shared/w3c-rdf-tests/sparql/sparql11``) against our endpoint over HTTP.

- Cases are discovered from the manifests (rdflib): the query evaluation and syntax tests of
  ``manifest-sparql11-query.ttl`` (all its included manifests, every entry listed), the protocol tests of
  ``protocol/manifest.ttl`` and the service-description tests of ``service-description/manifest.ttl``.
- Data: every data file the cases use is loaded once, each into a named graph of a fresh store named by the
  file's IRI; a case then states its dataset through the protocol (``default-graph-uri`` = its ``qt:data``,
  ``named-graph-uri`` = its ``qt:graphData``), which is exactly the dataset the manifest describes. One server
  answers every case. A case without data gets an empty default graph; a query's own FROM/FROM NAMED is
  honoured when the manifest gives no data.
- Relative IRIs in a query resolve against the query file (``BASE <file:...>`` is put in front of it).
- SELECT results are compared as multisets of solutions up to blank-node renaming (and in order for the
  ORDER BY keys when the query orders); CONSTRUCT/DESCRIBE graphs with ``rdflib.compare.isomorphic``; ASK by value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlencode, urlparse

import httpx
import pyoxigraph as ox
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic

SUITE = Path(__file__).resolve().parents[3] / "shared" / "w3c-rdf-tests" / "sparql" / "sparql11"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
RS = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/result-set#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
EMPTY_GRAPH = "urn:x-w3c-harness:empty"

SYNTAX_POSITIVE = {MF.PositiveSyntaxTest11, MF.PositiveSyntaxTest}
SYNTAX_NEGATIVE = {MF.NegativeSyntaxTest11, MF.NegativeSyntaxTest}


def suite_available() -> bool:
    """Whether the W3C test folder is where the harness expects it."""
    return (SUITE / "manifest-sparql11-query.ttl").is_file()


def file_path(iri: str) -> Path:
    """The local path of a ``file:`` IRI."""
    return Path(unquote(urlparse(iri).path))


def case_id(manifest_dir: Path, entry: URIRef) -> str:
    """A readable id: ``<folder>/<entry local name>``."""
    local = str(entry).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return f"{manifest_dir.name}/{local}"


@dataclass
class QueryCase:
    """One evaluation or syntax test."""

    id: str
    kind: str  # "eval", "syntax+", "syntax-"
    query_file: Path
    data: list[str] = field(default_factory=list)
    graph_data: list[str] = field(default_factory=list)
    result_file: Path | None = None

    def query_text(self) -> str:
        """The query, with its file as BASE so relative IRIs resolve as the test intends."""
        return f"BASE <{self.query_file.as_uri()}>\n" + self.query_file.read_text(encoding="utf-8")


def _load_manifest(path: Path) -> Graph:
    graph = Graph()
    graph.parse(path, format="turtle", publicID=path.as_uri())
    return graph


def _entries(graph: Graph, manifest: URIRef) -> list[URIRef]:
    entries: list[URIRef] = []
    for head in graph.objects(manifest, MF.entries):
        entries.extend(Collection(graph, head))  # type: ignore[arg-type]
    return entries


def query_cases() -> list[QueryCase]:
    """Every entry of ``manifest-sparql11-query.ttl``'s manifests, in manifest order."""
    top_path = SUITE / "manifest-sparql11-query.ttl"
    top = _load_manifest(top_path)
    includes: list[Path] = []
    for head in top.objects(URIRef(top_path.as_uri()), MF.include):
        includes.extend(file_path(str(i)) for i in Collection(top, head))  # type: ignore[arg-type]
    cases: list[QueryCase] = []
    for manifest_path in includes:
        graph = _load_manifest(manifest_path)
        for entry in _entries(graph, URIRef(manifest_path.as_uri())):
            types = set(graph.objects(entry, RDF.type))
            action = graph.value(entry, MF.action)
            result = graph.value(entry, MF.result)
            ident = case_id(manifest_path.parent, entry)
            if types & (SYNTAX_POSITIVE | SYNTAX_NEGATIVE):
                kind = "syntax+" if types & SYNTAX_POSITIVE else "syntax-"
                cases.append(QueryCase(ident, kind, file_path(str(action))))
            elif MF.QueryEvaluationTest in types:
                cases.append(
                    QueryCase(
                        ident,
                        "eval",
                        file_path(str(graph.value(action, QT.query))),
                        data=sorted(str(d) for d in graph.objects(action, QT.data)),
                        graph_data=sorted(str(d) for d in graph.objects(action, QT.graphData)),
                        result_file=file_path(str(result)) if result is not None else None,
                    )
                )
            else:
                raise AssertionError(f"{ident}: unexpected test type {types}")
    return cases


# --- protocol tests -------------------------------------------------------------------------------------------


@dataclass
class ProtocolRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    expected_status: set[str]  # e.g. {"2xx", "3xx"}
    expected_boolean: bool | None
    expected_format: str | None


@dataclass
class ProtocolCase:
    id: str
    name: str
    requests: list[ProtocolRequest]
    graph_data: dict[str, Path]  # graph IRI -> file

    @property
    def is_update(self) -> bool:
        """A test of the update operation (which a read-only endpoint must refuse)."""
        return "update" in self.id.rsplit("/", 1)[-1]


def protocol_cases() -> list[ProtocolCase]:
    """The 34 protocol tests."""
    path = SUITE / "protocol" / "manifest.ttl"
    graph = _load_manifest(path)
    cases = []
    for entry in _entries(graph, URIRef(path.as_uri())):
        graph_data = {
            str(graph.value(node, RDFS_LABEL)): file_path(str(graph.value(node, UT.graph)))
            for node in graph.objects(entry, UT.graphData)
        }
        action = graph.value(entry, MF.action)
        requests = []
        for request in Collection(graph, graph.value(action, HT.requests)):  # type: ignore[arg-type]
            headers = {}
            header_list = graph.value(request, HT.headers)
            if header_list is not None:
                for header in Collection(graph, header_list):  # type: ignore[arg-type]
                    headers[str(graph.value(header, HT.fieldName))] = str(graph.value(header, HT.fieldValue))
            body_node = graph.value(request, HT.body)
            body = None
            if body_node is not None:
                encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
                body = str(graph.value(body_node, CNT.chars)).encode(encoding.lower())
            response = graph.value(request, HT.resp)
            boolean = graph.value(response, MF.expectedBoolean)
            fmt = graph.value(response, MF.expectedFormat)
            requests.append(
                ProtocolRequest(
                    method=str(graph.value(request, HT.methodName)),
                    path=str(graph.value(request, HT.absolutePath)).replace("/sparql/", "/sparql", 1),
                    headers=headers,
                    body=body,
                    expected_status={
                        str(s).rsplit("StatusCode", 1)[-1] for s in graph.objects(response, MF.expectedStatus)
                    },
                    expected_boolean=boolean.toPython() if boolean is not None else None,
                    expected_format=str(fmt) if fmt is not None else None,
                )
            )
        cases.append(
            ProtocolCase(case_id(path.parent, entry), str(graph.value(entry, MF.name)), requests, graph_data)
        )
    return cases


def protocol_graphs(cases: Iterable[ProtocolCase]) -> dict[str, Path | None]:
    """Graph IRI -> data file for every graph the protocol tests name (None: a graph that is named but has no
    data in the suite, such as data0.rdf, which the endpoint must hold, empty, for the tests to apply)."""
    graphs: dict[str, Path | None] = {}
    for case in cases:
        graphs.update(case.graph_data)
        for request in case.requests:
            query = urlparse(request.path).query
            for match in re.finditer(r"(?:default|named)-graph-uri=([^&]+)", query):
                graphs.setdefault(unquote(match.group(1)), None)
    return graphs


# --- the store ------------------------------------------------------------------------------------------------


def _rdf_format(path: Path) -> ox.RdfFormat:
    return {
        ".ttl": ox.RdfFormat.TURTLE,
        ".nt": ox.RdfFormat.N_TRIPLES,
        ".rdf": ox.RdfFormat.RDF_XML,
        ".nq": ox.RdfFormat.N_QUADS,
        ".trig": ox.RdfFormat.TRIG,
    }[path.suffix]


def build_store(folder: Path, cases: list[QueryCase], protocol: dict[str, Path | None]) -> dict[str, str]:
    """Load every data file into its own named graph of a new store in ``folder``.

    Returns the files that could not be loaded (IRI -> error), which their cases then report.
    """
    store = ox.Store(str(folder))
    store.add_graph(ox.NamedNode(EMPTY_GRAPH))
    failures: dict[str, str] = {}
    files: set[str] = set()
    for case in cases:
        files.update(case.data)
        files.update(case.graph_data)
        if case.kind == "eval":
            # A query naming its own dataset (FROM/FROM NAMED) reads those files.
            from api.safety import analyse_query

            info = analyse_query(case.query_text())
            files.update(iri for iri in (*info.from_graphs, *info.from_named) if file_path(iri).is_file())
    for iri in sorted(files):
        path = file_path(iri)
        graph = ox.NamedNode(iri)
        store.add_graph(graph)
        try:
            store.load(path=str(path), format=_rdf_format(path), base_iri=iri, to_graph=graph)
        except (SyntaxError, OSError, KeyError) as exc:
            failures[iri] = f"{type(exc).__name__}: {exc}"
    for iri, path in protocol.items():
        graph = ox.NamedNode(iri)
        store.add_graph(graph)
        if path is not None:
            store.load(path=str(path), format=_rdf_format(path), base_iri=iri, to_graph=graph)
    store.flush()
    del store
    return failures


# --- results ----------------------------------------------------------------------------------------------------

Solution = dict[str, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]


def _rs_term(node: object) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    from rdflib import BNode, Literal

    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    assert isinstance(node, Literal)
    if node.language:
        return ox.Literal(str(node), language=node.language)
    if node.datatype:
        return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
    return ox.Literal(str(node))


def expected_results(path: Path) -> tuple[list[str], list[Solution]] | bool:
    """The expected results of a SELECT/ASK test: (variables, solutions) or a boolean."""
    suffix = path.suffix
    if suffix in (".srx", ".srj", ".tsv"):
        fmt = {".srx": ox.QueryResultsFormat.XML, ".srj": ox.QueryResultsFormat.JSON, ".tsv": ox.QueryResultsFormat.TSV}[suffix]
        parsed = ox.parse_query_results(path=str(path), format=fmt)
        if isinstance(parsed, ox.QueryBoolean):
            return bool(parsed)
        variables = [v.value for v in parsed.variables]
        return variables, [_solution(s, variables) for s in parsed]
    # A result set written in RDF (the rs: vocabulary).
    graph = Graph()
    graph.parse(path, format="turtle" if suffix == ".ttl" else "xml", publicID=path.as_uri())
    result_set = next(iter(graph.subjects(RDF.type, RS.ResultSet)))
    boolean = graph.value(result_set, RS.boolean)
    if boolean is not None:
        return bool(boolean.toPython())
    variables = [str(v) for v in graph.objects(result_set, RS.resultVariable)]
    solutions = []
    for solution in graph.objects(result_set, RS.solution):
        row: Solution = {}
        for binding in graph.objects(solution, RS.binding):
            row[str(graph.value(binding, RS.variable))] = _rs_term(graph.value(binding, RS.value))
        solutions.append(row)
    return variables, solutions


def _solution(solution: ox.QuerySolution, variables: list[str]) -> Solution:
    row: Solution = {}
    for name in variables:
        value = solution[name]
        if value is not None:
            row[name] = value
    return row


def actual_results(body: bytes, media_type: str) -> tuple[list[str], list[Solution]] | bool:
    """Our endpoint's SELECT/ASK answer, parsed."""
    parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(media_type))
    if isinstance(parsed, ox.QueryBoolean):
        return bool(parsed)
    variables = [v.value for v in parsed.variables]
    return variables, [_solution(s, variables) for s in parsed]


XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMERIC = {XSD + "integer", XSD + "decimal", XSD + "double", XSD + "float"} | {
    XSD + t
    for t in (
        "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
        "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte",
    )
}


def term_key(term: object) -> str:
    """A comparison key of a term: numeric and boolean literals by datatype and value (``"1.0"^^xsd:decimal``
    equals ``"1"^^xsd:decimal``, ``"3.0E4"^^xsd:double`` equals ``"30000"^^xsd:double``, ``"0"^^xsd:boolean``
    equals ``"false"^^xsd:boolean``: Oxigraph stores canonical forms); anything else as written."""
    if isinstance(term, ox.Literal) and term.datatype.value == XSD + "boolean" and term.value in ("0", "1", "true", "false"):
        return f"{term.value in ('1', 'true')}^^boolean"
    if isinstance(term, ox.Literal) and term.datatype.value in _NUMERIC:
        from decimal import Decimal, InvalidOperation

        try:
            if term.datatype.value in (XSD + "double", XSD + "float"):
                value: object = float(term.value)
            else:
                value = Decimal(term.value).normalize()
        except (ValueError, InvalidOperation):
            return str(term)
        return f"{value}^^{term.datatype.value}"
    return str(term)


def _shape(row: Solution) -> tuple:
    return tuple(sorted((k, "_:" if isinstance(v, ox.BlankNode) else term_key(v)) for k, v in row.items()))


def _bnode_match(actual: list[Solution], expected: list[Solution]) -> bool:
    """Whether a bijection of blank nodes makes the two multisets of solutions equal (backtracking)."""
    if Counter(map(_shape, actual)) != Counter(map(_shape, expected)):
        return False
    if not any(isinstance(v, ox.BlankNode) for row in actual for v in row.values()):
        return True  # without blank nodes the shapes are the solutions
    used = [False] * len(expected)

    def compatible(a: Solution, e: Solution, mapping: dict[str, str]) -> dict[str, str] | None:
        if a.keys() != e.keys():
            return None
        new = dict(mapping)
        for key, value in a.items():
            other = e[key]
            if isinstance(value, ox.BlankNode):
                if not isinstance(other, ox.BlankNode):
                    return None
                if value.value in new:
                    if new[value.value] != other.value:
                        return None
                elif other.value in new.values():
                    return None
                else:
                    new[value.value] = other.value
            elif term_key(value) != term_key(other):
                return None
        return new

    def search(index: int, mapping: dict[str, str]) -> bool:
        if index == len(actual):
            return True
        for j, candidate in enumerate(expected):
            if used[j]:
                continue
            extended = compatible(actual[index], candidate, mapping)
            if extended is None:
                continue
            used[j] = True
            if search(index + 1, extended):
                return True
            used[j] = False
        return False

    return search(0, {})


def _order_keys(query: str) -> list[str] | None:
    match = re.search(r"ORDER\s+BY(.*?)(?:LIMIT|OFFSET|\}\s*$|$)", query, re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    return re.findall(r"[?$](\w+)", match.group(1))


def compare_select(
    query: str, actual: tuple[list[str], list[Solution]] | bool, expected: tuple[list[str], list[Solution]] | bool
) -> str | None:
    """None when the answers agree, else what differs."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if actual == expected else f"expected {expected}, got {actual}"
    actual_rows, expected_rows = actual[1], expected[1]
    if not _bnode_match(actual_rows, expected_rows):
        return f"solutions differ:\n  expected {_show(expected_rows)}\n  got      {_show(actual_rows)}"
    keys = _order_keys(query)
    if keys and re.search(r"ORDER\s+BY", query, re.IGNORECASE):
        def projection(rows: list[Solution]) -> list[tuple]:
            return [tuple("_:" if isinstance(r.get(k), ox.BlankNode) else term_key(r.get(k)) for k in keys) for r in rows]

        if projection(actual_rows) != projection(expected_rows):
            return f"order differs on {keys}:\n  expected {projection(expected_rows)}\n  got      {projection(actual_rows)}"
    return None


def _show(rows: list[Solution]) -> str:
    shown = [{k: str(v) for k, v in sorted(r.items())} for r in rows[:8]]
    return f"{shown}{' ...' if len(rows) > 8 else ''} ({len(rows)} rows)"


def compare_graph(body: bytes, result_file: Path) -> str | None:
    """None when our N-Triples answer is isomorphic to the expected graph, else what differs."""
    actual = Graph().parse(data=body, format="nt")
    expected = Graph().parse(
        result_file, format="turtle" if result_file.suffix == ".ttl" else ("nt" if result_file.suffix == ".nt" else "xml"),
        publicID=result_file.as_uri(),
    )
    if isomorphic(actual, expected):
        return None
    return f"graphs differ: expected {len(expected)} triples, got {len(actual)}"


# --- running ----------------------------------------------------------------------------------------------------


def run_query_case(client: httpx.Client, case: QueryCase, load_failures: dict[str, str]) -> str | None:
    """Run one case; None when it passes, else the reason it fails."""
    text = case.query_text()
    if case.kind != "eval":
        response = client.post("/sparql", data={"query": text, "default-graph-uri": EMPTY_GRAPH})
        if case.kind == "syntax+":
            return None if response.status_code != 400 else f"refused as bad syntax: {response.json()['detail'][:300]}"
        return None if response.status_code == 400 else f"accepted (HTTP {response.status_code}), expected 400"
    for iri in case.data + case.graph_data:
        if iri in load_failures:
            return f"data could not be loaded: {load_failures[iri][:200]}"
    form_query = re.sub(r"(?is)^BASE\s*<[^>]*>\s*", "", text)
    from api.safety import analyse_query

    info = analyse_query(text)
    params: list[tuple[str, str]] = [("query", text)]
    if info.from_graphs or info.from_named:
        pass  # the query names its own dataset (the manifest's data are those same files)
    elif case.data or case.graph_data:
        params += [("default-graph-uri", iri) for iri in case.data] or [("default-graph-uri", EMPTY_GRAPH)]
        params += [("named-graph-uri", iri) for iri in case.graph_data]
    else:
        params.append(("default-graph-uri", EMPTY_GRAPH))
    accept = "application/n-triples" if info.is_graph_result else "application/sparql-results+json"
    response = client.post(
        "/sparql",
        content=urlencode(params),
        headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
    )
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    assert case.result_file is not None
    if info.is_graph_result:
        return compare_graph(response.content, case.result_file)
    actual = actual_results(response.content, response.headers["content-type"].split(";")[0])
    return compare_select(form_query, actual, expected_results(case.result_file))


def run_protocol_case(client: httpx.Client, case: ProtocolCase) -> str | None:
    """Run one protocol case; None when it passes. An update case passes when the update is refused (4xx): the
    endpoint is read-only, so the requests after it (which check the update's effect) do not apply."""
    for number, request in enumerate(case.requests, 1):
        headers = {k.title(): v for k, v in request.headers.items()}
        response = client.request(request.method, request.path, headers=headers, content=request.body)
        status_class = f"{response.status_code // 100}xx"
        if case.is_update and number == 1 and request.expected_status & {"2xx", "3xx"}:
            if response.status_code != 403:
                return f"request {number}: an update must be refused with 403 here, got {response.status_code}"
            return None
        if status_class not in request.expected_status:
            return f"request {number}: HTTP {response.status_code}, expected {sorted(request.expected_status)}: {response.text[:200]}"
        if status_class != "2xx":
            continue
        media_type = response.headers.get("content-type", "").split(";")[0]
        if request.expected_format == "boolean" or request.expected_boolean is not None:
            if media_type not in ("application/sparql-results+json", "application/sparql-results+xml"):
                return f"request {number}: {media_type} is not a boolean results format"
            value = bool(ox.parse_query_results(response.content, format=ox.QueryResultsFormat.from_media_type(media_type)))
            if request.expected_boolean is not None and value != request.expected_boolean:
                return f"request {number}: expected {request.expected_boolean}, got {value}"
        elif request.expected_format == "tabular":
            if media_type not in (
                "application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values"
            ):
                return f"request {number}: {media_type} is not a results table format"
        elif request.expected_format == "RDF":
            try:
                Graph().parse(data=response.content, format=ox.RdfFormat.from_media_type(media_type).name.lower()
                              .replace("_", "-").replace("turtle", "turtle").replace("n-triples", "nt").replace("rdf-xml", "xml"))
            except Exception as exc:  # noqa: BLE001 - reported as the failure
                return f"request {number}: not RDF ({media_type}): {exc}"
    return None


def service_description_checks(client: httpx.Client, base_url: str) -> Iterator[tuple[str, str | None]]:
    """The three service-description tests: (id, None when passed or the reason)."""
    response = client.get("/sparql", headers={"Accept": "text/turtle, application/rdf+xml;q=0.9"})
    graph = Graph()
    try:
        graph.parse(data=response.content, format="turtle")
        returns_rdf = None if response.status_code == 200 else f"HTTP {response.status_code}"
    except Exception as exc:  # noqa: BLE001
        returns_rdf = f"not Turtle: {exc}"
    yield "service-description/returns-rdf", returns_rdf
    endpoint = URIRef(base_url + "/sparql")
    services = set(graph.subjects(SD.endpoint, endpoint))
    yield "service-description/has-endpoint-triple", None if services else f"no sd:endpoint <{endpoint}>"
    yield "service-description/conforms-to-schema", _schema_problems(graph)


def _schema_problems(graph: Graph) -> str | None:
    problems = []
    services = list(graph.subjects(RDF.type, SD.Service))
    if len(services) != 1:
        problems.append(f"{len(services)} sd:Service nodes")
    languages = {SD.SPARQL10Query, SD.SPARQL11Query, SD.SPARQL11Update}
    for service in services:
        if not list(graph.objects(service, SD.endpoint)):
            problems.append("sd:Service without sd:endpoint")
        for language in graph.objects(service, SD.supportedLanguage):
            if language not in languages:
                problems.append(f"unknown language {language}")
        for prop in (SD.resultFormat, SD.feature, SD.endpoint, SD.defaultEntailmentRegime, SD.inputFormat):
            for value in graph.objects(service, prop):
                if not isinstance(value, URIRef):
                    problems.append(f"{prop} value {value!r} is not an IRI")
        for dataset in graph.objects(service, SD.defaultDataset):
            if (dataset, RDF.type, SD.Dataset) not in graph:
                problems.append("sd:defaultDataset is not an sd:Dataset")
        for collection in graph.objects(service, SD.availableGraphs):
            if (collection, RDF.type, SD.GraphCollection) not in graph:
                problems.append("sd:availableGraphs is not an sd:GraphCollection")
    for graph_node in graph.objects(None, SD.defaultGraph):
        if (graph_node, RDF.type, SD.Graph) not in graph:
            problems.append("sd:defaultGraph is not an sd:Graph")
    for named in graph.objects(None, SD.namedGraph):
        names = list(graph.objects(named, SD.name))
        if (named, RDF.type, SD.NamedGraph) not in graph or len(names) != 1 or not isinstance(names[0], URIRef):
            problems.append(f"sd:namedGraph {named} is not an sd:NamedGraph with one IRI sd:name")
    return "; ".join(problems[:5]) or None


def read_known_failures(path: Path) -> dict[str, str]:
    """``id  reason`` lines (``#`` starts a comment line) -> {id: reason}."""
    known: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ident, _, reason = line.partition(" ")
        known[ident] = reason.strip()
    return known
