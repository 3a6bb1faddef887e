"""Where the graph lives: :func:`open_store` picks the backend from the settings.

- a folder (the default, ``KG_STORE``): the embedded Oxigraph store, :class:`kg.store.oxigraph.OxigraphStore`;
- an ``http://`` or ``https://`` URL: a SPARQL 1.1 server, ``kg.store.remote.RemoteStore(settings, read_only=...)``
  (imported only when asked for).

The interface both implement is :class:`kg.store.base.Store`.
"""

from __future__ import annotations

from pathlib import Path

from kg.settings import Settings
from kg.store.base import Store

__all__ = ["Store", "is_remote", "open_store"]


def is_remote(location: str | Path) -> bool:
    """Whether ``location`` names a remote SPARQL server rather than a folder."""
    return str(location).lower().startswith(("http://", "https://"))


def open_store(settings: Settings | str | Path, read_only: bool = False) -> Store:
    """Open the store named by ``settings.store`` (or by a folder/URL given directly).

    Returns a :class:`Store`; raises :class:`kg.errors.StoreError` when it cannot be opened.
    """
    if not isinstance(settings, Settings):
        settings = Settings(store=str(settings))
    if is_remote(settings.store):
        from kg.store.remote import RemoteStore  # lazy: only the scale-out path needs SPARQLWrapper

        return RemoteStore(settings, read_only=read_only)
    from kg.store.oxigraph import OxigraphStore

    return OxigraphStore(settings.store, read_only=read_only)
