"""kg ingest: per-file atomic add/replace with SHACL refusal; kg query and kg export on the result; the fast shape
checker agrees with pySHACL."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kg.build import build_store
from kg.errors import BadInput
from kg.ingest import Pipeline, SHAPES_GRAPH, ingest_files, parse_metadata
from kg.namespaces import DEC, ID_BASE, LINKS_GRAPH, declaration_graph
from kg.paths import CORPUS_DIR
from kg.rdf import to_rdflib
from kg.shapecheck import ShapeChecker, pyshacl_check
from kg.store.oxigraph import OxigraphStore

TESTS_CORPUS = Path(__file__).parent / "corpus"
KG = [sys.executable, "-m", "kg.cli"]
SEED = "lac-2010-migration-communique"
DCT_DATE = rdflib.URIRef("http://purl.org/dc/terms/date")

NO_DATE = """JOINT STATEMENT ON LABOUR MIGRATION

We, the Ministers of Labour of Mexico and Guatemala:

Recognise the contribution of migrant workers to the development of countries of origin and destination.

Commit to protect the human rights of migrants and their families.
"""

NO_CLAUSES = """JOINT STATEMENT ON NOTHING IN PARTICULAR

Mexico City, 1 May 2010
"""


def kg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    return subprocess.run([*KG, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ingest") / "template"
    build_store(path, dumps=False)
    return path


@pytest.fixture()
def store_dir(template_store: Path, tmp_path: Path) -> Path:
    """A private copy of a freshly built store."""
    target = tmp_path / "store"
    shutil.copytree(template_store, target)
    return target


@pytest.fixture()
def bad_files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "bad"
    folder.mkdir()
    files = {
        "empty": folder / "empty.txt",
        "garbage": folder / "garbage.txt",
        "no-clauses": folder / "no-clauses.txt",
        "violates-shapes": folder / "no-date.txt",
        "missing": folder / "missing.txt",
    }
    files["empty"].write_bytes(b"")
    files["garbage"].write_bytes(bytes(range(256)) * 4)
    files["no-clauses"].write_text(NO_CLAUSES, encoding="utf-8")
    files["violates-shapes"].write_text(NO_DATE, encoding="utf-8")
    return files


def quads(store_dir: Path) -> set[ox.Quad]:
    with OxigraphStore(store_dir, read_only=True) as st:
        return set(st.raw)


def graph_of(store_dir: Path, key: str) -> Graph:
    with OxigraphStore(store_dir, read_only=True) as st:
        return to_rdflib(st.raw.quads_for_pattern(None, None, None, ox.NamedNode(declaration_graph(key))))


def test_ingesting_the_same_text_twice_gives_the_same_graph(store_dir: Path, pipeline: Pipeline) -> None:
    doc = TESTS_CORPUS / "bullet-joint-statement.txt"
    with OxigraphStore(store_dir) as st:
        first = ingest_files(st, [doc], pipeline=pipeline)
    assert first.ok, first.failed
    key = first.files[0].key
    assert key and not first.files[0].replaced
    graph_before, total_before = graph_of(store_dir, key), len(quads(store_dir))
    with OxigraphStore(store_dir) as st:
        second = ingest_files(st, [doc], pipeline=pipeline)
    assert second.ok and second.files[0].replaced and second.files[0].key == key
    assert isomorphic(graph_before, graph_of(store_dir, key))
    assert len(quads(store_dir)) == total_before


def test_seed_reingested_is_the_graph_the_build_made(store_dir: Path, pipeline: Pipeline) -> None:
    before = quads(store_dir)
    with OxigraphStore(store_dir) as st:
        report = ingest_files(st, [CORPUS_DIR / f"{SEED}.txt"], pipeline=pipeline, key=SEED)
    assert report.ok and report.files[0].replaced
    assert quads(store_dir) == before


@pytest.mark.parametrize("kind", ["empty", "garbage", "no-clauses", "violates-shapes", "missing"])
def test_bad_file_is_refused_with_name_and_reason_and_the_store_is_unchanged(
    store_dir: Path, pipeline: Pipeline, bad_files: dict[str, Path], kind: str
) -> None:
    bad = bad_files[kind]
    before = quads(store_dir)
    with OxigraphStore(store_dir) as st:
        report = ingest_files(st, [bad], pipeline=pipeline)
    assert not report.ok
    (failure,) = report.files
    assert failure.reason and failure.reason.startswith(f"{bad}: "), failure.reason
    assert quads(store_dir) == before


def test_shape_violation_carries_the_shapes_message(store_dir: Path, pipeline: Pipeline, bad_files: dict[str, Path]) -> None:
    with OxigraphStore(store_dir) as st:
        report = ingest_files(st, [bad_files["violates-shapes"]], pipeline=pipeline)
    assert "does not satisfy the shapes" in report.files[0].reason
    assert "needs exactly one dcterms:date" in report.files[0].reason


def test_metadata_completes_what_the_text_lacks(store_dir: Path, pipeline: Pipeline, bad_files: dict[str, Path]) -> None:
    with OxigraphStore(store_dir) as st:
        report = ingest_files(
            st, [bad_files["violates-shapes"]], pipeline=pipeline, **parse_metadata(date="2011-05-01", key="labour-2011")
        )
    assert report.ok, report.failed
    g = graph_of(store_dir, "labour-2011")
    decl = rdflib.URIRef(ID_BASE + "declaration/labour-2011")
    assert (decl, DCT_DATE, rdflib.Literal("2011-05-01", datatype=rdflib.XSD.date)) in g


def test_bad_metadata_is_refused() -> None:
    with pytest.raises(BadInput, match="YYYY-MM-DD"):
        parse_metadata(date="23/02/2010")
    with pytest.raises(BadInput, match="slug"):
        parse_metadata(key="Not A Slug")


def test_key_for_several_files_is_refused(store_dir: Path, pipeline: Pipeline) -> None:
    with OxigraphStore(store_dir) as st, pytest.raises(BadInput, match="single file"):
        ingest_files(st, [TESTS_CORPUS / "bullet-joint-statement.txt", CORPUS_DIR / f"{SEED}.txt"], key="x")


def test_cli_ingest_good_and_bad_files_then_query_and_export(store_dir: Path, bad_files: dict[str, Path], tmp_path: Path) -> None:
    good = sorted(p for p in TESTS_CORPUS.iterdir() if p.suffix in (".txt", ".html"))
    assert len(good) >= 3
    bad = [bad_files[k] for k in ("empty", "garbage", "violates-shapes")]
    before = quads(store_dir)
    out = kg("ingest", "--store", str(store_dir), *map(str, [bad[0], *good, *bad[1:]]))
    assert out.returncode == 1, out.stdout + out.stderr
    for b in bad:
        assert f"refused {b}:" in out.stderr
    assert out.stdout.count("added ") == len(good), out.stdout + out.stderr

    after = quads(store_dir)
    assert before < after
    added_graphs = {q.graph_name.value for q in after - before} - {LINKS_GRAPH}  # ingest also updates the links
    assert len(added_graphs) == len(good)
    assert all(g.startswith(declaration_graph("")) for g in added_graphs)

    out = kg("query", "--store", str(store_dir), "--format", "csv",
             "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?d a <https://w3id.org/declarations/ontology#Declaration> } "
             f"FILTER STRSTARTS(STR(?g), \"{declaration_graph('')}\") }}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == str(1 + len(good))  # the seed and the new ones

    nq = tmp_path / "all.nq.gz"
    out = kg("export", "--store", str(store_dir), "--format", "nq", "-o", str(nq))
    assert out.returncode == 0, out.stderr
    ds = Dataset()
    ds.parse(data=gzip.decompress(nq.read_bytes()), format="nquads")
    assert sum(len(ds.graph(g)) for g in added_graphs) == len({q for q in after - before if q.graph_name.value in added_graphs})

    ttl = tmp_path / "union.ttl"
    out = kg("export", "--store", str(store_dir), "--format", "ttl", "-o", str(ttl))
    assert out.returncode == 0, out.stderr
    union = Graph().parse(ttl, format="turtle")
    assert len(union) == len({q.triple for q in after})


def test_cli_query_reads_a_file_and_refuses_a_bad_query(store_dir: Path, tmp_path: Path) -> None:
    query = tmp_path / "q.rq"
    query.write_text("ASK { ?s a <https://w3id.org/declarations/ontology#Commitment> }", encoding="utf-8")
    out = kg("query", "--store", str(store_dir), f"@{query}")
    assert out.returncode == 0 and out.stdout.strip() == "true", out.stderr
    out = kg("query", "--store", str(store_dir), "SELECT WHERE")
    assert out.returncode == 1 and "does not parse" in out.stderr


# -- the fast checker against pySHACL ---------------------------------------------------------------------------

def _variants(seed: Graph) -> dict[str, Graph]:
    """The seed's graph and broken copies of it, each breaking a different kind of constraint."""
    clause = rdflib.URIRef(ID_BASE + f"clause/{SEED}/2")
    decl = rdflib.URIRef(ID_BASE + f"declaration/{SEED}")
    evidence = next(iter(seed.subjects(rdflib.URIRef(str(DEC.quote)), None)))
    out = {"seed": seed}

    g = Graph() + seed
    g.remove((decl, DCT_DATE, None))
    g.add((decl, DCT_DATE, rdflib.Literal("23 February 2010")))
    out["date as a plain string"] = g

    g = Graph() + seed
    g.set((clause, rdflib.URIRef(str(DEC.position)), rdflib.Literal(0)))
    g.add((clause, rdflib.URIRef(str(DEC.text)), rdflib.Literal("a second text")))
    out["position 0 and two texts"] = g

    g = Graph() + seed
    g.set((evidence, rdflib.URIRef(str(DEC.quote)), rdflib.Literal("not what the text says")))
    out["wrong quote"] = g

    g = Graph() + seed
    g.add((clause, rdflib.URIRef(str(DEC.speechAct)), rdflib.URIRef(ID_BASE + "topic/remittances")))
    g.add((clause, rdflib.URIRef(str(DEC.mentions)), rdflib.URIRef(ID_BASE + "forum/gfmd")))
    out["act that is a topic, mention of a forum"] = g
    return out


def _ox(graph: Graph) -> list[ox.Triple]:
    return list(ox.parse(graph.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES))


@pytest.mark.slow
def test_fast_checker_agrees_with_pyshacl(pipeline: Pipeline) -> None:
    from kg.extract import extract_file
    from kg.rdf import declaration_triples

    context = [q for g, qs in pipeline.context.items() if g != SHAPES_GRAPH for q in qs]
    shapes = to_rdflib(pipeline.context[SHAPES_GRAPH])
    checker = ShapeChecker(shapes, context)
    assert checker.compiled, checker.reason_not_compiled
    seed = to_rdflib(declaration_triples(extract_file(CORPUS_DIR / f"{SEED}.txt", key=SEED)))
    for name, graph in _variants(seed).items():
        data = _ox(graph)
        fast = {(v.focus, v.message) for v in checker.check(data) if v.severity == "Violation"}
        reference = {(v.focus, v.message) for v in pyshacl_check(shapes, data, context) if v.severity == "Violation"}
        assert {f for f, _ in fast} == {f for f, _ in reference}, name
        assert fast == reference, name
        assert bool(fast) == (name != "seed"), name


def test_cli_ingest_into_a_missing_store_is_refused(tmp_path: Path) -> None:
    out = kg("ingest", "--store", str(tmp_path / "missing"), str(TESTS_CORPUS / "bullet-joint-statement.txt"))
    assert out.returncode == 1
    assert "no store at" in out.stderr and "kg build" in out.stderr
    assert not (tmp_path / "missing").exists()


def test_a_failed_group_write_falls_back_to_one_transaction_per_declaration(
    store_dir: Path, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked declarations go several per write (journaled bulk load or transaction); when that write fails they
    are written one by one, and the one whose own write fails is reported and absent, wholly."""
    from kg.errors import StoreError

    good = sorted(p for p in TESTS_CORPUS.iterdir() if p.suffix in (".txt", ".html"))
    assert len(good) >= 3
    doomed = declaration_graph("")  # set below to the graph of the second file
    calls: list[list[str]] = []
    real = OxigraphStore.apply

    def flaky(self: OxigraphStore, replace: dict | None = None, **kwargs: object) -> None:  # type: ignore[type-arg]
        names = sorted(replace or {})
        calls.append(names)
        if len(names) > 1 or doomed in names:
            raise StoreError("simulated failure of the write")
        real(self, replace, **kwargs)  # type: ignore[arg-type]

    real_new = OxigraphStore.write_new_graphs

    def flaky_new(self: OxigraphStore, graphs: dict, **kwargs: object) -> bool:  # type: ignore[type-arg]
        names = sorted(graphs)
        calls.append(names)
        if len(names) > 1 or doomed in names:
            raise StoreError("simulated failure of the write")
        return real_new(self, graphs, **kwargs)  # type: ignore[arg-type]

    second = pipeline.prepare_file(good[1])
    doomed = second.graph
    before = quads(store_dir)
    monkeypatch.setattr(OxigraphStore, "apply", flaky)
    monkeypatch.setattr(OxigraphStore, "write_new_graphs", flaky_new)
    with OxigraphStore(store_dir) as st:
        report = ingest_files(st, good, pipeline=pipeline)
    monkeypatch.undo()
    assert len(calls[0]) == len(good)  # first the whole group in one transaction
    assert [f.ok for f in report.files] == [f != good[1] for f in good]
    failed = report.files[1]
    assert failed.reason and failed.reason.startswith(f"{good[1]}: not written") and failed.key is None
    after = quads(store_dir)
    graphs = {q.graph_name.value for q in after - before}
    assert doomed not in graphs and {f.graph for f in report.files if f.ok} <= graphs
    assert not any(second.key in q.subject.value or second.key in str(q.object) for q in after)


def test_cli_ingest_refreshes_the_dumps_unless_told_not_to(store_dir: Path, tmp_path: Path) -> None:
    from kg.build import DUMP_NQUADS, DUMP_TURTLE, dumps_dir

    folder = dumps_dir(store_dir)
    doc = TESTS_CORPUS / "bullet-joint-statement.txt"
    out = kg("ingest", "--store", str(store_dir), "--no-dumps", str(doc))
    assert out.returncode == 0, out.stderr
    assert not folder.exists() and "dump:" not in out.stdout
    out = kg("ingest", "--store", str(store_dir), str(doc))
    assert out.returncode == 0, out.stderr
    assert f"dump: {folder / DUMP_NQUADS}" in out.stdout
    ds = Dataset()
    ds.parse(data=gzip.decompress((folder / DUMP_NQUADS).read_bytes()), format="nquads")
    store_quads = quads(store_dir)
    assert sum(len(g) for g in ds.graphs() if g.identifier != ds.default_graph.identifier) == len(store_quads)
    union = Graph().parse(folder / DUMP_TURTLE, format="turtle")
    assert len(union) == len({q.triple for q in store_quads})
    assert sorted(p.name for p in folder.iterdir()) == sorted([DUMP_NQUADS, DUMP_TURTLE])  # no temporary left
    out = kg("ingest", "--help")
    assert "--no-dumps" in out.stdout
