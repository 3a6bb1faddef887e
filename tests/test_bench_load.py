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


@pytest.mark.parametrize("generator", GENERATORS)
def test_rounds_bound_the_requests_each_client_sent(server: str, generator: str) -> None:
    row = _run(generator, server, (200, 303))
    sent = row["requests"] + row["errors"]
    assert row["rounds"] * row["clients"] >= sent  # every request's (client, i) had i < rounds
    # and the bound is not far above it (the clients of a closed loop keep about the same pace), so a level does
    # not use up many more keys than it sent
    assert row["rounds"] * row["clients"] <= 1.25 * sent + 2 * row["clients"]


def test_load_levels_never_repeat_a_key_until_the_lists_run_out() -> None:
    from bench.all import LoadKeys, workloads

    clauses = [f"https://w3id.org/declarations/id/clause/d{k}/1" for k in range(600)]
    declarations = [f"https://w3id.org/declarations/id/declaration/d{k}" for k in range(500)]
    keys = LoadKeys(clauses, declarations)
    name = "REST /api/evidence and /api/declaration, distinct keys"
    sent: list[str] = []
    for clients, rounds in ((1, 100), (8, 40), (32, 10)):
        start = keys.next.get(name, 0)
        workload = workloads(clauses, keys, start, clients)[name]
        paths = [workload.make(n, i).path for i in range(rounds) for n in range(clients)]
        assert len(set(paths)) == len(paths)  # within a level
        assert not set(paths) & set(sent)  # and across levels
        sent += paths
        used = keys.advance(name, workload, start, clients, rounds)
        assert used == {"from": start, "to": start + rounds // 2 * clients, "space": 500, "repeated": 0}
    # 50 + 160 + 160 keys used of 500 declarations: the next 8-client level of 40 rounds needs 160 more, of
    # which 30 come round again.
    start = keys.next[name]
    workload = workloads(clauses, keys, start, 8)[name]
    assert keys.advance(name, workload, start, 8, 40)["repeated"] == 30
