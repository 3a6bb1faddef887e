"""Ingestion benchmark: declarations per second into the on-disk Oxigraph store.

``python -m bench ingest --n 2000`` (a few minutes on 2 cores):

1. generates ``n`` declaration texts (:mod:`bench.corpus`) into a work folder;
2. **one process**: a fresh on-disk store holding the ontology and reference graphs, then
   :func:`kg.ingest.ingest_files` (without links) over all files: read, extract, convert, SHACL-check, write: with
   groups of 25 and of :data:`kg.ingest.PER_TRANSACTION` declarations (each an all-or-nothing journaled write, what
   ``kg ingest`` does), once with bulk writes of 100 declarations (``bulk=True``, for filling a fresh store);
3. **both cores**: a fresh store again; two worker processes read, extract, convert and check the files
   (:class:`kg.ingest.Pipeline`), sending each declaration's N-Quads to the main process, which writes them as
   ``kg ingest`` does (groups of :data:`kg.ingest.PER_TRANSACTION`, each a journaled bulk load);
4. prints, and writes into ``docs/benchmarks.md`` (section "Ingestion"), declarations and triples per second (wall
   clock), CPU seconds per declaration and peak resident memory, and the CPU time per stage.

Set-up (generation, loading the lexicons and shapes, creating the store) is not timed.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import multiprocessing as mp
import os
import platform
import resource
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox

from bench.corpus import generate
from kg.errors import KGError
from bench.common import write_report_section

SECTION = "## Ingestion"


@dataclass
class Run:
    name: str
    declarations: int
    failed: int
    triples: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float

    @property
    def per_second(self) -> float:
        return self.declarations / self.seconds

    @property
    def triples_per_second(self) -> float:
        return self.triples / self.seconds


def _fresh_store(path: Path) -> object:
    from kg.ingest import SHAPES_GRAPH, load_context
    from kg.store.oxigraph import OxigraphStore

    shutil.rmtree(path, ignore_errors=True)
    store = OxigraphStore(path)
    store.replace_graphs({g: qs for g, qs in load_context().items() if g != SHAPES_GRAPH})
    return store


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def single(paths: list[Path], work: Path, *, bulk: bool, per_transaction: int = 1) -> Run:
    """Everything in this process, through :func:`kg.ingest.ingest_files` (what ``kg ingest`` does), with
    ``per_transaction`` declarations per transaction (or bulk writes)."""
    from kg.ingest import Pipeline, ingest_files

    pipeline = Pipeline()
    store = _fresh_store(work / "store-single")
    rss0 = _rss_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    report = ingest_files(store, paths, pipeline=pipeline, bulk=bulk, link=False,  # type: ignore[arg-type]
                          per_transaction=per_transaction)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    store.close()  # type: ignore[attr-defined]
    ok = [f for f in report.files if f.ok]
    from kg.ingest import PER_TRANSACTION

    name = "one process, bulk writes" if bulk else (
        "one process, a journaled write per file" if per_transaction == 1
        else f"one process, journaled writes of {per_transaction} declarations"
        + (" (`kg ingest`)" if per_transaction == PER_TRANSACTION else ""))
    return Run(name, len(ok), len(report.failed), sum(f.triples for f in ok), seconds, cpu, max(_rss_mb(), rss0))


def stages(paths: list[Path], work: Path) -> dict[str, float]:
    """CPU milliseconds per declaration for each stage, on a sample, timed piece by piece."""
    from kg.extract import extract_declaration, read_document
    from kg.ingest import Pipeline
    from kg.rdf import declaration_quads

    pipeline = Pipeline()
    sample = paths[: min(200, len(paths))]
    spent = {"read": 0.0, "extract": 0.0, "rdf": 0.0, "check": 0.0, "write (transaction)": 0.0}
    store = _fresh_store(work / "store-stages")
    gc.freeze()  # as kg.ingest.ingest_files does: the long-lived objects are not scanned again per file
    for path in sample:
        t = time.process_time()
        text, media_type = read_document(path)
        spent["read"] += time.process_time() - t
        t = time.process_time()
        decl = extract_declaration(text, media_type=media_type, source_name=path.name)
        spent["extract"] += time.process_time() - t
        t = time.process_time()
        quads = declaration_quads(decl)
        spent["rdf"] += time.process_time() - t
        t = time.process_time()
        try:
            pipeline.check(quads, name=path.name)
        except KGError:
            continue
        spent["check"] += time.process_time() - t
        t = time.process_time()
        store.replace_graphs({quads[0].graph_name.value: quads})  # type: ignore[attr-defined]
        spent["write (transaction)"] += time.process_time() - t
    store.close()  # type: ignore[attr-defined]
    gc.unfreeze()
    return {k: v / len(sample) * 1000 for k, v in spent.items()}


_PIPELINE = None


def _init_worker() -> None:
    global _PIPELINE
    import logging

    from kg.ingest import Pipeline

    logging.getLogger("kg").setLevel(logging.ERROR)
    _PIPELINE = Pipeline()
    gc.freeze()  # as kg.ingest.ingest_files does: the lexicons and shapes are not scanned again per file


def _prepare(path: Path) -> tuple[str | None, bytes | None, str | None, float, int, float]:
    """In a worker: (graph IRI, N-Quads of the declaration, error, CPU seconds, pid, peak RSS MB)."""
    assert _PIPELINE is not None
    cpu = time.process_time()
    try:
        prepared = _PIPELINE.prepare_file(path)
    except KGError as exc:
        return None, None, exc.detail, time.process_time() - cpu, os.getpid(), _rss_mb()
    nquads = ox.serialize(prepared.quads, format=ox.RdfFormat.N_QUADS)
    return prepared.graph, nquads, None, time.process_time() - cpu, os.getpid(), _rss_mb()


def _ready(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


def parallel(paths: list[Path], work: Path, *, processes: int, bulk: bool, batch: int = 100,
             per_transaction: int | None = None) -> Run:
    """``processes`` workers read, extract, convert and check; this process writes: groups of ``per_transaction``
    declarations (default :data:`kg.ingest.PER_TRANSACTION`) the way ``kg ingest`` does (each group one journaled
    bulk load, :meth:`kg.store.oxigraph.OxigraphStore.write_new_graphs`, all or nothing; a transaction if one of
    its graphs exists already), or non-atomic bulk batches of ``batch`` declarations."""
    from kg.ingest import PER_TRANSACTION

    per_transaction = per_transaction or PER_TRANSACTION
    ctx = mp.get_context("forkserver")
    with ctx.Pool(processes, initializer=_init_worker) as pool:
        pool.map(_ready, range(processes * 2))  # workers started and their lexicons loaded before timing
        store = _fresh_store(work / "store-parallel")
        cpu0, t0 = time.process_time(), time.perf_counter()
        done = failed = triples = 0
        cpu_workers = 0.0
        peaks: dict[int, float] = {}
        pending: list[ox.Quad] = []
        group: dict[str, list[ox.Quad]] = {}
        count = 0
        for graph, nquads, error, cpu, pid, rss in pool.imap(_prepare, paths, chunksize=4):
            cpu_workers += cpu
            peaks[pid] = max(peaks.get(pid, 0.0), rss)
            if error is not None or graph is None or nquads is None:
                failed += 1
                continue
            quads = list(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
            if bulk:
                pending.extend(quads)
                count += 1
                if count >= batch:
                    store.bulk_add(pending)  # type: ignore[attr-defined]
                    pending, count = [], 0
            else:
                group[graph] = quads
                if len(group) >= per_transaction:
                    _write_group(store, group)
                    group = {}
            done += 1
            triples += len(quads)
        if pending:
            store.bulk_add(pending)  # type: ignore[attr-defined]
        if group:
            _write_group(store, group)
        seconds, cpu_main = time.perf_counter() - t0, time.process_time() - cpu0
        store.close()  # type: ignore[attr-defined]
    peak = _rss_mb() + sum(peaks.values())
    name = f"{processes} workers + writer, " + (
        "bulk writes" if bulk else f"journaled writes of {per_transaction} declarations"
        + (" (`kg ingest`'s write path)" if per_transaction == PER_TRANSACTION else ""))
    return Run(name, done, failed, triples, seconds, cpu_main + cpu_workers, peak)


def _write_group(store: object, group: dict[str, list[ox.Quad]]) -> None:
    """One group of new declarations written as :func:`kg.ingest.ingest_files` writes it (without links)."""
    if not store.write_new_graphs(group):  # type: ignore[attr-defined]
        store.apply(group)  # type: ignore[attr-defined]


def link_cost(paths: list[Path], work: Path) -> tuple[int, float, int]:
    """(declarations, CPU seconds, triples) of rebuilding ``graph/links`` over a store of ``paths``."""
    from kg.ingest import Pipeline, ingest_files
    from kg.link import link_store

    store = _fresh_store(work / "store-links")
    ingest_files(store, paths, pipeline=Pipeline(), bulk=True, link=False)  # type: ignore[arg-type]
    cpu = time.process_time()
    triples = link_store(store)  # type: ignore[arg-type]
    seconds = time.process_time() - cpu
    store.close()  # type: ignore[attr-defined]
    return len(paths), seconds, triples


def markdown(
    runs: list[Run], stages: dict[str, float], n: int, seconds_generate: float,
    link: tuple[int, float, int] | None = None,
) -> str:
    lines = [
        SECTION,
        "",
        f"`python -m bench ingest --n {n}` on this machine ({os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pyoxigraph {ox.__version__}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"{n} generated declarations (3-14 clauses, three layouts; generated in {seconds_generate:.1f} s, not timed), "
        "ingested into a fresh on-disk store holding the ontology and reference graphs: read, extract, build the "
        "graph, check the SHACL shapes, write (groups of 25 or 100 checked declarations, each group one "
        "all-or-nothing journaled bulk load as `kg ingest` does with 100, or non-atomic bulk batches of 100 "
        "declarations for filling a fresh store; the parallel run's writer writes groups of 100 the same way). "
        "The machine is shared with other jobs (load "
        f"average {os.getloadavg()[0]:.1f} at the end of the run), so wall-clock figures vary from run to run; "
        "CPU time per declaration is the steadier measure, and 1000 / (CPU ms) is the rate one core sustains. "
        "The links graph (`kg.link`) is not computed in these runs (`link=False`; see the Linking section for "
        "ingest with links)"
        + (f"; a full relink of the first {link[0]} declarations made {link[2]:,} link triples in {link[1]:.1f} "
           "CPU s." if link else "."),
        "",
        "| run | declarations | refused | triples | wall s | declarations/s | triples/s | CPU ms/declaration "
        "| declarations per CPU-second | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        lines.append(
            f"| {r.name} | {r.declarations} | {r.failed} | {r.triples} | {r.seconds:.1f} | {r.per_second:.1f} | "
            f"{r.triples_per_second:,.0f} | {r.cpu_seconds / max(r.declarations, 1) * 1000:.1f} | "
            f"{r.declarations / max(r.cpu_seconds, 1e-9):.1f} | {r.peak_rss_mb:.0f} |"
        )
    total = sum(stages.values())
    lines += [
        "",
        "CPU milliseconds per declaration by stage (one process, first 200 files): "
        + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
        + f"; total {total:.1f} ms, that is {1000 / total:.0f} declarations per second of one core's CPU time.",
        "",
    ]
    return "\n".join(lines)



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="number of generated declarations (default 2000)")
    parser.add_argument("--seed", type=int, default=2010, help="seed of the generator")
    parser.add_argument("--processes", type=int, default=2, help="worker processes of the parallel run")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--link-sample", type=int, default=100,
                        help="also time rebuilding the links graph over this many declarations (0: skip)")
    args = parser.parse_args(argv)
    logging.getLogger("kg").setLevel(logging.ERROR)  # unknown verbs in generated text are expected

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    t = time.perf_counter()
    paths = generate(work / "corpus", args.n, seed=args.seed)
    seconds_generate = time.perf_counter() - t
    print(f"generated {len(paths)} declarations in {work / 'corpus'} ({seconds_generate:.1f} s)", flush=True)

    runs = []
    from kg.ingest import PER_TRANSACTION

    for bulk, per_transaction in ((False, 25), (False, PER_TRANSACTION), (True, 1)):
        runs.append(single(paths, work, bulk=bulk, per_transaction=per_transaction))
        print(f"{runs[-1].name}: {runs[-1].per_second:.1f} declarations/s", flush=True)
    for bulk in (False,):
        runs.append(parallel(paths, work, processes=args.processes, bulk=bulk))
        print(f"{runs[-1].name}: {runs[-1].per_second:.1f} declarations/s", flush=True)
    split = stages(paths, work)
    link = link_cost(paths[: args.link_sample], work) if args.link_sample else None

    text = markdown(runs, split, args.n, seconds_generate, link)
    print()
    print(text)
    (work / "results.json").write_text(
        json.dumps({"runs": [asdict(r) for r in runs], "stages_ms": split}, indent=2), encoding="utf-8"
    )
    if not args.no_write:
        write_report_section(SECTION, text)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0
