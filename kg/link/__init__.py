"""Links between declarations: citations, shared forums and meetings, related clauses (``graph/links``).

- :func:`link_store`: rebuild the whole links graph of a store (``kg link``; the end of ``kg build``).
- :class:`LinkUpdater` (:mod:`kg.link.update`): what :mod:`kg.ingest` uses: the change of the links graph (only the
  links touching the ingested declarations) as a :class:`kg.store.base.GraphEdit`, computed before the write so the
  declarations and their links go into the store in one transaction.
- :func:`links_after_ingest`: the whole links graph as it must be once one declaration is added or replaced (reads
  the whole links graph; kept for callers that replace the graph whole).
- :class:`Linker` (:mod:`kg.link.linker`) does the work on a :class:`Corpus` snapshot (:mod:`kg.link.data`);
  :mod:`kg.link.citations` resolves citations, :mod:`kg.link.similarity` scores clause pairs.

Entity links (``owl:sameAs`` Wikidata and GeoNames, ``skos:exactMatch``/``closeMatch`` UNBIS and EuroVoc) are part
of the reference data (``graph/reference``) and are not repeated here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pyoxigraph as ox

from kg.link.citations import Citation, CitationFinder
from kg.link.data import ClauseInfo, Corpus, DeclarationInfo, load_corpus, overlay
from kg.link.linker import ClausePair, Linker, LinkSet, current_links
from kg.link.update import LinkPlan, LinkUpdater
from kg.namespaces import LINKS_GRAPH
from kg.store.base import Store

log = logging.getLogger(__name__)


def default_threshold() -> float:
    """The default of ``Settings.link_threshold`` (the class default, not the environment)."""
    from kg.settings import Settings

    return float(Settings.model_fields["link_threshold"].default)


def default_max_per_clause() -> int:
    """The default of ``Settings.link_max_per_clause`` (the class default, not the environment)."""
    from kg.settings import Settings

    return int(Settings.model_fields["link_max_per_clause"].default)


def make_linker(*, threshold: float | None = None, max_per_clause: int | None = None) -> Linker:
    """A :class:`Linker` with the given threshold and cap (``None``: the settings' defaults)."""
    return Linker(
        threshold=default_threshold() if threshold is None else threshold,
        max_per_clause=default_max_per_clause() if max_per_clause is None else max_per_clause,
    )


def link_store(store: Store, *, threshold: float | None = None, max_per_clause: int | None = None) -> int:
    """Recompute every link of ``store`` and replace ``graph/links`` with them in one transaction.

    ``threshold``: lowest clause-link score kept; ``max_per_clause``: the cap on related clauses per clause (both
    default to the settings' defaults). Returns the number of triples written. Raises
    :class:`kg.errors.StoreError` when the store fails (the old links graph is then kept).
    """
    linker = make_linker(threshold=threshold, max_per_clause=max_per_clause)
    return linker.write(store, linker.rebuild(store))


def links_after_ingest(
    store: Store, key: str, quads: Sequence[ox.Quad] | None, *, threshold: float | None = None,
    max_per_clause: int | None = None,
) -> list[ox.Triple]:
    """The content ``graph/links`` must have once declaration ``key`` is written as ``quads`` (``None``: removed).

    Reads ``store`` (the whole links graph), writes nothing. Raises :class:`kg.errors.StoreError` when the store
    fails. :class:`LinkUpdater` gives the same change as an edit, without reading the whole graph.
    """
    return make_linker(threshold=threshold, max_per_clause=max_per_clause).update(store, key, quads)


__all__ = [
    "LINKS_GRAPH",
    "Citation",
    "CitationFinder",
    "ClauseInfo",
    "ClausePair",
    "Corpus",
    "DeclarationInfo",
    "LinkPlan",
    "LinkSet",
    "LinkUpdater",
    "Linker",
    "current_links",
    "default_max_per_clause",
    "default_threshold",
    "link_store",
    "links_after_ingest",
    "load_corpus",
    "make_linker",
    "overlay",
]
