"""Writing query results and dumps for people and programs (``kg query``, ``kg export``).

Dumps themselves are written by :meth:`kg.store.base.Store.export`; this module formats query results:
``table`` (a terminal table), ``json``/``csv``/``tsv``/``xml`` (the SPARQL 1.1 results formats) for ``SELECT`` and
``ASK``, and ``ttl``/``nt`` for ``CONSTRUCT`` and ``DESCRIBE``.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from pyoxigraph import Literal, QueryBoolean, QueryResultsFormat, QuerySolutions, QueryTriples, RdfFormat, serialize

from kg.errors import BadInput
from kg.namespaces import PREFIXES
from kg.store.oxigraph import TURTLE_PREFIXES

_SOLUTION_FORMATS = {
    "json": QueryResultsFormat.JSON,
    "csv": QueryResultsFormat.CSV,
    "tsv": QueryResultsFormat.TSV,
    "xml": QueryResultsFormat.XML,
}
_GRAPH_FORMATS = {"ttl": RdfFormat.TURTLE, "nt": RdfFormat.N_TRIPLES}


_PLAIN_TYPES = {PREFIXES["xsd"] + t for t in ("string", "integer", "decimal", "double", "boolean", "date")}


def _short(term: object) -> str:
    """A term for a terminal table: prefixed names, plain numbers, dates and strings."""
    if isinstance(term, Literal):
        if term.language:
            return f"{term.value} @{term.language}"
        if term.datatype.value in _PLAIN_TYPES:
            return term.value
        return f"{term.value} ^^{_short(term.datatype)}"
    text = str(term)
    if text.startswith("<") and text.endswith(">"):
        iri = text[1:-1]
        for prefix, ns in PREFIXES.items():
            if iri.startswith(ns) and len(iri) > len(ns):
                return f"{prefix}:{iri[len(ns):]}"
    return text


def print_results(
    results: QuerySolutions | QueryBoolean | QueryTriples, format: str | None = None, out: BinaryIO | None = None
) -> None:
    """Write ``results`` to ``out`` (default stdout) in ``format`` (default: ``table`` for solutions and booleans,
    ``ttl`` for triples). Raises :class:`BadInput` for a format that does not fit the kind of result."""
    stream = out if out is not None else sys.stdout.buffer
    if isinstance(results, QueryTriples):
        fmt = format or "ttl"
        if fmt not in _GRAPH_FORMATS:
            raise BadInput(f"--format {fmt}: a CONSTRUCT or DESCRIBE result is written as ttl or nt")
        serialize(results, stream, _GRAPH_FORMATS[fmt], prefixes=TURTLE_PREFIXES if fmt == "ttl" else None)
        stream.flush()
        return
    fmt = format or "table"
    if fmt in _GRAPH_FORMATS:
        raise BadInput(f"--format {fmt}: only for CONSTRUCT or DESCRIBE; use table, json, csv, tsv or xml")
    if fmt != "table":
        results.serialize(stream, _SOLUTION_FORMATS[fmt])
        stream.write(b"\n")
        stream.flush()
        return
    if isinstance(results, QueryBoolean):
        stream.write(b"true\n" if bool(results) else b"false\n")
        stream.flush()
        return
    from rich.console import Console
    from rich.table import Table

    names = [v.value for v in results.variables]
    table = Table(*names, show_lines=False)
    count = 0
    for solution in results:
        table.add_row(*("" if solution[n] is None else _short(solution[n]) for n in names))
        count += 1
    console = Console(file=sys.stdout if out is None else None, width=200 if not sys.stdout.isatty() else None)
    console.print(table)
    console.print(f"{count} row{'s' if count != 1 else ''}")
