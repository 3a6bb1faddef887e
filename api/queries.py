"""Named queries: the files of ``queries/`` read into a strict model, once, at start-up.

A query file is valid SPARQL whose first lines start with ``#+ ``; together they are a YAML mapping (the front
matter)::

    #+ summary: Declarations, newest first            (required)
    #+ description: longer text                      (optional)
    #+ tags: [declarations]
    #+ parameters:
    #+   - name: from                                 (also the SPARQL variable ?from)
    #+     kind: year                                 (iri | literal | int | date | year)
    #+     description: earliest year of adoption
    #+   - name: adopter
    #+     kind: iri
    #+     resolves: actor                            (accepts a key, the canonical IRI or an exact label)
    #+ fields:                                        (JSON-LD term of a result field; others get api: terms)
    #+   declaration: "@id"
    #+   title: dcterms:title
    #+ example:                                       (required; the tests run it against the built graph)
    #+   params: {from: 2009}
    #+   returns: {min_rows: 1, contains: {declaration: "https://w3id.org/declarations/id/declaration/..."}}

Unknown keys are errors (the models forbid extra fields). :func:`load_queries` checks each file further: the query
parses, is a SELECT, uses every parameter's variable and projects it (pyoxigraph binds variables with
``substitutions=`` only when they are projected), and the example names declared parameters and result fields.
A bad file raises :class:`QueryFileError` with the file and the line, which stops the application's start-up.

How a query uses a parameter: it is bound as an RDF term (never written into the text) when given and left unbound
when not. Optional filters are written so that an unbound parameter lets everything through, e.g.
``FILTER(COALESCE(YEAR(?date) >= ?from, true))`` or ``FILTER(COALESCE(STR(?topic), "") = "" || EXISTS {...})``
(``BOUND`` does not see a substituted variable in pyoxigraph 0.5, ``COALESCE`` does). Parameters belong to the
outer group of the query (not to sub-SELECTs), so a remote store binding them with ``VALUES`` means the same.

Such a filter is right but not fast: Oxigraph plans the query before ``substitutions=`` binds the parameter, so a
parameter seen only in a FILTER makes the plan walk every candidate (seconds at 10M triples; a parameter that
starts the triple patterns, as in ``evidence.rq``, is an index lookup). Rewrites that steer Oxigraph's planner
(a branch per bound/unbound parameter around ``IRI(STR(?p))``) were tried and withdrawn: Virtuoso evaluates them
differently, so the REST operations would answer differently on the scale-out path.
``tests/test_remote_store.py::test_query_files_answer_the_same_on_virtuoso_and_embedded`` guards that.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kg.errors import BadInput, BadParameter
from kg.namespaces import DEC, ID_BASE, PREFIXES

log = logging.getLogger(__name__)

FRONT_MATTER_PREFIX = "#+"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Parameter names the REST layer uses itself.
RESERVED_NAMES = frozenset({"limit", "offset", "format", "cursor"})
#: Longest string value a parameter accepts.
MAX_VALUE_LENGTH = 300
XSD = PREFIXES["xsd"]
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*(?:/[a-z0-9][a-z0-9.\-]*)*$")

#: ``resolves:`` values -> (IRI type segments tried for a key, classes a resource of that kind belongs to).
RESOLVABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "declaration": (("declaration",), (str(DEC.Declaration),)),
    "clause": (("clause",), (str(DEC.Clause),)),
    "topic": (("topic",), (str(DEC.Topic),)),
    "speech-act": (("speech-act",), (str(DEC.SpeechActConcept),)),
    "state": (("state",), (str(DEC.State),)),
    "organisation": (("organisation",), (str(DEC.Organisation),)),
    "group": (("group",), (str(DEC.GroupOfStates),)),
    "population-group": (("population-group",), (str(DEC.PopulationGroup),)),
    "right": (("right",), (str(DEC.Right),)),
    "forum": (("forum",), (str(DEC.Forum),)),
    "meeting": (("meeting",), (str(DEC.Meeting),)),
    "place": (("place",), (str(DEC.Place),)),
    "actor": (
        ("state", "organisation", "group", "population-group"),
        (str(DEC.State), str(DEC.Organisation), str(DEC.GroupOfStates), str(DEC.PopulationGroup)),
    ),
}


class QueryFileError(BadInput):
    """A file of ``queries/`` that cannot be served: its message starts with ``file:line:``."""

    title = "Bad query file"


class Kind(str, Enum):
    """What a parameter's value is, and the RDF term it is bound as."""

    iri = "iri"  # an absolute IRI -> NamedNode
    literal = "literal"  # a string -> xsd:string literal
    int = "int"  # -> xsd:integer
    date = "date"  # YYYY-MM-DD -> xsd:date
    year = "year"  # -> xsd:integer (compare with YEAR(?date))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """One declared parameter: its name is the HTTP query parameter and the SPARQL variable."""

    name: str
    kind: Kind
    description: str = ""
    required: bool = False
    default: str | int | dt.date | None = None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    resolves: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(f"parameter name {value!r} must match {NAME_RE.pattern}")
        if value in RESERVED_NAMES:
            raise ValueError(f"parameter name {value!r} is reserved ({', '.join(sorted(RESERVED_NAMES))})")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a regular expression: {exc}") from exc
        return value

    @field_validator("resolves")
    @classmethod
    def _resolves(cls, value: str | None) -> str | None:
        if value is not None and value not in RESOLVABLE:
            raise ValueError(f"resolves: {value!r} is not one of {', '.join(RESOLVABLE)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if self.resolves and self.kind is not Kind.iri:
            raise ValueError("resolves: needs kind: iri")
        if self.enum is not None and self.kind is not Kind.literal:
            raise ValueError("enum: needs kind: literal")
        if (self.minimum is not None or self.maximum is not None) and self.kind not in (Kind.int, Kind.year):
            raise ValueError("minimum/maximum need kind: int or year")
        if self.required and self.default is not None:
            raise ValueError("a required parameter has no default")
        if self.default is not None:
            self.check(self.default)
        return self

    # values
    @property
    def bounds(self) -> tuple[int | None, int | None]:
        """The accepted range of an int or year (a year is 1..9999 unless narrowed)."""
        if self.kind is Kind.year:
            return (self.minimum if self.minimum is not None else 1, self.maximum if self.maximum is not None else 9999)
        return (self.minimum, self.maximum)

    def check(self, value: object) -> str | int | dt.date:
        """``value`` (from the URL or the front matter) as the Python value of this parameter's kind.

        Raises :class:`kg.errors.BadParameter` (422) for a value of the wrong kind, out of range, not in the enum,
        not matching the pattern, too long or holding control characters.
        """
        name = self.name
        if self.kind in (Kind.int, Kind.year):
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise BadParameter(f"{name}: expected an integer, got {value!r}"[:400], parameter=name)
            try:
                number = int(value)
            except ValueError:
                raise BadParameter(f"{name}: expected an integer, got {str(value)[:40]!r}", parameter=name) from None
            low, high = self.bounds
            if (low is not None and number < low) or (high is not None and number > high):
                raise BadParameter(f"{name}: {number} is outside {low}..{high}", parameter=name)
            return number
        if self.kind is Kind.date:
            if isinstance(value, dt.date):
                return value
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                detail = f"{name}: expected a date YYYY-MM-DD, got {str(value)[:40]!r}"
                raise BadParameter(detail, parameter=name) from None
        text = str(value)
        if not text:
            raise BadParameter(f"{name}: empty value", parameter=name)
        if len(text) > MAX_VALUE_LENGTH:
            raise BadParameter(f"{name}: longer than {MAX_VALUE_LENGTH} characters", parameter=name)
        if _CONTROL_RE.search(text):
            raise BadParameter(f"{name}: control characters are not accepted", parameter=name)
        if self.enum is not None and text not in self.enum:
            raise BadParameter(f"{name}: {text[:40]!r} is not one of {', '.join(self.enum)}", parameter=name)
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise BadParameter(f"{name}: {text[:40]!r} does not match {self.pattern}", parameter=name)
        if self.kind is Kind.iri and not self.resolves:
            iri_term(text, name)
        return text

    def term(self, value: str | int | dt.date) -> Any:
        """The pyoxigraph term a checked value is bound as (an IRI parameter's value must already be an IRI)."""
        import pyoxigraph as ox

        if self.kind is Kind.iri:
            return iri_term(str(value), self.name)
        if self.kind in (Kind.int, Kind.year):
            return ox.Literal(str(int(value)), datatype=ox.NamedNode(XSD + "integer"))
        if self.kind is Kind.date:
            return ox.Literal(value.isoformat() if isinstance(value, dt.date) else str(value),
                              datatype=ox.NamedNode(XSD + "date"))
        return ox.Literal(str(value))

    def sample(self) -> str | int | dt.date:
        """A value of this parameter's kind, used to check at start-up that the query can bind it."""
        if self.kind is Kind.iri:
            return ID_BASE + "example/sample"
        if self.default is not None:
            return self.check(self.default)
        if self.kind in (Kind.int, Kind.year):
            low, _ = self.bounds
            return low if low is not None else 1
        if self.kind is Kind.date:
            return dt.date(2000, 1, 1)
        return self.enum[0] if self.enum else "sample"


def iri_term(text: str, name: str) -> Any:
    """``text`` as a pyoxigraph ``NamedNode``: an absolute http(s) or urn IRI. Raises BadParameter otherwise."""
    import pyoxigraph as ox

    if not re.match(r"^(?:https?://|urn:)", text):
        raise BadParameter(f"{name}: expected an absolute http(s) or urn IRI", parameter=name)
    try:
        return ox.NamedNode(text)
    except ValueError as exc:
        raise BadParameter(f"{name}: not an IRI ({exc})", parameter=name) from None


class ExampleReturns(_Strict):
    """What the example call must answer: at least ``min_rows`` rows (at most ``max_rows``), and for each mapping
    of ``contains`` a row whose fields have those values (compared as text)."""

    min_rows: int = Field(default=1, ge=0)
    max_rows: int | None = Field(default=None, ge=0)
    contains: list[dict[str, str | int | float | bool]] = Field(default_factory=list)

    @field_validator("contains", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value


class Example(_Strict):
    """An example call: parameter values and what it returns. ``needs_graph`` names a graph of the build the
    answer depends on (``links``: made by ``kg.link``)."""

    params: dict[str, str | int | dt.date] = Field(default_factory=dict)
    returns: ExampleReturns = Field(default_factory=ExampleReturns)
    needs_graph: Literal["links", "inferred"] | None = None


class FrontMatter(_Strict):
    """The ``#+ `` header of a query file."""

    summary: str = Field(min_length=3)
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    fields: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    example: Example

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(t.strip() for t in value.split(",") if t.strip())
        return value

    @model_validator(mode="after")
    def _unique(self) -> FrontMatter:
        names = [p.name for p in self.parameters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"parameters declared twice: {', '.join(duplicates)}")
        unknown = sorted(set(self.example.params) - set(names))
        if unknown:
            raise ValueError(f"example.params names undeclared parameters: {', '.join(unknown)}")
        for parameter in self.parameters:
            if parameter.name in self.example.params:
                parameter.check(self.example.params[parameter.name])
            elif parameter.required:
                raise ValueError(f"example.params lacks the required parameter {parameter.name!r}")
        return self


class NamedQuery(BaseModel):
    """One file of ``queries/``, checked: its name (the file name), front matter, SPARQL text (without the front
    matter) and result fields (projected variables that are not parameters, in order)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    path: Path
    meta: FrontMatter
    sparql: str
    fields: tuple[str, ...]

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """The declared parameters."""
        return self.meta.parameters

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``. Raises KeyError."""
        for parameter in self.meta.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(name)


# --- reading -----------------------------------------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str, str]:
    """The ``#+ `` header of a query file as YAML text (prefix and one space removed from each line) and the rest
    with leading blank lines removed. Line ``n`` of the YAML is line ``n`` of the file.

    >>> split_front_matter("#+ summary: All\\n#+ tags: [a]\\n\\nASK {}\\n")
    ('summary: All\\ntags: [a]\\n', 'ASK {}\\n')
    """
    header: list[str] = []
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines) and lines[index].startswith(FRONT_MATTER_PREFIX):
        line = lines[index][len(FRONT_MATTER_PREFIX) :]
        header.append(line[1:] if line.startswith(" ") else line)
        index += 1
    return "".join(header), "".join(lines[index:]).lstrip("\r\n")


def read_front_matter(text: str, source: str = "<query>") -> tuple[dict[str, Any], str]:
    """The front matter of a query file as a mapping (empty without one) and the query text.

    Raises :class:`QueryFileError` (``source:line: message``) when the header is not a YAML mapping.
    """
    header, body = split_front_matter(text)
    if not header.strip():
        return {}, body
    try:
        meta = yaml.safe_load(header)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise QueryFileError(f"{source}:{line}: front matter is not YAML: {getattr(exc, 'problem', exc)}",
                             file=source, line=line) from None
    if not isinstance(meta, dict):
        raise QueryFileError(f"{source}:1: front matter must be a mapping of keys", file=source, line=1)
    return meta, body


def _line_of(header: str, location: tuple[int | str, ...]) -> int:
    """The 1-based line of the YAML node at ``location`` (keys and list indexes) in ``header``, or of the
    deepest node found on the way (line 1 when none)."""
    try:
        node = yaml.compose(header)
    except yaml.YAMLError:
        return 1
    line = (node.start_mark.line + 1) if node is not None else 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, _ in node.value if k.value == part), None)
            if match is None:
                break
            line = (key.start_mark.line if key is not None else match.start_mark.line) + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _query_line(body_offset: int, exc: SyntaxError) -> int:
    match = re.search(r"at (\d+):(\d+)", str(exc))
    return body_offset + (int(match.group(1)) if match else 1)


def load_query(path: Path) -> NamedQuery:
    """Read and check one query file. Raises :class:`QueryFileError` (``file:line: message``) when it cannot be
    served: unreadable, bad front matter, a query that does not parse, is not a SELECT, or does not use and project
    each parameter, an example naming unknown fields."""
    import pyoxigraph as ox

    source = str(path)
    name = path.stem
    if not NAME_RE.match(name):
        raise QueryFileError(f"{source}:1: the file name must match {NAME_RE.pattern}.rq", file=source, line=1)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryFileError(f"{source}:1: cannot read: {exc}", file=source, line=1) from None
    header, _ = split_front_matter(text)
    meta_raw, body = read_front_matter(text, source)
    if not meta_raw:
        raise QueryFileError(f"{source}:1: no '#+ ' front matter (summary, example, ...)", file=source, line=1)
    try:
        meta = FrontMatter.model_validate(meta_raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = tuple(first.get("loc", ()))
        line = _line_of(header, location)
        where = ".".join(str(p) for p in location) or "front matter"
        raise QueryFileError(f"{source}:{line}: {where}: {first.get('msg')}", file=source, line=line) from None
    except BadParameter as exc:
        raise QueryFileError(f"{source}:1: {exc.detail}", file=source, line=1) from None
    body_offset = text[: len(text) - len(body)].count("\n")
    store = ox.Store()
    try:
        plain = store.query(body)
    except SyntaxError as exc:
        line = _query_line(body_offset, exc)
        raise QueryFileError(f"{source}:{line}: the query does not parse: {exc}", file=source, line=line) from None
    if not isinstance(plain, ox.QuerySolutions):
        raise QueryFileError(f"{source}:{body_offset + 1}: only SELECT queries can be operations", file=source,
                             line=body_offset + 1)
    variables = [v.value for v in plain.variables]
    for parameter in meta.parameters:
        if not re.search(r"[?$]" + re.escape(parameter.name) + r"\b", body):
            line = _line_of(header, ("parameters", meta.parameters.index(parameter)))
            raise QueryFileError(f"{source}:{line}: parameter {parameter.name!r} is not used by the query "
                                 f"(no ?{parameter.name})", file=source, line=line)
        if parameter.name not in variables:
            line = _line_of(header, ("parameters", meta.parameters.index(parameter)))
            raise QueryFileError(f"{source}:{line}: parameter ?{parameter.name} must be in the SELECT list "
                                 "(pyoxigraph binds only projected variables)", file=source, line=line)
    substitutions = {ox.Variable(p.name): p.term(p.sample()) for p in meta.parameters}
    try:
        list(store.query(body, substitutions=substitutions))
    except (SyntaxError, RuntimeError, ValueError, OSError) as exc:
        raise QueryFileError(f"{source}:{body_offset + 1}: the query cannot bind its parameters: {exc}",
                             file=source, line=body_offset + 1) from None
    params = {p.name for p in meta.parameters}
    fields = tuple(v for v in variables if v not in params)
    for index, expected in enumerate(meta.example.returns.contains):
        unknown = sorted(set(expected) - set(fields))
        if unknown:
            line = _line_of(header, ("example", "returns", "contains"))
            raise QueryFileError(f"{source}:{line}: example.returns.contains[{index}] names fields the query does "
                                 f"not return: {', '.join(unknown)}", file=source, line=line)
    unknown_fields = sorted(set(meta.fields) - set(fields))
    if unknown_fields:
        line = _line_of(header, ("fields",))
        raise QueryFileError(f"{source}:{line}: fields: names no result field: {', '.join(unknown_fields)}",
                             file=source, line=line)
    return NamedQuery(name=name, path=path, meta=meta, sparql=body, fields=fields)


def load_queries(folder: Path) -> dict[str, NamedQuery]:
    """Every ``*.rq`` file of ``folder``, checked, by name (sorted). A missing folder gives an empty mapping.

    Raises :class:`QueryFileError` for the first bad file (its path and line in the message).
    """
    if not folder.is_dir():
        log.warning("no query folder at %s: no REST operations", folder)
        return {}
    queries = {path.stem: load_query(path) for path in sorted(folder.glob("*.rq"))}
    log.info("%d named queries read from %s", len(queries), folder)
    return queries


# --- results -----------------------------------------------------------------------------------------------------

_INTEGER_TYPES = {XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
                                    "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt",
                                    "unsignedLong", "unsignedShort", "unsignedByte")}
_NUMBER_TYPES = {XSD + t for t in ("decimal", "double", "float")}
_BOOLEAN = XSD + "boolean"


def json_value(binding: dict[str, str] | None) -> str | int | float | bool | None:
    """A value of the SPARQL JSON results format as a plain JSON value: an IRI as its text, a blank node as
    ``_:id``, a number or boolean literal as a number or boolean, any other literal as its lexical form."""
    if binding is None:
        return None
    kind, value = binding.get("type"), binding.get("value", "")
    if kind == "uri":
        return value
    if kind == "bnode":
        return "_:" + value
    datatype = binding.get("datatype")
    try:
        if datatype in _INTEGER_TYPES:
            return int(value)
        if datatype in _NUMBER_TYPES:
            number = float(value)
            return number if number == number and abs(number) != float("inf") else value
    except ValueError:
        return value
    if datatype == _BOOLEAN:
        return value in ("true", "1")
    return value


def rows_of(results: dict[str, Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of a SPARQL JSON results document, each with exactly ``fields`` (None where unbound)."""
    return [{f: json_value(b.get(f)) for f in fields} for b in results.get("results", {}).get("bindings", [])]


def example_failures(query: NamedQuery, rows: list[dict[str, Any]]) -> list[str]:
    """What is wrong with ``rows`` as the answer of ``query``'s example (empty when it answers as declared)."""
    expected = query.meta.example.returns
    problems: list[str] = []
    if len(rows) < expected.min_rows:
        problems.append(f"{len(rows)} rows, expected at least {expected.min_rows}")
    if expected.max_rows is not None and len(rows) > expected.max_rows:
        problems.append(f"{len(rows)} rows, expected at most {expected.max_rows}")
    for wanted in expected.contains:
        if not any(all(str(row.get(k)) == str(v) for k, v in wanted.items()) for row in rows):
            problems.append(f"no row with {wanted}")
    return problems
