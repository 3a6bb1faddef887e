"""Shared fixtures. ``built_store``: the real store, built once per session from ``ontology/`` and ``kg/corpus/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pyoxigraph


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of an embedded Oxigraph store built by :func:`kg.build.build_store` (ontology, reference data,
    shapes and the bundled declarations, with dumps in ``<folder>/../dumps``). Open it read-only
    (``kg.store.oxigraph.OxigraphStore(path, read_only=True)``) and do not write to it: other tests share it."""
    from kg.build import build_store

    path = tmp_path_factory.mktemp("built") / "store"
    build_store(path, progress=False)
    return path


@pytest.fixture(scope="module")
def server(built_store: Path) -> Iterator[str]:
    """Base URL of the real app under uvicorn on loopback over :func:`built_store`, one per test module."""
    from kg.settings import Settings
    from helpers.server import live_server

    with live_server(Settings(store=str(built_store), workers=2, query_timeout=20)) as url:
        yield url


@pytest.fixture(scope="module")
def store(built_store: Path) -> Iterator[pyoxigraph.Store]:
    """A read-only handle of :func:`built_store`, to compare what the server says with what the store holds."""
    import pyoxigraph

    yield pyoxigraph.Store.read_only(str(built_store))
