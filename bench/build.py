"""Build benchmark: bulk loading generated triples into an on-disk Oxigraph store, on one core and on two.

``python -m bench build --triples 10000000 --workdir data/bench/10m`` generates the data (:func:`bench.common.generate`)
unless the folder already holds it, bulk loads it into ``oxigraph/`` in a child process (so its peak memory is its
own) and records what it measured in ``build.json`` beside the store; a later run over the same folder reuses the
store and the recorded figures (``--force`` builds again). ``--cores 1`` pins the loader to one core (``taskset``).

``python -m bench build load NQUADS STORE`` is the child: it prints one JSON line (quads, seconds, peak RSS).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, generate, tree_bytes

log = logging.getLogger(__name__)


def _load_child(nquads: Path, store_dir: Path) -> dict[str, Any]:
    """Bulk load ``nquads`` into a new store at ``store_dir`` (this process); returns the figures."""
    import pyoxigraph

    shutil.rmtree(store_dir, ignore_errors=True)
    started = time.perf_counter()
    store = pyoxigraph.Store(str(store_dir))
    store.bulk_load(path=str(nquads), format=pyoxigraph.RdfFormat.N_QUADS)
    loaded = time.perf_counter() - started
    store.optimize()
    seconds = time.perf_counter() - started
    quads = len(store)
    graphs = sum(1 for _ in store.named_graphs())
    del store
    return {
        "quads": quads, "graphs": graphs, "load_seconds": loaded, "seconds": seconds,
        "cpu_seconds": time.process_time(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # fmt: skip


def bulk_load(nquads: Path, store_dir: Path, *, cores: int | None = None) -> dict[str, Any]:
    """Bulk load ``nquads`` into a fresh store at ``store_dir`` in a child process, pinned to ``cores`` cores
    (None: all); returns quads, graphs, seconds (load + optimize), CPU seconds, peak RSS (MB), store bytes.

    Raises RuntimeError when the child fails.
    """
    args = [sys.executable, "-m", "bench", "build", "load", str(nquads), str(store_dir)]
    if cores is not None and shutil.which("taskset"):
        args = ["taskset", "-c", ",".join(str(c) for c in range(cores)), *args]
    done = subprocess.run(args, cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bulk load failed ({done.returncode}): {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["cores"] = cores or os.cpu_count()
    figures["store_bytes"] = tree_bytes(store_dir)
    figures["triples_per_second"] = figures["quads"] / figures["seconds"]
    return figures


def prepare(work: Path, triples: int, *, force: bool = False, cores: int | None = None) -> dict[str, Any]:
    """Generated data of about ``triples`` triples and its Oxigraph store in ``work`` (reused when ``build.json``
    says it was built for the same size, unless ``force``); returns the recorded figures (see :func:`bulk_load`),
    with the data set's description under ``"data"``."""
    work.mkdir(parents=True, exist_ok=True)
    stamp = work / "build.json"
    if stamp.exists() and not force:
        recorded: dict[str, Any] = json.loads(stamp.read_text(encoding="utf-8"))
        if recorded.get("requested") == triples and (work / "oxigraph").exists():
            print(f"reusing {work} (built {recorded.get('built_at')})", flush=True)
            return recorded
    started = time.perf_counter()
    data = generate(work / "data", triples)
    generated = time.perf_counter() - started
    print(f"generated {data.triples:,} triples in {generated:.1f} s", flush=True)
    figures = bulk_load(data.nquads, work / "oxigraph", cores=cores)
    print(f"bulk loaded {figures['quads']:,} quads in {figures['seconds']:.1f} s "
          f"({figures['triples_per_second']:,.0f}/s, peak {figures['peak_rss_mb']:.0f} MB)", flush=True)  # fmt: skip
    recorded = {
        "requested": triples, "built_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "generate_seconds": generated, "load": figures,
        "data": {"triples": data.triples, "declarations": data.declarations, "clauses": data.clauses,
                 "nquads": str(data.nquads), "ntriples": str(data.ntriples), "lookup_iris": data.lookup_iris,
                 "nquads_bytes": data.nquads.stat().st_size},
    }  # fmt: skip
    stamp.write_text(json.dumps(recorded, indent=1), encoding="utf-8")
    return recorded


def main(argv: list[str] | None = None) -> int:
    """``python -m bench build [--triples N] [--workdir DIR] [--cores K] [--force]``; returns the exit status."""
    argv = list(argv or [])
    if argv[:1] == ["load"]:
        print(json.dumps(_load_child(Path(argv[1]), Path(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench build", description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=PROJECT_DIR / "data" / "bench" / "build")
    parser.add_argument("--cores", type=int, default=None, help="pin the loader to this many cores")
    parser.add_argument("--force", action="store_true", help="build again even when the folder holds a build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    recorded = prepare(args.workdir.resolve(), args.triples, force=args.force, cores=args.cores)
    print(json.dumps(recorded["load"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
