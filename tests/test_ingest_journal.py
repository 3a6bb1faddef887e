"""The journaled bulk write of new graphs (OxigraphStore.write_new_graphs): all or nothing after an error and
after the process dies at any point of the write (simulated in a subprocess), and ingest through it writes exactly
what ingest through transactions writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.errors import StoreError
from kg.ingest import Pipeline, ingest_files
from kg.store.base import GraphEdit
from kg.store.oxigraph import JOURNAL, JOURNAL_TMP, OxigraphStore

ROOT = Path(__file__).resolve().parent.parent
TESTS_CORPUS = Path(__file__).parent / "corpus"
EX = "https://example.org/"
LINKS = EX + "links"


def _n(local: str) -> ox.NamedNode:
    return ox.NamedNode(EX + local)


def _new_graphs(count: int = 3, size: int = 200) -> dict[str, list[ox.Triple]]:
    return {
        EX + f"graph/{g}": [
            ox.Triple(_n(f"s{g}-{i}"), _n("p"), ox.Literal(f"value {g} {i}", language="en")) for i in range(size)
        ]
        for g in range(count)
    }


def _edit() -> GraphEdit:
    """Removes one existing link and one absent statement, adds one existing link again and two new ones."""
    return GraphEdit(
        remove_subjects=[_n("old-a")],
        remove=[ox.Triple(_n("never"), _n("p"), _n("there"))],
        add=[ox.Triple(_n("keep"), _n("p"), _n("kept")), ox.Triple(_n("new-a"), _n("p"), _n("x")),
             ox.Triple(_n("new-b"), _n("p"), ox.Literal("y"))],
    )


def _seeded(path: Path) -> set[ox.Quad]:
    """A store with one old declaration-like graph and a links graph; returns its quads."""
    links = ox.NamedNode(LINKS)
    with OxigraphStore(path) as st:
        st.apply({
            EX + "graph/old": [ox.Triple(_n("old"), _n("p"), ox.Literal("old"))],
            LINKS: [ox.Quad(_n("old-a"), _n("p"), _n("x"), links), ox.Quad(_n("old-a"), _n("q"), _n("y"), links),
                    ox.Quad(_n("keep"), _n("p"), _n("kept"), links)],
        })
        return set(st.raw)


def _quads(path: Path) -> set[ox.Quad]:
    with OxigraphStore(path) as st:
        return set(st.raw)


def _expected_after(before: set[ox.Quad]) -> set[ox.Quad]:
    links = ox.NamedNode(LINKS)
    out = {q for q in before if q.subject != _n("old-a")}
    out |= {ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(g)) for g, ts in _new_graphs().items() for t in ts}
    out |= {ox.Quad(t.subject, t.predicate, t.object, links) for t in _edit().add}
    return out


def test_new_graphs_and_edit_are_written_and_the_journal_removed(tmp_path: Path) -> None:
    path = tmp_path / "store"
    before = _seeded(path)
    with OxigraphStore(path) as st:
        assert st.write_new_graphs(_new_graphs(), edits={LINKS: _edit()}) is True
        assert not (path / JOURNAL).exists() and not (path / JOURNAL_TMP).exists()
    assert _quads(path) == _expected_after(before)


def test_an_existing_graph_is_not_written_this_way(tmp_path: Path) -> None:
    path = tmp_path / "store"
    before = _seeded(path)
    graphs = {**_new_graphs(), EX + "graph/old": [ox.Triple(_n("other"), _n("p"), _n("o"))]}
    with OxigraphStore(path) as st:
        assert st.write_new_graphs(graphs, edits={LINKS: _edit()}) is False
    assert _quads(path) == before


def test_a_graph_both_added_and_edited_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store"
    _seeded(path)
    with OxigraphStore(path) as st, pytest.raises(ValueError):
        st.write_new_graphs(_new_graphs(), edits={EX + "graph/0": _edit()})


@pytest.mark.parametrize("stage", ["bulk", "edit"])
def test_a_failure_during_the_write_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    path = tmp_path / "store"
    before = _seeded(path)

    def half_then_fail(self: OxigraphStore, quads: list[ox.Quad]) -> None:
        self.raw.bulk_extend(quads[: len(quads) // 2])
        raise OSError("simulated disk failure")

    with OxigraphStore(path) as st:
        if stage == "bulk":
            monkeypatch.setattr(OxigraphStore, "_bulk_load", half_then_fail)
            edits = {LINKS: _edit()}
        else:  # the bulk load succeeds, then the edit's transaction fails (its update text is broken)
            edits = {LINKS: _edit()}
            real = OxigraphStore._data_update
            calls: list[str] = []

            def broken_once(verb: str, quads: dict) -> list[str]:  # type: ignore[type-arg]
                calls.append(verb)
                return ["NOT AN UPDATE"] if len(calls) <= 2 else real(verb, quads)  # the undo's own calls work

            monkeypatch.setattr(OxigraphStore, "_data_update", staticmethod(broken_once))
        with pytest.raises(StoreError, match="store unchanged"):
            st.write_new_graphs(_new_graphs(), edits=edits)
        monkeypatch.undo()
        assert set(st.raw) == before
        assert not (path / JOURNAL).exists()


_CRASH = textwrap.dedent(
    """
    import os, sys
    import pyoxigraph as ox
    sys.path.insert(0, {tests!r})
    from test_ingest_journal import LINKS, _edit, _new_graphs
    from kg.store.oxigraph import OxigraphStore

    where = sys.argv[1]
    if where == "before-load":
        OxigraphStore._bulk_load = lambda self, quads: os._exit(3)
    elif where == "partial-load":
        def partial(self, quads):
            self.raw.bulk_extend(quads[: len(quads) // 3])
            self.raw.flush()
            os._exit(3)
        OxigraphStore._bulk_load = partial
    elif where == "after-edit":
        def end(self):
            self.raw.flush()
            os._exit(3)
        OxigraphStore._end_journal = end
    st = OxigraphStore({path!r})
    st.write_new_graphs(_new_graphs(), edits={{LINKS: _edit()}})
    os._exit(0)
    """
)


@pytest.mark.parametrize("where", ["before-load", "partial-load", "after-edit"])
def test_a_process_dying_during_the_write_is_undone_when_the_store_is_next_opened(tmp_path: Path, where: str) -> None:
    path = tmp_path / "store"
    before = _seeded(path)
    script = _CRASH.format(tests=str(Path(__file__).parent), path=str(path))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", script, where], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert (path / JOURNAL).is_dir()  # the process died with its write unfinished
    raw = ox.Store(str(path))  # what the dead process left, seen without recovery
    left = set(raw)
    del raw
    if where == "before-load":
        assert left == before
    elif where == "partial-load":
        added = {ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(g)) for g, ts in _new_graphs().items() for t in ts}
        assert before < left and left - before < added  # part of the new quads made it, the edit not yet
    else:
        assert left == _expected_after(before)  # everything made it, but the write was not finished
    assert _quads(path) == before  # opening read-write undoes it
    assert not (path / JOURNAL).exists()
    with OxigraphStore(path) as st:  # and the same write then goes through
        assert st.write_new_graphs(_new_graphs(), edits={LINKS: _edit()}) is True
    assert _quads(path) == _expected_after(before)


def test_a_half_written_journal_means_nothing_was_written(tmp_path: Path) -> None:
    path = tmp_path / "store"
    before = _seeded(path)
    (path / JOURNAL_TMP).mkdir()
    (path / JOURNAL_TMP / "added.nq").write_text("<urn:a> <urn:b> ", encoding="utf-8")  # cut short
    assert _quads(path) == before
    assert not (path / JOURNAL_TMP).exists()


def test_ingest_through_the_journal_writes_what_transactions_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(p for p in TESTS_CORPUS.iterdir() if p.suffix in (".txt", ".html"))
    pipeline = Pipeline()
    results = {}
    for way in ("journal", "transaction"):
        path = tmp_path / way
        used: list[int] = []
        real = OxigraphStore.write_new_graphs

        def spy(self: OxigraphStore, graphs: dict, *, edits: dict | None = None, way: str = way) -> bool:  # type: ignore[type-arg]
            if way == "transaction":
                return False
            used.append(len(graphs))
            return real(self, graphs, edits=edits)

        monkeypatch.setattr(OxigraphStore, "write_new_graphs", spy)
        with OxigraphStore(path) as st:
            report = ingest_files(st, files, pipeline=pipeline, link=False)
            results[way] = set(st.raw)
        monkeypatch.undo()
        assert [f.ok for f in report.files].count(True) >= 3
        assert (sum(used) == sum(f.ok for f in report.files)) if way == "journal" else not used
    assert results["journal"] == results["transaction"]
