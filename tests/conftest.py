"""Shared fixtures. ``built_store``: the real store, built once per session from ``ontology/`` and ``kg/corpus/``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of an embedded Oxigraph store built by :func:`kg.build.build_store` (ontology, reference data,
    shapes and the bundled declarations, with dumps in ``<folder>/../dumps``). Open it read-only
    (``kg.store.oxigraph.OxigraphStore(path, read_only=True)``) and do not write to it: other tests share it."""
    from kg.build import build_store

    path = tmp_path_factory.mktemp("built") / "store"
    build_store(path, progress=False)
    return path
