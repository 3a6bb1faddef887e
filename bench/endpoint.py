"""Endpoint benchmark: our SPARQL endpoint against pyoxigraph in-process, an rdflib endpoint and Virtuoso.

``python -m bench endpoint --triples 1000000`` (about 10 minutes on 2 cores):

1. generates declaration-shaped data in our vocabulary (declarations citing earlier ones of their forum, clauses with
   speech acts, kinds, topics, mentions and evidence nodes; one named graph per declaration plus a reference graph);
2. loads it into (a) an on-disk pyoxigraph store, (b) a private Virtuoso (``tests/helpers/virtuoso.py``, bulk
   loader), (c) an rdflib ``Graph`` behind a minimal FastAPI endpoint (``bench/_rdflib_endpoint.py``);
3. starts ``kg serve`` on a free port over the pyoxigraph store;
4. runs a query mix on each engine — our endpoint over HTTP, pyoxigraph in-process (the floor), the rdflib endpoint
   (capped per query; timeouts reported) and Virtuoso over HTTP — twice: *fresh* runs (each query text made unique
   by an unused ``PREFIX``, so no result cache can answer) and *repeated* runs (the same text again), and checks
   that every engine returns the same number of rows (and the same value for one-row aggregates);
5. measures throughput at 1, 8 and 32 concurrent clients against our endpoint with wrk (a bounded asyncio client
   where wrk is not installed; one kept-alive connection per client, one request in flight each): repeated queries
   (the light part of the mix) and distinct lookups (a new IRI each request);
6. prints Markdown tables (and writes them with the raw figures as JSON into the work folder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import (
    GRAPH,
    PROJECT_DIR,
    Engine,
    HttpEngine,
    InProcessEngine,
    Process,
    Request,
    Series,
    free_port,
    generate,
    load,
    measure,
    ms,
    query_mix,
    ratio,
    sparql_request,
    wait_http,
    with_prologue,
)

log = logging.getLogger(__name__)

def report(results: dict[str, Any]) -> str:
    """Markdown tables of the results."""
    series: list[Series] = results["series"]
    engines = results["engines"]
    out = [f"Data: {results['triples']:,} triples, {results['declarations']:,} declarations, "
           f"{results['clauses']:,} clauses, {results['graphs']:,} named graphs. Loads: " +
           ", ".join(f"{k} {v:.1f} s" for k, v in results["loads"].items()) + ".", ""]  # fmt: skip
    if results.get("load_average"):
        low, mid, high = results["load_average"]
        out[0] += (f" Machine: {os.cpu_count()} cores shared with other work; 1-minute load average during the "
                   f"runs {low:.1f} to {high:.1f} (median {mid:.1f}).")  # fmt: skip
    index = {(s.engine, s.query, s.mode): s for s in series}
    for mode in ("fresh", "repeated"):
        out.append(f"Median / p95 per query, {mode} runs (n = runs timed):")
        out.append("")
        out.append("| query | rows | " + " | ".join(engines) + " |")
        out.append("| --- | --- |" + " --- |" * len(engines))
        for name in results["queries"]:
            cells = []
            rows = ""
            for engine in engines:
                s = index.get((engine, name, mode))
                if s is None:
                    cells.append("–")
                    continue
                if s.timeouts:
                    cells.append(f"timeout (> {results['rdflib_timeout']:.0f} s)")
                elif s.errors:
                    cells.append("error")
                else:
                    cells.append(f"{ms(s.median)} / {ms(s.p95)} (n={len(s.seconds)})")
                    rows = rows or str(s.rows)
            out.append(f"| {name} | {rows} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Ratios of medians (fresh runs unless marked repeated):")
    out.append("")
    ours, floor, rdfl, virt = (results["engine_names"][k] for k in ("ours", "floor", "rdflib", "virtuoso"))
    out.append("| query | ours / pyoxigraph in-process | ours repeated / pyoxigraph in-process | rdflib / ours | "
               "Virtuoso / ours | Virtuoso repeated / ours repeated |")  # fmt: skip
    out.append("| --- | --- | --- | --- | --- | --- |")
    totals: dict[str, float] = {}
    for name in results["queries"]:
        def med(engine: str, mode: str = "fresh") -> float | None:
            s = index.get((engine, name, mode))
            if s is None:
                return None
            if s.timeouts:
                return results["rdflib_timeout"]  # a lower bound
            return s.median

        o, f, r, v = med(ours), med(floor), med(rdfl), med(virt)
        orep, vrep = med(ours, "repeated"), med(virt, "repeated")
        for key, val in (("ours", o), ("floor", f), ("rdflib", r), ("virtuoso", v), ("ours_rep", orep), ("virt_rep", vrep)):
            if val is not None:
                totals[key] = totals.get(key, 0.0) + val
        timed_out = index.get((rdfl, name, "fresh"))
        rd = ratio(r, o) + (" (≥, timeout)" if timed_out is not None and timed_out.timeouts else "")
        out.append(f"| {name} | {ratio(o, f)} | {ratio(orep, f)} | {rd} | {ratio(v, o)} | {ratio(vrep, orep)} |")
    out.append(
        f"| **whole mix (sum of medians)** | {ratio(totals.get('ours'), totals.get('floor'))} | "
        f"{ratio(totals.get('ours_rep'), totals.get('floor'))} | "
        f"{ratio(totals.get('rdflib'), totals.get('ours'))} | {ratio(totals.get('virtuoso'), totals.get('ours'))} | "
        f"{ratio(totals.get('virt_rep'), totals.get('ours_rep'))} |"
    )
    out.append("")
    out.append("Counts check: " + results["counts_check"])
    out.append("")
    if results.get("throughput"):
        out.append("Throughput of our endpoint on loopback:")
        out.append("")
        out.append("| workload | clients | requests/s | p50 | p99 | errors | load generator CPU |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for row in results["throughput"]:
            p50 = "–" if row["p50_ms"] is None else f"{row['p50_ms']:.1f} ms"
            p99 = "–" if row["p99_ms"] is None else f"{row['p99_ms']:.1f} ms"
            out.append(f"| {row['workload']} | {row['clients']} | {row['rps']:.0f} | {p50} | {p99} | {row['errors']} | "
                       f"{row['client_cpu']:.0%} of a core |")  # fmt: skip
        out.append("")
    return "\n".join(out)


def _as_request(make_query: Callable[[int, int], str]) -> Callable[[int, int], Request]:
    """Requests POSTing ``make_query(client, i)`` to ``/sparql``."""
    return lambda n, i: sparql_request("/sparql", make_query(n, i))


# --- the run --------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns the results (see :func:`report`)."""
    import pyoxigraph

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-endpoint-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}", flush=True)
    loads: dict[str, float] = {}
    started = time.perf_counter()
    data = generate(work / "data", args.triples)
    loads["generate"] = time.perf_counter() - started
    print(f"generated {data.triples:,} triples in {loads['generate']:.1f} s", flush=True)
    lookup = data.lookup_iris[len(data.lookup_iris) // 2]
    queries = query_mix(lookup)

    store_dir = work / "oxigraph"
    shutil.rmtree(store_dir, ignore_errors=True)
    started = time.perf_counter()
    store = pyoxigraph.Store(str(store_dir))
    store.bulk_load(path=str(data.nquads), format=pyoxigraph.RdfFormat.N_QUADS)
    store.optimize()
    loaded = len(store)
    graphs = sum(1 for _ in store.named_graphs())
    del store
    loads["pyoxigraph"] = time.perf_counter() - started
    print(f"pyoxigraph: {loaded:,} quads in {graphs:,} graphs, {loads['pyoxigraph']:.1f} s", flush=True)

    processes: list[Process] = []
    engines: list[Engine] = []
    names = {"ours": "our endpoint (HTTP)", "floor": "pyoxigraph in-process", "rdflib": "rdflib endpoint (HTTP)",
             "virtuoso": "Virtuoso (HTTP)"}  # fmt: skip
    virtuoso = None
    virtuoso_baseline = 0
    try:
        # our endpoint
        port = free_port()
        env = dict(os.environ, KG_MAX_QUERIES_PER_CLIENT="64", KG_WORKERS=str(args.workers))
        kg = shutil.which("kg", path=str(Path(sys.executable).parent)) or "kg"
        ours = Process([kg, "serve", "--store", str(store_dir), "--port", str(port), "--query-timeout",
                        str(args.rdflib_timeout)], work / "kg-serve.log", env)  # fmt: skip
        processes.append(ours)
        popen = ours.start()
        our_url = f"http://127.0.0.1:{port}/sparql"
        wait_http(f"{our_url}?query=ASK%7B%7D", 120, popen)
        engines.append(HttpEngine(names["ours"], our_url, args.rdflib_timeout + 10))
        engines.append(InProcessEngine(store_dir))

        if not args.skip_virtuoso:
            sys.path.insert(0, str(PROJECT_DIR))
            from tests.helpers.virtuoso import Virtuoso, virtuoso_available

            if virtuoso_available():
                virtuoso = Virtuoso(work / "virtuoso", memory_gb=args.virtuoso_gb, data_dirs=(data.nquads.parent,),
                                    max_seconds=int(args.rdflib_timeout))  # fmt: skip
                virtuoso.start()
                v_engine = HttpEngine(names["virtuoso"], virtuoso.sparql_url, args.rdflib_timeout + 10)
                baseline = v_engine.run(queries["COUNT(*)"])
                virtuoso_baseline = int(baseline.value or 0)
                started = time.perf_counter()
                virtuoso.bulk_load(data.nquads.parent, "data.nq", GRAPH + "unused")
                loads["Virtuoso"] = time.perf_counter() - started
                print(f"Virtuoso: loaded in {loads['Virtuoso']:.1f} s ({virtuoso_baseline} system triples before)", flush=True)
                engines.append(v_engine)
            else:
                print("Virtuoso: not installed (Debian: virtuoso-opensource); left out", flush=True)

        rdflib_engine = None
        if not args.skip_rdflib:
            r_port = free_port()
            rdf_proc = Process([sys.executable, "-m", "bench._rdflib_endpoint", str(data.ntriples), "--port", str(r_port)],
                               work / "rdflib.log")  # fmt: skip
            processes.append(rdf_proc)

            def restart_rdflib() -> None:
                print("  rdflib endpoint timed out before: restarting it", flush=True)
                rdf_proc.stop()
                wait_http(f"http://127.0.0.1:{r_port}/health", 300, rdf_proc.start())

            started = time.perf_counter()
            wait_http(f"http://127.0.0.1:{r_port}/health", 300, rdf_proc.start())
            loads["rdflib"] = time.perf_counter() - started
            print(f"rdflib endpoint: loaded in {loads['rdflib']:.1f} s", flush=True)
            rdflib_engine = HttpEngine(names["rdflib"], f"http://127.0.0.1:{r_port}/sparql", args.rdflib_timeout, restart_rdflib)
            engines.append(rdflib_engine)

        series: list[Series] = []
        nonce = [0]
        loads_seen: list[float] = []
        for engine in engines:  # one engine after the other: the rdflib endpoint restarts at most between queries
            for name, query in queries.items():
                for mode in ("fresh", "repeated"):
                    if mode == "repeated" and (engine is rdflib_engine or isinstance(engine, InProcessEngine)):
                        continue  # neither keeps results: a repeated run is another fresh run
                    loads_seen.append(os.getloadavg()[0])
                    reps = args.rdflib_reps if engine is rdflib_engine else args.reps
                    budget = args.rdflib_budget if engine is rdflib_engine else args.budget
                    s = measure(engine, name, query, mode, reps=reps, budget=budget, nonce=nonce)
                    if engine.name == names["virtuoso"] and name == "COUNT(*)" and s.value is not None:
                        s.value = str(int(s.value) - virtuoso_baseline)  # its own system graphs are in its union
                    series.append(s)
                    state = "timeout" if s.timeouts else ("error: " + s.errors[0][:120]) if s.errors else (
                        f"median {ms(s.median)} p95 {ms(s.p95)} n={len(s.seconds)} rows={s.rows}"
                        + (f" value={s.value}" if s.value is not None else "")
                        + (f" cache={','.join(sorted(set(s.cache)))}" if s.cache else ""))  # fmt: skip
                    print(f"{name:28} {engine.name:24} {mode:8} {state}", flush=True)

        problems = []
        for name in queries:
            answers = {(s.engine, s.mode): (s.rows, s.value) for s in series if s.query == name and s.seconds}
            if len(set(answers.values())) > 1:
                problems.append(f"{name}: {answers}")
        counts_check = ("identical row counts (and one-row values) on every engine that answered"
                        + (f"; Virtuoso's COUNT(*) less its {virtuoso_baseline} system triples" if virtuoso else "")
                        if not problems else "DIFFERENCES: " + "; ".join(problems))  # fmt: skip
        print("counts check:", counts_check, flush=True)

        throughput: list[dict[str, Any]] = []
        if args.duration > 0:
            light = [with_prologue(queries[n]) for n in ("topic filter", "4-way join", "lookup by IRI")]
            lookups = data.lookup_iris
            workloads: dict[str, Callable[[int, int], str]] = {
                "repeated queries (topic filter, 4-way join, lookup)": lambda n, i: light[(n + i) % len(light)],
                "distinct lookups by IRI (uncached)": lambda n, i: with_prologue(
                    f"SELECT ?p ?o WHERE {{ <{lookups[(n * 7919 + i) % len(lookups)]}> ?p ?o }}", n * 1_000_000 + i
                ),
            }
            for workload, make in workloads.items():
                for clients in (1, 8, 32):
                    loads_seen.append(os.getloadavg()[0])
                    row = asyncio.run(load(our_url, clients, args.duration, _as_request(make)))
                    row["workload"] = workload
                    throughput.append(row)
                    print(f"throughput {workload} x{clients}: {row['rps']:.0f} req/s p50 {row['p50_ms']} ms "
                          f"p99 {row['p99_ms']} ms errors {row['errors']}", flush=True)  # fmt: skip
    finally:
        for engine in engines:
            engine.close()
        for process in processes:
            process.stop()
        if virtuoso is not None:
            virtuoso.stop()

    return {
        "triples": data.triples, "declarations": data.declarations, "clauses": data.clauses, "graphs": graphs,
        "loads": loads, "queries": list(queries), "engines": [e.name for e in engines], "engine_names": names,
        "series": series, "counts_check": counts_check, "throughput": throughput,
        "rdflib_timeout": args.rdflib_timeout, "work": str(work),
        "load_average": [min(loads_seen), statistics.median(loads_seen), max(loads_seen)] if loads_seen else None,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m bench endpoint [--triples N] ...``; prints the report; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench endpoint", description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000, help="about how many triples to generate")
    parser.add_argument("--workdir", help="folder for data, stores and logs (default: a new temporary folder)")
    parser.add_argument("--reps", type=int, default=15, help="timed runs per query and mode (fast engines)")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per query and mode before stopping early")
    parser.add_argument("--rdflib-reps", type=int, default=5)
    parser.add_argument("--rdflib-budget", type=float, default=20.0)
    parser.add_argument("--rdflib-timeout", type=float, default=60.0, help="per-query cap (rdflib; also the others)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput level (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="query worker processes of our endpoint")
    parser.add_argument("--virtuoso-gb", type=float, default=2.0, help="Virtuoso buffer pool size")
    parser.add_argument("--skip-rdflib", action="store_true")
    parser.add_argument("--skip-virtuoso", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    results = run(args)
    text = report(results)
    print()
    print(text)
    print(f"\n(total {time.perf_counter() - began:.0f} s)")
    out = Path(results["work"]) / "results.json"
    serialisable = dict(results, series=[asdict(s) | {"median": s.median, "p95": s.p95} for s in results["series"]])
    out.write_text(json.dumps(serialisable, indent=2), encoding="utf-8")
    (Path(results["work"]) / "report.md").write_text(text + "\n", encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
