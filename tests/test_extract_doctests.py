"""The examples in kg.extract's docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "kg.extract.dates",
    "kg.extract.normalise",
    "kg.extract.pipeline",
    "kg.extract.readers",
    "kg.extract.structure",
    "kg.extract.tokens",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0, f"{name} has no examples"
    assert failed == 0
