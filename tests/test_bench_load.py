"""The benchmark's HTTP load generators (``bench/common.py``: wrk with ``bench/wrk_load.lua``, and the asyncio
client used where wrk is not installed) against the real server on loopback: both send the requests they are
given, count what succeeded and report every other status by its code."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/

SEED = "lac-2010-migration-communique"

GENERATORS = [
    "asyncio_load",
    pytest.param("wrk_load", marks=pytest.mark.skipif(shutil.which("wrk") is None,
                                                      reason="wrk is not installed (apt-get install wrk)")),
]


def _mix(client: int, i: int) -> Any:
    """GET /id (303), GET /doc (200) and a SPARQL POST, in turn; a different clause for each client."""
    from bench.common import Request, sparql_request

    n = (client * 5 + i) % 13 + 1
    kind = i % 3
    if kind == 0:
        return Request("GET", f"/id/clause/{SEED}/{n}", accept="text/turtle")
    if kind == 1:
        return Request("GET", f"/doc/clause/{SEED}/{n}", accept="text/turtle")
    return sparql_request("/sparql", f"SELECT ?p ?o WHERE {{ <https://w3id.org/declarations/id/clause/{SEED}/{n}> ?p ?o }}")


def _run(name: str, base: str, ok: tuple[int, ...]) -> dict[str, Any]:
    import bench.common

    return asyncio.run(getattr(bench.common, name)(base, 3, 1.0, _mix, ok=ok, timeout=20))


@pytest.mark.parametrize("generator", GENERATORS)
def test_a_load_counts_its_successes(server: str, generator: str) -> None:
    row = _run(generator, server, (200, 303))
    assert row["errors"] == 0, row["error_statuses"]
    assert row["requests"] > 10
    assert row["rps"] > 10
    assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert row["clients"] == 3
    assert row["generator"] == generator.removesuffix("_load")


@pytest.mark.parametrize("generator", GENERATORS)
def test_a_load_reports_other_statuses_as_errors_by_code(server: str, generator: str) -> None:
    row = _run(generator, server, (200,))  # the 303s of /id are not successes here
    assert row["requests"] > 0  # the /doc and SPARQL answers
    assert set(row["error_statuses"]) == {303}
    assert row["errors"] == row["error_statuses"][303]
    # One request in three is a redirect.
    assert row["errors"] == pytest.approx(row["requests"] / 2, rel=0.2)
