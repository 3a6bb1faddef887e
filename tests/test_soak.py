"""Soak: mixed traffic (SPARQL, linked data, REST) from :data:`CLIENTS` concurrent clients against ``kg serve`` (a real
server process with its query workers) for ``SOAK_SECONDS`` (default 180), on loopback.

Not part of ``make test`` (marker ``soak``, deselected by default); run with ``make soak``. Results are printed and
recorded in docs/reliability.md. Passes when: no request fails (every answer 200 after redirects), the server's
memory (RSS of the server and its workers) grows by at most :data:`RSS_GROWTH_BOUND_MB` beyond its size after the
warm-up plus the result cache it was given, and latencies stay within the benchmark's figures at 32 clients
(docs/benchmarks.md, "Throughput": p50 87.5 ms; p99 252 ms for answers the cache holds, 675 ms for distinct queries)
times :data:`LATENCY_MARGIN` for a shared machine. The load generator is the benchmark's own light client
(``bench.common.Connection``: one kept-alive connection per client), so the figures compare.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.soak

CLIENTS = 32
WARM_UP_SECONDS = 15.0
CACHE_MB = 16
RSS_GROWTH_BOUND_MB = 48
LATENCY_MARGIN = 2.0
BENCH_P50_MS = 87.5
BENCH_P99_CACHED_MS = 252.1
BENCH_P99_MS = 675.1
DEC = "https://w3id.org/declarations/ontology#"
SEED = "lac-2010-migration-communique"


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB (from /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def _request(rng: random.Random) -> tuple[str, Any, tuple[int, ...]]:
    """One request of the mix: (kind, ``bench.common.Request``, the statuses that count as success)."""
    from urllib.parse import urlencode

    from bench.common import Request

    n = rng.randint(1, 13)
    choice = rng.random()
    if choice < 0.2:
        query = rng.choice([
            f"PREFIX dec: <{DEC}> SELECT ?c ?t WHERE {{ ?c a dec:Commitment ; dec:text ?t }}",
            f"PREFIX dec: <{DEC}> SELECT ?kind (COUNT(?c) AS ?n) WHERE {{ ?c a ?kind ; dec:partOf ?d }} GROUP BY ?kind",
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        ])
        return "sparql-repeated", Request("GET", "/sparql?" + urlencode({"query": query})), (200,)
    if choice < 0.4:  # a different text each time: computed by a worker, never from the cache
        query = (f"SELECT ?p ?o WHERE {{ <https://w3id.org/declarations/id/clause/{SEED}/{n}> ?p ?o }} "
                 f"LIMIT {rng.randint(1, 1_000_000)}")
        return "sparql-distinct", Request("POST", "/sparql", urlencode({"query": query}).encode(), "text/csv"), (200,)
    if choice < 0.7:
        path, accept, ok = rng.choice([
            (f"/id/clause/{SEED}/{n}", "text/turtle", (303,)),
            (f"/doc/clause/{SEED}/{n}", "text/turtle", (200,)),
            (f"/doc/declaration/{SEED}", "application/ld+json", (200,)),
            (f"/doc/clause/{SEED}/{n}", "text/html", (200,)),
            ("/doc/topic/remittances", "text/turtle", (200,)),
        ])
        return "linked-data", Request("GET", path, accept=accept), ok
    path = rng.choice([
        "/api/clauses?topic=remittances", "/api/declarations", "/api/topics", f"/api/declaration?declaration={SEED}",
        f"/api/clauses?limit={rng.randint(1, 50)}",
    ])
    return "rest", Request("GET", path, accept="application/json"), (200,)


async def _traffic(base: str, server_pid: int, seconds: float) -> tuple[dict[str, list[float]], list[str], list[float]]:
    """:data:`CLIENTS` clients (one kept-alive connection each, the benchmark's own light client) for the warm-up
    and ``seconds``; returns the latencies per kind after the warm-up, the failures, and RSS samples (MB)."""
    from bench.common import Connection

    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    start = time.monotonic()
    stop_at = start + WARM_UP_SECONDS + seconds
    port = int(base.rsplit(":", 1)[1])

    async def client(number: int) -> None:
        rng = random.Random(number)
        connection = Connection("127.0.0.1", port)
        while time.monotonic() < stop_at:
            kind, request, ok = _request(rng)
            t0 = time.perf_counter()
            status = await connection.send(request, 60.0)
            elapsed = time.perf_counter() - t0
            if time.monotonic() - start > WARM_UP_SECONDS:
                latencies[kind].append(elapsed)
            if status not in ok:
                errors.append(f"{status} {request.method} {request.path[:120]}")
        await connection.close()

    async def sampler() -> list[float]:
        await asyncio.sleep(WARM_UP_SECONDS)
        samples = [_rss_mb(server_pid)]
        while time.monotonic() < stop_at:
            await asyncio.sleep(min(5.0, max(0.0, stop_at - time.monotonic())))
            samples.append(_rss_mb(server_pid))
        return samples

    results = await asyncio.gather(sampler(), *(client(i) for i in range(CLIENTS)))
    return latencies, errors, results[0]


def test_soak_mixed_traffic(built_store: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for the load generator's client
    seconds = float(os.environ.get("SOAK_SECONDS", "180"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env.update(KG_MAX_QUERIES_PER_CLIENT="64", KG_RESULT_CACHE_BYTES=str(CACHE_MB * 1024 * 1024))
    server = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--store", str(built_store), "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/sparql", params={"query": "ASK {}"}, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "kg serve did not start"
            time.sleep(0.2)

        latencies, errors, rss = asyncio.run(_traffic(base, server.pid, seconds))
        assert server.poll() is None, "the server died during the soak"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    every = sorted(t for values in latencies.values() for t in values)
    total = len(every)
    lines = [f"soak: {CLIENTS} clients, {seconds:.0f} s after a {WARM_UP_SECONDS:.0f} s warm-up: {total} requests "
             f"({total / seconds:.0f}/s), {len(errors)} errors"]
    for kind, values in sorted(latencies.items()):
        values.sort()
        lines.append(f"  {kind}: {len(values)} requests, p50 {statistics.median(values) * 1000:.1f} ms, "
                     f"p99 {values[int(0.99 * (len(values) - 1))] * 1000:.1f} ms")
    cached = sorted(t for kind, values in latencies.items() if kind != "sparql-distinct" for t in values)
    distinct = sorted(latencies["sparql-distinct"])
    p50, p99 = statistics.median(every), every[int(0.99 * (total - 1))]
    lines.append(f"  all: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    lines.append(f"  server RSS (server + workers): {rss[0]:.0f} MB after warm-up, max {max(rss):.0f} MB, "
                 f"end {rss[-1]:.0f} MB; samples {[round(r) for r in rss]}")
    print("\n".join(lines))
    assert not errors, errors[:10]
    assert max(rss) - rss[0] <= CACHE_MB + RSS_GROWTH_BOUND_MB, "memory grew beyond the bound"
    assert p50 * 1000 <= BENCH_P50_MS * LATENCY_MARGIN
    assert cached[int(0.99 * (len(cached) - 1))] * 1000 <= BENCH_P99_CACHED_MS * LATENCY_MARGIN
    assert distinct[int(0.99 * (len(distinct) - 1))] * 1000 <= BENCH_P99_MS * LATENCY_MARGIN
