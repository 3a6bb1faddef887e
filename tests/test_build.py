"""kg build: ontology, reference data and the bundled declarations into a store on disk, swapped in atomically."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph

from kg.build import DUMP_NQUADS, DUMP_TURTLE, build_store, dumps_dir, read_corpus
from kg.errors import BadInput
from kg.namespaces import ONTOLOGY_GRAPH, REFERENCE_GRAPH, declaration_graph
from kg.paths import CORPUS_DIR
from kg.store.oxigraph import OxigraphStore

KG = [sys.executable, "-m", "kg.cli"]
SEED = "lac-2010-migration-communique"
PREFIX = "PREFIX dec: <https://w3id.org/declarations/ontology#>\n"


def kg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    return subprocess.run([*KG, *args], capture_output=True, text=True, timeout=timeout, env=env)


def select(store: Path, query: str) -> list[dict[str, str]]:
    with OxigraphStore(store, read_only=True) as st:
        rows = st.query(PREFIX + query)
        names = [v.value for v in rows.variables]  # type: ignore[union-attr]
        return [{n: row[n].value for n in names if row[n] is not None} for row in rows]  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-build") / "store"
    out = kg("build", "--store", str(path))
    assert out.returncode == 0, out.stderr
    assert "built" in out.stdout and SEED in out.stdout
    return path


def test_kg_build_loads_the_seed_with_13_clauses(cli_store: Path) -> None:
    rows = select(cli_store, f"SELECT (COUNT(?c) AS ?n) WHERE {{ ?c dec:partOf <https://w3id.org/declarations/id/declaration/{SEED}> }}")
    assert rows == [{"n": "13"}]
    graphs = OxigraphStore(cli_store, read_only=True).graph_names()
    assert {ONTOLOGY_GRAPH, REFERENCE_GRAPH, declaration_graph(SEED)} <= set(graphs)


def test_kinds_are_materialised_for_plain_sparql(cli_store: Path) -> None:
    rows = select(cli_store, f"SELECT ?c WHERE {{ ?c a dec:Commitment ; dec:partOf <https://w3id.org/declarations/id/declaration/{SEED}> }}")
    assert rows, "no clause of the seed is a dec:Commitment"
    appeals = select(cli_store, "SELECT ?c WHERE { ?c a dec:Appeal }")
    assert appeals


def test_kg_query_via_the_cli_in_json(cli_store: Path) -> None:
    out = kg("query", "--store", str(cli_store), "--format", "json", PREFIX + "SELECT ?t WHERE { ?d a dec:Declaration ; <http://purl.org/dc/terms/title> ?t } ")
    assert out.returncode == 0, out.stderr
    titles = {b["t"]["value"] for b in json.loads(out.stdout)["results"]["bindings"]}
    assert "Special Communiqué on Cooperation on Migration Issues" in titles


def test_dumps_are_written_beside_the_store_and_reparse(cli_store: Path) -> None:
    folder = dumps_dir(cli_store)
    ds = Dataset()
    ds.parse(data=gzip.decompress((folder / DUMP_NQUADS).read_bytes()), format="nquads")
    assert len(ds.graph(declaration_graph(SEED))) > 500
    union = Graph().parse(folder / DUMP_TURTLE, format="turtle")
    assert len(union) > 5000


def test_env_var_names_the_store(tmp_path: Path) -> None:
    env = {**os.environ, "KG_STORE": str(tmp_path / "nowhere")}
    out = subprocess.run([*KG, "query", "ASK { ?s ?p ?o }"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 1
    assert "no store at" in out.stderr and "nowhere" in out.stderr


def test_failed_build_leaves_the_previous_store_intact(tmp_path: Path) -> None:
    target = tmp_path / "store"
    build_store(target, dumps=False)
    with OxigraphStore(target, read_only=True) as st:
        before = set(st.raw)
    assert before

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS_DIR / f"{SEED}.txt", corpus)
    (corpus / "zz-not-a-declaration.txt").write_text("Nothing here but one line of prose.\n", encoding="utf-8")
    out = kg("build", "--store", str(target), "--corpus", str(corpus))
    assert out.returncode == 1
    assert "zz-not-a-declaration.txt" in out.stderr

    with OxigraphStore(target, read_only=True) as st:
        assert set(st.raw) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "store"], "staging folders were left behind"


def test_rebuild_swaps_in_the_new_store_and_keeps_one_previous(tmp_path: Path) -> None:
    target = tmp_path / "store"
    build_store(target, dumps=False)
    (target / "marker").write_text("old build")
    report = build_store(target, dumps=False)
    assert not (target / "marker").exists()
    assert (tmp_path / "store.previous" / "marker").exists()
    assert report.declarations == [SEED]


def test_corpus_sidecar_gives_keys_and_checks_its_entries(tmp_path: Path) -> None:
    entries = read_corpus(CORPUS_DIR)
    assert entries[0].path.name == f"{SEED}.txt" and entries[0].metadata == {"key": SEED}
    (tmp_path / "corpus.toml").write_text('[[declaration]]\nfile = "missing.txt"\n', encoding="utf-8")
    with pytest.raises(BadInput, match="missing.txt"):
        read_corpus(tmp_path)


def test_built_store_fixture_is_readable(built_store: Path) -> None:
    with OxigraphStore(built_store, read_only=True) as st:
        assert bool(st.query(f"ASK {{ GRAPH <{declaration_graph(SEED)}> {{ ?s ?p ?o }} }}"))
        assert isinstance(st.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1"), ox.QuerySolutions)
