"""Links between declarations: citations, shared forums and meetings, related clauses (``graph/links``).

- :func:`link_store`: rebuild the whole links graph of a store (``kg link``; the end of ``kg build``).
- :func:`links_after_ingest`: the links graph as it must be once one declaration is added or replaced, computed
  before the write so :mod:`kg.ingest` writes the declaration and its links in one transaction.
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
from kg.namespaces import LINKS_GRAPH
from kg.store.base import Store

log = logging.getLogger(__name__)


def default_threshold() -> float:
    """The default of ``Settings.link_threshold`` (the class default, not the environment)."""
    from kg.settings import Settings

    return float(Settings.model_fields["link_threshold"].default)


def link_store(store: Store, *, threshold: float | None = None) -> int:
    """Recompute every link of ``store`` and replace ``graph/links`` with them in one transaction.

    ``threshold``: lowest clause-link score kept (default: the setting's default). Returns the number of triples
    written. Raises :class:`kg.errors.StoreError` when the store fails (the old links graph is then kept).
    """
    linker = Linker(threshold=default_threshold() if threshold is None else threshold)
    return linker.write(store, linker.rebuild(store))


def links_after_ingest(
    store: Store, key: str, quads: Sequence[ox.Quad] | None, *, threshold: float | None = None
) -> list[ox.Triple]:
    """The content ``graph/links`` must have once declaration ``key`` is written as ``quads`` (``None``: removed).

    Reads ``store``, writes nothing. Raises :class:`kg.errors.StoreError` when the store fails.
    """
    linker = Linker(threshold=default_threshold() if threshold is None else threshold)
    return linker.update(store, key, quads)


__all__ = [
    "LINKS_GRAPH",
    "Citation",
    "CitationFinder",
    "ClauseInfo",
    "ClausePair",
    "Corpus",
    "DeclarationInfo",
    "LinkSet",
    "Linker",
    "current_links",
    "default_threshold",
    "link_store",
    "links_after_ingest",
    "load_corpus",
    "overlay",
]
