"""Keeping ``graph/links`` up to date over a run of ingests, changing only the links that touch what was ingested.

:class:`LinkUpdater` reads the corpus snapshot of a store once (:func:`kg.link.data.load_corpus`) and keeps it in
memory for the run. For each group of declarations about to be written it computes a :class:`LinkPlan`: the
:class:`kg.store.base.GraphEdit` of ``graph/links`` that

- removes every old link touching one of them: triples whose subject or object is the declaration or one of its
  clauses (old or new version): ``cito:cites`` and ``dec:sharesForumWith`` from and to it, ``dec:relatedClause``
  both ways, the clause-level ``dec:refersTo`` the linker added; and every triple of the ``dec:ClauseLink`` nodes
  whose ``dec:source`` or ``dec:target`` is one of its clauses (found with one query on the links graph);
- adds the links computed for it against the corpus with the group's earlier declarations already in place
  (:meth:`kg.link.linker.Linker.links` with ``involving=``).

The caller writes the declarations' graphs and this edit in ONE transaction (:meth:`kg.store.base.Store.apply`) and
then calls :meth:`LinkUpdater.accept`; if the write fails the snapshot stays as it was. The result is the same as
updating the links one declaration at a time: links added for an earlier member of the group and touching a later
one are dropped in memory before the later one's links are computed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.link.data import CLAUSE_BASE, DECLARATION_BASE, Corpus, load_corpus, overlay
from kg.link.linker import Linker
from kg.namespaces import DEC, LINKS_GRAPH
from kg.store.base import GraphEdit, Store

log = logging.getLogger(__name__)

_SOURCE = ox.NamedNode(str(DEC.source))
_TARGET = ox.NamedNode(str(DEC.target))
#: Clause IRIs per query when looking up the clause links of the touched clauses.
_LOOKUP_CHUNK = 400


@dataclass(slots=True)
class LinkPlan:
    """The change of ``graph/links`` for a group of declarations (``edit``), the snapshot as it will be once the
    group is written (``corpus``), and the keys it covers."""

    edit: GraphEdit
    corpus: Corpus
    keys: list[str] = field(default_factory=list)
    seconds: float = 0.0


class LinkUpdater:
    """Plans link changes for declarations about to be written into ``store`` (see the module docstring).

    ``linker``: the :class:`Linker` (threshold, cap). The snapshot is read from the store on first use; it must be
    the only writer of declarations for the run (``kg ingest`` is).
    """

    def __init__(self, store: Store, linker: Linker) -> None:
        self.store = store
        self.linker = linker
        self._corpus: Corpus | None = None
        self._words: dict[str, tuple[str, list[str]]] = {}

    @property
    def corpus(self) -> Corpus:
        """The snapshot (read from the store on first use). Raises :class:`kg.errors.StoreError`."""
        if self._corpus is None:
            self._corpus = load_corpus(self.store)
        return self._corpus

    def plan(self, items: Sequence[tuple[str, Sequence[ox.Quad] | None]]) -> LinkPlan:
        """The links edit for declarations ``(key, quads)`` written in this order (``quads`` ``None``: removed).

        Reads the store (the clause links of the touched clauses), writes nothing. Raises
        :class:`kg.errors.StoreError` when the store fails.
        """
        started = time.perf_counter()
        corpus = self.corpus
        added: dict[ox.Triple, None] = {}
        ends: dict[ox.NamedNode, set[str]] = {}  # clause-link node added here -> its source and target
        remove_subjects: set[ox.NamedNode] = set()
        remove_objects: set[ox.NamedNode] = set()
        touched_clauses: set[str] = set()
        for key, quads in items:
            iri = DECLARATION_BASE + key
            prefix = f"{CLAUSE_BASE}{key}/"
            old = {c for c in corpus.clauses if c.startswith(prefix)}
            corpus = overlay(corpus, iri, quads)
            new = {c for c in corpus.clauses if c.startswith(prefix)}
            touched = {iri} | old | new
            gone_nodes = {n for n, e in ends.items() if e & touched}
            if gone_nodes or added:
                added = {
                    t: None for t in added
                    if t.subject not in gone_nodes and t.subject.value not in touched  # type: ignore[union-attr]
                    and not (isinstance(t.object, ox.NamedNode) and t.object.value in touched)
                }
                for n in gone_nodes:
                    del ends[n]
            nodes = [ox.NamedNode(x) for x in sorted(touched)]
            remove_subjects.update(nodes)
            remove_objects.update(nodes)
            touched_clauses |= old | new
            if quads:
                for t in self.linker.links(corpus, involving=iri, words_cache=self._words).triples():
                    added[t] = None
                    if t.predicate in (_SOURCE, _TARGET):
                        ends.setdefault(t.subject, set()).add(t.object.value)  # type: ignore[union-attr]
        remove_subjects.update(self._stored_link_nodes(touched_clauses))
        edit = GraphEdit(remove_subjects=remove_subjects, remove_objects=remove_objects, add=list(added))
        seconds = time.perf_counter() - started
        log.debug("links plan for %d declarations: %d subjects, %d objects out, %d triples in, %.2f s",
                  len(items), len(remove_subjects), len(remove_objects), len(added), seconds)
        return LinkPlan(edit, corpus, [k for k, _ in items], seconds)

    def accept(self, plan: LinkPlan) -> None:
        """Record that ``plan`` was written: its snapshot becomes the current one."""
        self._corpus = plan.corpus

    def _stored_link_nodes(self, clauses: set[str]) -> set[ox.NamedNode]:
        """The ``dec:ClauseLink`` nodes of ``graph/links`` whose source or target is one of ``clauses``."""
        out: set[ox.NamedNode] = set()
        names = sorted(clauses)
        for i in range(0, len(names), _LOOKUP_CHUNK):
            values = " ".join(f"<{c}>" for c in names[i : i + _LOOKUP_CHUNK])
            rows = self.store.query(
                f"SELECT DISTINCT ?l WHERE {{ VALUES ?c {{ {values} }} GRAPH <{LINKS_GRAPH}> {{ "
                f"{{ ?l <{_SOURCE.value}> ?c }} UNION {{ ?l <{_TARGET.value}> ?c }} }} }}"
            )
            out.update(row["l"] for row in rows if isinstance(row["l"], ox.NamedNode))  # type: ignore[index]
        return out


__all__ = ["LinkPlan", "LinkUpdater"]
