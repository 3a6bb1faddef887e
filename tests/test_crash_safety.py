"""Crash safety: ``kg ingest`` and ``kg build`` killed with SIGKILL at random (seeded) moments and at the switch point.

Ingest: a subprocess loads :data:`N_DECLARATIONS` generated declarations (``bench.corpus``) into a copy of the built
store and is killed with SIGKILL 0.1 s after its first commit reached the write-ahead log (a mid-run state is
certain), at a seeded random moment after that commit, and at a seeded random moment of the whole run. After each kill the store opens,
every declaration graph is either absent or isomorphic to the one the uninterrupted run wrote, the context graphs are
untouched, the links graph names no clause or declaration that is absent; a second ``kg ingest`` then completes the
set (every declaration graph equal to the uninterrupted run's, the links graph consistent and covering them).

Build: a good store is never replaced by a failed or killed build: killed at random moments, or (fault injection in a
subprocess) just before and just after the atomic switch, or between the two renames of the fallback switch, ``DIR``
is afterwards a whole store, the old one or the complete new one, and the next build succeeds and cleans up.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

import kg.ingest
from kg.namespaces import ID_BASE, LINKS_GRAPH, ONTOLOGY_GRAPH, REFERENCE_GRAPH

ROOT = Path(__file__).resolve().parent.parent
KG = [sys.executable, "-m", "kg.cli"]

#: Enough declarations for at least two transactions of ``kg ingest`` (it commits up to PER_TRANSACTION at a time).
N_DECLARATIONS = max(40, getattr(kg.ingest, "PER_TRANSACTION", 1) + 15)
INGEST_ROUNDS = 3
BUILD_ROUNDS = 2
SEED = 9
DECLARATION_GRAPH_PREFIX = "https://w3id.org/declarations/graph/declaration/"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _graphs(path: Path) -> dict[str, list[ox.Quad]]:
    """Every named graph of the store at ``path`` (opened read-write, as a restarted process would)."""
    store = ox.Store(str(path))
    try:
        out: dict[str, list[ox.Quad]] = {}
        for quad in store:
            out.setdefault(quad.graph_name.value, []).append(quad)  # type: ignore[union-attr]
        return out
    finally:
        del store


def _rdflib(quads: list[ox.Quad]) -> Graph:
    data = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=data, format="nt")


def _same_graph(a: list[ox.Quad], b: list[ox.Quad]) -> bool:
    """Whether two graphs are equal: as sets of triples when neither has a blank node, else by isomorphism."""
    ta, tb = {q.triple for q in a}, {q.triple for q in b}
    if not any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in ta | tb):
        return ta == tb
    return isomorphic(_rdflib(a), _rdflib(b))


def _counts(graphs: dict[str, list[ox.Quad]]) -> dict[str, int]:
    return {g: len(q) for g, q in graphs.items()}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from bench.corpus import generate

    return generate(tmp_path_factory.mktemp("crash-docs"), N_DECLARATIONS, seed=SEED)


@pytest.fixture(scope="module")
def reference(built_store: Path, documents: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An uninterrupted ingest of the documents into a copy of the built store: its graphs and its duration."""
    target = tmp_path_factory.mktemp("crash-ref") / "store"
    shutil.copytree(built_store, target)
    before = _graphs(target)
    started = time.monotonic()
    out = subprocess.run([*KG, "ingest", "--store", str(target), "--no-dumps", *map(str, documents)], capture_output=True,
                         text=True, timeout=300, env=_env())
    seconds = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    graphs = _graphs(target)
    declarations = {g: q for g, q in graphs.items() if g.startswith(DECLARATION_GRAPH_PREFIX)}
    return {"graphs": graphs, "seconds": seconds, "before": before, "declarations": declarations}


def _present_resources(graphs: dict[str, list[ox.Quad]]) -> set[str]:
    """Clause and declaration IRIs described by some graph other than the links graph."""
    return {
        q.subject.value
        for g, quads in graphs.items() if g != LINKS_GRAPH
        for q in quads if isinstance(q.subject, ox.NamedNode)
    }


def _check_consistent(graphs: dict[str, list[ox.Quad]], ref: dict) -> int:
    """Assert the state after a kill; returns how many of the new declarations are present."""
    for context in (ONTOLOGY_GRAPH, REFERENCE_GRAPH):
        assert len(graphs[context]) == len(ref["before"][context]), f"{context} changed"
    new = set(ref["declarations"]) - set(ref["before"])
    present = 0
    for graph, quads in graphs.items():
        if not graph.startswith(DECLARATION_GRAPH_PREFIX):
            continue
        expected = ref["declarations"][graph]
        assert _same_graph(quads, expected), (
            f"{graph}: partly written ({len(quads)} of {len(expected)} triples)"
        )
        present += graph in new
    resources = _present_resources(graphs)
    dangling = {
        term.value
        for q in graphs.get(LINKS_GRAPH, [])
        for term in (q.subject, q.object)
        if isinstance(term, ox.NamedNode)
        and term.value.startswith((ID_BASE + "clause/", ID_BASE + "declaration/"))
        and term.value not in resources
    }
    assert not dangling, f"links to absent resources: {sorted(dangling)[:5]}"
    return present


def _wal_bytes(store: Path) -> int:
    """Bytes in the store's RocksDB write-ahead logs: they grow when a transaction is committed."""
    return sum(p.stat().st_size for p in store.glob("*.log") if p.exists())


def _kill_ingest(target: Path, documents: list[Path], *, after: float, after_first_commit: bool,
                 reference_seconds: float) -> None:
    """Run ``kg ingest`` and SIGKILL it ``after`` seconds from its start, or from the moment its first transaction
    reached the write-ahead log (``after_first_commit``)."""
    wal = _wal_bytes(target)
    process = subprocess.Popen([*KG, "ingest", "--store", str(target), "--no-dumps", *map(str, documents)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    try:
        if after_first_commit:
            deadline = time.monotonic() + 2 * reference_seconds
            while _wal_bytes(target) < wal + 100_000 and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        process.wait(timeout=after)
    except subprocess.TimeoutExpired:
        pass
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_ingest_killed_at_random_moments_leaves_whole_declarations(
    built_store: Path, documents: list[Path], reference: dict, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    total = len(set(reference["declarations"]) - set(reference["before"]))
    assert total == N_DECLARATIONS
    seen: list[int] = []
    for round_ in range(INGEST_ROUNDS):
        target = tmp_path / f"store-{round_}"
        shutil.copytree(built_store, target)
        # Round 0: killed 0.1 s after its first commit; round 1: at a random moment after it; others: at a random
        # moment of the whole run.
        if round_ == 0:
            after, after_commit = 0.1, True
        elif round_ == 1:
            after, after_commit = rng.uniform(0.0, 0.5) * reference["seconds"], True
        else:
            after, after_commit = rng.uniform(0.2, 1.0) * reference["seconds"], False
        _kill_ingest(target, documents, after=after, after_first_commit=after_commit,
                     reference_seconds=reference["seconds"])
        seen.append(_check_consistent(_graphs(target), reference))
        if round_ == 0:
            assert 0 < seen[0] < total, f"killed after the first commit, yet {seen[0]} of {total} are present"
            # A second ingest completes the set.
            out = subprocess.run([*KG, "ingest", "--store", str(target), "--no-dumps", *map(str, documents)],
                                 capture_output=True, text=True, timeout=300, env=_env())
            assert out.returncode == 0, out.stderr
            after_graphs = _graphs(target)
            assert _check_consistent(after_graphs, reference) == total
            # Link scores depend on the corpus at the time each declaration was linked, so the links graph is
            # checked for consistency (above) and for covering the new declarations, not for equality.
            linked = {q.subject.value for q in after_graphs[LINKS_GRAPH]} | {
                q.object.value for q in after_graphs[LINKS_GRAPH] if isinstance(q.object, ox.NamedNode)
            }
            new_clauses = {r for g in set(reference["declarations"]) - set(reference["before"])
                           for r in _present_resources({g: after_graphs[g]}) if "/clause/" in r}
            assert len(new_clauses & linked) >= 0.5 * len(new_clauses)
        shutil.rmtree(target)
    print(f"ingest killed {INGEST_ROUNDS} times (uninterrupted run {reference['seconds']:.1f} s): "
          f"declarations present after each kill {seen} of {total}")


# -- kg build ---------------------------------------------------------------------------------------------------

#: A build in a subprocess that kills itself with SIGKILL at a given point of the switch (fault injection).
FAULT_SCRIPT = """
import os, signal, sys
from pathlib import Path
import kg.build as build

target, point = sys.argv[1], sys.argv[2]
real_exchange, real_rename = build._exchange, os.rename

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def exchange(a, b):
    if point == "before-exchange":
        die()
    if point == "between-renames":
        return False  # force the two-rename fallback
    done = real_exchange(a, b)
    if point == "after-exchange":
        die()
    return done

def rename(a, b):
    real_rename(a, b)
    if point == "between-renames" and Path(b).name.endswith(".previous") and Path(a).name == Path(target).name:
        die()

build._exchange = exchange
build.os.rename = rename
build.build_store(target, dumps=False)
"""


def _store_state(target: Path) -> tuple[bool, dict[str, int]]:
    """(the old store's marker is there, triples per graph) of the store at ``target``; it must open."""
    assert target.is_dir(), f"{target} is missing after the build was killed"
    return (target / "marker").exists(), _counts(_graphs(target))


@pytest.fixture()
def good_store(built_store: Path, tmp_path: Path) -> tuple[Path, dict[str, int]]:
    target = tmp_path / "store"
    shutil.copytree(built_store, target)
    (target / "marker").write_text("the old, good store")
    return target, _counts(_graphs(target))


@pytest.mark.parametrize(
    ("point", "expect_old"), [("before-exchange", True), ("after-exchange", False), ("between-renames", None)]
)
def test_build_killed_at_the_switch_leaves_a_whole_store(
    good_store: tuple[Path, dict[str, int]], point: str, expect_old: bool | None
) -> None:
    target, before = good_store
    out = subprocess.run([sys.executable, "-c", FAULT_SCRIPT, str(target), point], capture_output=True, text=True,
                         timeout=300, env=_env())
    assert out.returncode == -signal.SIGKILL, out.stderr
    if point == "between-renames":
        # The fallback's window: no DIR for a moment; the next build puts the old store back first.
        assert not target.exists() and target.with_name("store.previous").is_dir()
        from kg.build import recover_swap

        assert recover_swap(target)
    old, counts = _store_state(target)
    assert counts == before, "the store at DIR is not a whole store"
    if expect_old is not None:
        assert old is expect_old
    # The next build completes and leaves no staging folder behind.
    rebuilt = subprocess.run([*KG, "build", "--store", str(target), "--no-dumps"], capture_output=True, text=True,
                             timeout=300, env=_env())
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _store_state(target) == (False, before)
    assert sorted(p.name for p in target.parent.iterdir()) == ["store", "store.previous"]


def test_build_killed_at_random_moments_never_replaces_a_good_store(
    good_store: tuple[Path, dict[str, int]]
) -> None:
    target, before = good_store
    started = time.monotonic()
    out = subprocess.run([*KG, "build", "--store", str(target), "--no-dumps"], capture_output=True, text=True,
                         timeout=300, env=_env())
    seconds = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    rng = random.Random(SEED)
    outcomes = []
    for _ in range(BUILD_ROUNDS):
        (target / "marker").write_text("the old, good store")
        process = subprocess.Popen([*KG, "build", "--store", str(target), "--no-dumps"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        try:
            process.wait(timeout=rng.uniform(0.3, 1.0) * seconds)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        old, counts = _store_state(target)
        assert counts == before
        outcomes.append("old" if old else "new")
    print(f"build killed {BUILD_ROUNDS} times (uninterrupted {seconds:.1f} s): store afterwards {outcomes}")
