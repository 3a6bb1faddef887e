"""kg.store: the embedded Oxigraph store on disk: atomic graph replacement, read-only handles, export, errors."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kg.errors import BadQuery, StoreError
from kg.settings import Settings
from kg.store import open_store
from kg.store.oxigraph import OxigraphStore

EX = "http://example.org/"
G1, G2, G3 = EX + "g1", EX + "g2", EX + "g3"


def triples(prefix: str, n: int) -> list[ox.Triple]:
    return [
        ox.Triple(ox.NamedNode(f"{EX}{prefix}/{i}"), ox.NamedNode(EX + "p"), ox.Literal(f"{prefix} {i} \"quoted\"\n"))
        for i in range(n)
    ]


def snapshot(store: OxigraphStore) -> set[ox.Quad]:
    return set(store.raw)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[OxigraphStore]:
    st = OxigraphStore(tmp_path / "store")
    st.replace_graphs({G1: triples("a", 50), G2: triples("b", 50)})
    yield st
    st.close()


def test_replace_graphs_replaces_whole_graphs_and_keeps_the_others(store: OxigraphStore) -> None:
    store.replace_graphs({G1: triples("c", 3)})
    assert store.graph_names() == [G1, G2]
    in_g1 = {q.triple for q in store.raw.quads_for_pattern(None, None, None, ox.NamedNode(G1))}
    assert in_g1 == set(triples("c", 3))
    assert len(list(store.raw.quads_for_pattern(None, None, None, ox.NamedNode(G2)))) == 50


def test_replace_and_remove_in_one_call(store: OxigraphStore) -> None:
    store.replace_graphs({G3: triples("d", 2)}, remove=[G1])
    assert store.graph_names() == [G2, G3]


def test_quads_are_moved_into_the_named_graph(store: OxigraphStore) -> None:
    quad = ox.Quad(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.NamedNode(EX + "o"), ox.NamedNode(EX + "other"))
    store.replace_graphs({G3: [quad]})
    assert set(store.raw.quads_for_pattern(None, None, None, ox.NamedNode(G3))) == {
        ox.Quad(quad.subject, quad.predicate, quad.object, ox.NamedNode(G3))
    }
    assert EX + "other" not in store.graph_names()


def test_failure_while_reading_the_statements_writes_nothing(store: OxigraphStore) -> None:
    before = snapshot(store)

    def broken() -> Iterator[ox.Triple]:
        yield from triples("x", 10)
        raise RuntimeError("the producer failed half-way")

    with pytest.raises(RuntimeError):
        store.replace_graphs({G3: triples("y", 5), G1: broken()})
    assert snapshot(store) == before


def test_a_statement_of_the_wrong_type_writes_nothing(store: OxigraphStore) -> None:
    before = snapshot(store)
    with pytest.raises(TypeError):
        store.replace_graphs({G3: [*triples("y", 5), ("not", "a", "triple")]})  # type: ignore[list-item]
    assert snapshot(store) == before


def test_failure_inside_the_write_transaction_rolls_everything_back(
    store: OxigraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drop of G1, the insert of new G1 and G3 and a failing last step run in one transaction: none stays."""
    before = snapshot(store)
    real = OxigraphStore._replace_update

    def failing_at_the_end(drop: list[str], quads: dict[str, list[ox.Quad]]) -> str:
        return real(drop, quads) + " ;\nDROP GRAPH <http://example.org/does-not-exist>"

    monkeypatch.setattr(OxigraphStore, "_replace_update", staticmethod(failing_at_the_end))
    with pytest.raises(StoreError, match="store unchanged"):
        store.replace_graphs({G1: triples("new", 20), G3: triples("z", 5)})
    assert snapshot(store) == before


def test_failure_of_a_first_write_leaves_no_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write of graphs that do not exist yet goes through one ``extend`` transaction; a failure adds nothing."""
    st = OxigraphStore(tmp_path / "fresh")
    raw = st.raw

    class FailingStore:
        def __getattr__(self, name: str) -> object:
            return getattr(raw, name)

        def extend(self, quads: list[ox.Quad]) -> None:
            raise OSError("disk full")

    monkeypatch.setattr(st, "_store", FailingStore())
    with pytest.raises(StoreError, match="disk full"):
        st.replace_graphs({G1: triples("a", 5)})
    monkeypatch.undo()
    assert len(st) == 0
    st.close()


def test_read_only_handle_sees_the_data_and_refuses_writes(store: OxigraphStore) -> None:
    path = store.path
    store.close()
    with OxigraphStore(path, read_only=True) as ro:
        assert ro.read_only
        assert ro.graph_names() == [G1, G2]
        assert len(list(ro.query("SELECT * WHERE { ?s ?p ?o }"))) == 100
        with pytest.raises(StoreError, match="read-only"):
            ro.replace_graphs({G3: triples("z", 1)})


def test_other_processes_open_read_only_while_the_writer_is_open(store: OxigraphStore) -> None:
    store.raw.flush()
    code = (
        "import sys; from kg.store.oxigraph import OxigraphStore\n"
        "st = OxigraphStore(sys.argv[1], read_only=True)\n"
        "print(len(list(st.query('SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "100"


def test_a_second_writer_is_refused_with_a_clear_error(store: OxigraphStore) -> None:
    code = "import sys; from kg.store.oxigraph import OxigraphStore\nOxigraphStore(sys.argv[1])\n"
    out = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "cannot open the store" in out.stderr


def test_missing_store_read_only_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at"):
        OxigraphStore(tmp_path / "nothing", read_only=True)


def test_bad_query_is_bad_query(store: OxigraphStore) -> None:
    with pytest.raises(BadQuery):
        store.query("SELEKT * WHERE {}")


def test_default_graph_is_the_union_unless_asked(store: OxigraphStore) -> None:
    assert len(list(store.query("SELECT * WHERE { ?s ?p ?o }"))) == 100
    assert len(list(store.query("SELECT * WHERE { ?s ?p ?o }", use_default_graph_as_union=False))) == 0
    assert len(list(store.query("SELECT * WHERE { ?s ?p ?o }", default_graph=[ox.NamedNode(G1)]))) == 50


@pytest.mark.parametrize("fmt", ["nq", "trig"])
def test_dataset_exports_reparse_with_graph_names(store: OxigraphStore, fmt: str) -> None:
    buffer = io.BytesIO()
    store.export(buffer, fmt)  # type: ignore[arg-type]
    ds = Dataset()
    ds.parse(data=buffer.getvalue(), format="nquads" if fmt == "nq" else "trig")
    g1 = ds.graph(G1)
    expected = Graph().parse(data=ox.serialize(triples("a", 50), format=ox.RdfFormat.N_TRIPLES), format="nt")
    assert isomorphic(g1, expected)
    assert len(ds.graph(G2)) == 50


@pytest.mark.parametrize("fmt,rdflib_format", [("ttl", "turtle"), ("nt", "nt")])
def test_union_exports_reparse(store: OxigraphStore, tmp_path: Path, fmt: str, rdflib_format: str) -> None:
    target = tmp_path / f"dump.{fmt}.gz"
    store.export(target, fmt)  # type: ignore[arg-type]
    g = Graph().parse(data=gzip.decompress(target.read_bytes()), format=rdflib_format)
    expected = Graph().parse(
        data=ox.serialize(triples("a", 50) + triples("b", 50), format=ox.RdfFormat.N_TRIPLES), format="nt"
    )
    assert isomorphic(g, expected)


def test_unknown_export_format(store: OxigraphStore) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        store.export(io.BytesIO(), "rdfxml")  # type: ignore[arg-type]


def test_open_store_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = open_store(Settings(store=str(tmp_path / "s")))
    assert isinstance(local, OxigraphStore)
    local.close()

    calls: list[tuple[str, bool]] = []

    class FakeRemote:
        def __init__(self, settings: Settings, read_only: bool = False) -> None:
            calls.append((settings.store, read_only))

    fake = types.ModuleType("kg.store.remote")
    fake.RemoteStore = FakeRemote  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kg.store.remote", fake)
    remote = open_store(Settings(store="https://sparql.example.org/sparql"), read_only=True)
    assert isinstance(remote, FakeRemote)
    assert calls == [("https://sparql.example.org/sparql", True)]


# -- apply: replace graphs and edit part of another, one transaction ---------------------------------------------

N = ox.NamedNode
P, Q = N(EX + "p"), N(EX + "q")


def _edit_fixture(store: OxigraphStore) -> None:
    store.replace_graphs({G3: [
        ox.Triple(N(EX + "a"), P, N(EX + "b")), ox.Triple(N(EX + "c"), P, N(EX + "a")),
        ox.Triple(N(EX + "c"), Q, N(EX + "d")), ox.Triple(N(EX + "e"), Q, ox.Literal("kept")),
    ]})


def in_graph(store: OxigraphStore, graph: str) -> set[ox.Triple]:
    return {q.triple for q in store.raw.quads_for_pattern(None, None, None, N(graph))}


def test_apply_edits_part_of_a_graph_with_a_replacement_in_one_call(store: OxigraphStore) -> None:
    from kg.store.base import GraphEdit

    _edit_fixture(store)
    g2 = in_graph(store, G2)
    store.apply(
        {G1: triples("n", 2)},
        edits={G3: GraphEdit(
            remove_subjects=[N(EX + "a")], remove_objects=[N(EX + "a")],
            remove=[ox.Triple(N(EX + "c"), Q, N(EX + "d"))],
            add=[ox.Triple(N(EX + "a"), Q, N(EX + "z")), ox.Quad(N(EX + "e"), Q, ox.Literal("kept"), N(G1))],
        )},
    )
    assert in_graph(store, G3) == {ox.Triple(N(EX + "a"), Q, N(EX + "z")), ox.Triple(N(EX + "e"), Q, ox.Literal("kept"))}
    assert in_graph(store, G1) == set(triples("n", 2))
    assert in_graph(store, G2) == g2


def test_apply_is_one_transaction_when_it_fails(store: OxigraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.store.base import GraphEdit

    _edit_fixture(store)
    before = snapshot(store)
    real = OxigraphStore._data_update

    def failing(verb: str, quads: dict[str, list[ox.Quad]]) -> list[str]:
        return [*real(verb, quads), "DROP GRAPH <http://example.org/does-not-exist>"] if verb == "INSERT DATA" else \
            real(verb, quads)

    monkeypatch.setattr(OxigraphStore, "_data_update", staticmethod(failing))
    with pytest.raises(StoreError, match="store unchanged"):
        store.apply({G1: triples("n", 2)}, edits={G3: GraphEdit(remove_subjects=[N(EX + "a")],
                                                                add=[ox.Triple(N(EX + "x"), P, N(EX + "y"))])})
    assert snapshot(store) == before


def test_apply_refuses_a_graph_replaced_and_edited_and_blank_node_removals(store: OxigraphStore) -> None:
    from kg.store.base import GraphEdit

    before = snapshot(store)
    with pytest.raises(ValueError, match="both replaced"):
        store.apply({G1: []}, edits={G1: GraphEdit(add=triples("x", 1))})
    store.replace_graphs({G3: [ox.Triple(N(EX + "s"), P, ox.BlankNode("b1"))]})
    with pytest.raises(ValueError, match="blank node"):
        store.apply(edits={G3: GraphEdit(remove_subjects=[N(EX + "s")])})
    assert len(in_graph(store, G3)) == 1
    assert {q for q in snapshot(store) if q.graph_name != N(G3)} == before


def test_apply_with_only_additions_is_one_extend(store: OxigraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.store.base import GraphEdit

    calls: list[str] = []
    raw = store.raw

    class Spy:
        def __getattr__(self, name: str) -> object:
            calls.append(name)
            return getattr(raw, name)

    monkeypatch.setattr(store, "_store", Spy())
    store.apply({G3: triples("n", 3)}, edits={G2: GraphEdit(add=triples("m", 2))})
    monkeypatch.undo()
    assert "extend" in calls and "update" not in calls
    assert set(triples("m", 2)) <= in_graph(store, G2) and len(in_graph(store, G2)) == 52
