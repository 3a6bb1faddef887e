"""The store interface every backend implements: the embedded Oxigraph store (:mod:`kg.store.oxigraph`) and a remote
SPARQL 1.1 server (:mod:`kg.store.remote`).

The interface is deliberately small:

``query(sparql, *, substitutions=None, use_default_graph_as_union=True, default_graph=None, named_graphs=None)``
    Run a SPARQL 1.1 query; returns pyoxigraph results (``QuerySolutions``, ``QueryBoolean`` or ``QueryTriples``).
    By default the default graph is the union of all graphs, so a query without ``GRAPH`` sees everything.
    Raises :class:`kg.errors.BadQuery` for a query that does not parse and :class:`kg.errors.StoreError` when the
    store fails.
``replace_graphs({graph_iri: statements}, remove=())``
    Replace whole named graphs in ONE transaction: every graph named in the mapping is emptied and refilled with its
    statements (pyoxigraph ``Triple`` or ``Quad``; a quad's own graph name is ignored), and every graph in
    ``remove`` is dropped. All or nothing: when it raises, the store is exactly as it was.
``apply(replace={graph_iri: statements}, remove=(), edits={graph_iri: GraphEdit(...)})``
    :meth:`replace_graphs` plus changes to PART of other graphs, in ONE transaction: for each edited graph, every
    statement whose subject is in ``remove_subjects`` or whose object is in ``remove_objects`` is deleted, and the
    ``remove`` statements, then the ``add`` statements are inserted (so a statement both removed and added stays).
    All or nothing, like ``replace_graphs``. This is what keeps ``graph/links`` up to date on ingest without
    rewriting it: the cost follows the size of the change, not of the graph.
``graph_names()``
    The IRIs of the named graphs, sorted.
``export(target, format)``
    Write a dump to a path (``.gz`` suffix: gzip) or a binary stream. Formats: ``nq`` and ``trig`` (the dataset,
    with graph names), ``ttl`` and ``nt`` (the default view: the union of all graphs).
``close()``
    Release the store (also done by ``with store: ...``).

``read_only`` tells whether writes are refused.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal, TypeAlias

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    NamedNode,
    Quad,
    QueryBoolean,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Triple,
    Variable,
)
from pyoxigraph import Literal as RdfLiteral

Term: TypeAlias = NamedNode | BlankNode | RdfLiteral | Triple
QueryResult: TypeAlias = QuerySolutions | QueryBoolean | QueryTriples
Statement: TypeAlias = Triple | Quad
ExportFormat = Literal["nq", "trig", "ttl", "nt"]

#: ``kg export`` formats -> (pyoxigraph format, whether it keeps graph names).
EXPORT_FORMATS: dict[str, tuple[RdfFormat, bool]] = {
    "nq": (RdfFormat.N_QUADS, True),
    "trig": (RdfFormat.TRIG, True),
    "ttl": (RdfFormat.TURTLE, False),
    "nt": (RdfFormat.N_TRIPLES, False),
}


def as_quads(graph: str, statements: Iterable[Statement]) -> list[Quad]:
    """Materialise ``statements`` as quads in named graph ``graph`` (a quad's own graph name is replaced).

    Raises whatever iterating ``statements`` raises, before anything is written anywhere.
    """
    g = NamedNode(graph)
    out: list[Quad] = []
    append = out.append
    for st in statements:
        if isinstance(st, Quad):
            if st.graph_name == g:
                append(st)
            else:
                append(Quad(st.subject, st.predicate, st.object, g))
        elif isinstance(st, Triple):
            append(Quad(st.subject, st.predicate, st.object, g))
        else:
            raise TypeError(f"expected a pyoxigraph Triple or Quad, got {type(st).__name__}")
    return out


@dataclass(frozen=True, slots=True)
class GraphEdit:
    """A change to part of one named graph (see :meth:`Store.apply`).

    ``remove_subjects`` / ``remove_objects``: every statement of the graph with one of these subjects / objects
    goes; ``remove``: these statements go (no blank nodes: SPARQL cannot name a stored blank node); ``add``: these
    statements are inserted after the removals. A quad's own graph name is ignored.

    >>> GraphEdit(add=[]).empty
    True
    """

    remove_subjects: Collection[NamedNode] = ()
    remove_objects: Collection[NamedNode] = ()
    remove: Collection[Statement] = ()
    add: Collection[Statement] = ()

    @property
    def empty(self) -> bool:
        """Whether the edit changes nothing."""
        return not (self.remove_subjects or self.remove_objects or self.remove or self.add)


def check_apply_arguments(replace: Mapping[str, object], remove: Iterable[str], edits: Mapping[str, object]) -> None:
    """Raise ``ValueError`` when a graph is both replaced (or removed) and edited in one :meth:`Store.apply`."""
    clash = (set(replace) | set(remove)) & set(edits)
    if clash:
        raise ValueError(f"graphs both replaced or removed and edited: {', '.join(sorted(clash))}")


class Store(abc.ABC):
    """A place that holds the graph. See the module docstring for the contract of each method."""

    read_only: bool = False

    @abc.abstractmethod
    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        use_default_graph_as_union: bool = True,
        default_graph: list[NamedNode | DefaultGraph] | None = None,
        named_graphs: list[NamedNode] | None = None,
    ) -> QueryResult:
        """Run a SPARQL query. Raises :class:`kg.errors.BadQuery` or :class:`kg.errors.StoreError`."""

    def replace_graphs(self, graphs: Mapping[str, Iterable[Statement]], remove: Iterable[str] = ()) -> None:
        """Replace the named graphs in ``graphs`` and drop those in ``remove``, in one transaction: :meth:`apply`
        without edits.

        Raises :class:`kg.errors.StoreError` (store unchanged) or ``TypeError`` for a statement that is not a
        pyoxigraph ``Triple``/``Quad``.
        """
        self.apply(graphs, remove=remove)

    @abc.abstractmethod
    def apply(
        self,
        replace: Mapping[str, Iterable[Statement]] | None = None,
        *,
        remove: Iterable[str] = (),
        edits: Mapping[str, GraphEdit] | None = None,
    ) -> None:
        """Replace the graphs in ``replace``, drop those in ``remove`` and apply ``edits`` to parts of other graphs,
        in one transaction (see the module docstring).

        Raises :class:`kg.errors.StoreError` (store unchanged), ``ValueError`` when a graph is both replaced and
        edited or an edit removes a statement with a blank node, ``TypeError`` for a statement that is not a
        pyoxigraph ``Triple``/``Quad``.
        """

    @abc.abstractmethod
    def graph_names(self) -> list[str]:
        """The IRIs of the named graphs, sorted."""

    @abc.abstractmethod
    def export(self, target: str | Path | BinaryIO, format: ExportFormat) -> None:
        """Write a dump (see module docstring). Raises ``ValueError`` for an unknown format, StoreError on failure."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store. Safe to call twice."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
