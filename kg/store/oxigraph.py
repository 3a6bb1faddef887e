"""The embedded store: a pyoxigraph (RocksDB) store in a folder on disk.

One process may open a folder read-write at a time (RocksDB holds a lock); any number of processes may open it
read-only with ``OxigraphStore(path, read_only=True)`` (``pyoxigraph.Store.read_only``), which is what the server's
query workers do. A read-only handle sees the store as it was when opened; ``kg build`` never writes into a folder in
use, it builds a new folder beside it and renames it into place (see :mod:`kg.build`).
"""

from __future__ import annotations

import gc
import gzip
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox
from pyoxigraph import DefaultGraph, NamedNode, Quad, RdfFormat, Variable

from kg.errors import BadQuery, StoreError
from kg.namespaces import PREFIXES

#: Prefixes for Turtle and TriG dumps: not ``id:``, whose local names would need escaped slashes.
TURTLE_PREFIXES = {p: ns for p, ns in PREFIXES.items() if p != "id"}
from kg.store.base import (
    EXPORT_FORMATS,
    ExportFormat,
    GraphEdit,
    QueryResult,
    Statement,
    Store,
    Term,
    as_quads,
    check_apply_arguments,
)

log = logging.getLogger(__name__)

_UNION_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


#: The folder, inside the store folder, holding the journal of a write under way (:meth:`OxigraphStore.write_new_graphs`).
JOURNAL = "kg-journal"
JOURNAL_TMP = "kg-journal.tmp"


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _by_graph(quads: Iterable[Quad]) -> dict[str, list[Quad]]:
    out: dict[str, list[Quad]] = {}
    for q in quads:
        out.setdefault(q.graph_name.value, []).append(q)  # type: ignore[union-attr]
    return out


class _BlankNodeRemoval(ValueError):
    """An edit would remove a statement with a blank node (SPARQL's DELETE DATA cannot name one)."""


class OxigraphStore(Store):
    """A :class:`kg.store.base.Store` on an on-disk pyoxigraph store at ``path``.

    ``read_only=True`` opens an existing store without taking the writer's lock (raises :class:`StoreError` when
    there is no store at ``path``); otherwise the folder is created when missing. Raises :class:`StoreError` when
    the folder cannot be opened (for instance, another process holds it read-write).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        try:
            if read_only:
                if not self.path.is_dir():
                    raise StoreError(f"no store at {self.path} (run `kg build --store {self.path}` first)")
                self._store: ox.Store | None = ox.Store.read_only(str(self.path))
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
        if read_only:
            if (self.path / JOURNAL).exists():
                log.warning("%s: an unfinished write is waiting to be undone (open the store read-write once)",
                            self.path)
        else:
            self._recover()

    def __repr__(self) -> str:
        return f"OxigraphStore({str(self.path)!r}, read_only={self.read_only})"

    @property
    def raw(self) -> ox.Store:
        """The underlying ``pyoxigraph.Store`` (raises :class:`StoreError` after :meth:`close`)."""
        if self._store is None:
            raise StoreError(f"the store at {self.path} is closed")
        return self._store

    # -- reading ---------------------------------------------------------------------------------------------
    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        use_default_graph_as_union: bool = True,
        default_graph: list[NamedNode | DefaultGraph] | None = None,
        named_graphs: list[NamedNode] | None = None,
    ) -> QueryResult:
        """Run a SPARQL query (the default graph is the union of all graphs unless ``default_graph`` is given).

        Raises :class:`BadQuery` when it does not parse, :class:`StoreError` when the store fails.
        """
        try:
            return self.raw.query(
                sparql,
                substitutions=dict(substitutions) if substitutions else None,
                use_default_graph_as_union=use_default_graph_as_union and default_graph is None,
                default_graph=default_graph,
                named_graphs=named_graphs,
            )
        except SyntaxError as exc:
            raise BadQuery(f"the query does not parse: {exc}") from exc
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def graph_names(self) -> list[str]:
        """The IRIs of the named graphs, sorted."""
        return sorted(g.value for g in self.raw.named_graphs() if isinstance(g, NamedNode))

    def has_graph(self, graph: str) -> bool:
        """Whether the named graph ``graph`` exists (cheaper than an ASK query)."""
        return self.raw.contains_named_graph(NamedNode(graph))

    def __len__(self) -> int:
        return len(self.raw)

    # -- writing ---------------------------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the store at {self.path} is open read-only")

    def apply(
        self,
        replace: Mapping[str, Iterable[Statement]] | None = None,
        *,
        remove: Iterable[str] = (),
        edits: Mapping[str, GraphEdit] | None = None,
    ) -> None:
        """Replace the graphs in ``replace``, drop those in ``remove`` and apply ``edits`` (see
        :class:`kg.store.base.GraphEdit`), in one transaction.

        Everything is materialised first (an error there writes nothing). The statements an edit removes by
        subject or object are looked up in the graph's indexes (``quads_for_pattern``), so the update names only
        what changes. When nothing is removed or dropped, everything goes in with one transactional
        ``Store.extend``; otherwise one SPARQL update (``DROP SILENT GRAPH``, ``DELETE DATA``, ``INSERT DATA``),
        which Oxigraph applies as one transaction. Raises :class:`StoreError` (store unchanged), ``ValueError``
        (a graph both replaced and edited; a removed statement with a blank node), ``TypeError`` (not a
        Triple/Quad).
        """
        self._check_writable()
        replace = replace or {}
        edits = edits or {}
        remove = list(remove)
        check_apply_arguments(replace, remove, edits)
        quads: dict[str, list[Quad]] = {g: as_quads(g, sts) for g, sts in replace.items()}
        drop = list(dict.fromkeys([*quads, *remove]))
        store = self.raw
        deletes: dict[str, list[Quad]] = {}
        inserts: dict[str, list[Quad]] = {}
        try:
            for g, edit in edits.items():
                add = as_quads(g, edit.add)
                gone = self._edit_removals(g, edit)
                gone.difference_update(add)
                if gone:
                    deletes[g] = sorted(gone, key=str)
                if add:
                    inserts[g] = add
            if not deletes and not any(store.contains_named_graph(NamedNode(g)) for g in drop):
                store.extend([q for qs in (*quads.values(), *inserts.values()) for q in qs])
            else:
                text = self._replace_update(drop, quads)
                parts = [text] if text else []
                parts += self._data_update("DELETE DATA", deletes)
                parts += self._data_update("INSERT DATA", inserts)
                if parts:
                    store.update(" ;\n".join(parts))
        except (OSError, RuntimeError, SyntaxError) as exc:
            names = ", ".join([*drop, *edits])
            raise StoreError(f"writing graphs {names} failed; store unchanged: {exc}") from exc
        except ValueError as exc:
            if isinstance(exc, _BlankNodeRemoval):
                raise
            names = ", ".join([*drop, *edits])
            raise StoreError(f"writing graphs {names} failed; store unchanged: {exc}") from exc

    def _edit_removals(self, graph: str, edit: GraphEdit) -> set[Quad]:
        """The quads of ``graph`` that ``edit`` removes (looked up by subject and by object)."""
        g = NamedNode(graph)
        out = set(as_quads(graph, edit.remove))
        raw = self.raw
        for s in edit.remove_subjects:
            out.update(raw.quads_for_pattern(s, None, None, g))
        for o in edit.remove_objects:
            out.update(raw.quads_for_pattern(None, None, o, g))
        for q in out:
            if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode):
                raise _BlankNodeRemoval(f"cannot remove a statement with a blank node from {graph}: {q}")
        return out

    @staticmethod
    def _data_update(verb: str, quads: Mapping[str, list[Quad]]) -> list[str]:
        """``INSERT DATA {...}`` or ``DELETE DATA {...}`` of ``quads`` (graph -> quads), or nothing."""
        body = []
        for g, qs in quads.items():
            if qs:
                triples = ox.serialize([q.triple for q in qs], format=RdfFormat.N_TRIPLES).decode("utf-8")
                body.append(f"GRAPH <{g}> {{\n{triples}}}")
        return [verb + " {\n" + "\n".join(body) + "\n}"] if body else []

    @staticmethod
    def _replace_update(drop: list[str], quads: Mapping[str, list[Quad]]) -> str:
        """The text of one SPARQL update dropping ``drop`` and inserting ``quads``."""
        parts = [f"DROP SILENT GRAPH <{g}>" for g in drop]
        body = []
        for g, qs in quads.items():
            if qs:
                triples = ox.serialize([q.triple for q in qs], format=RdfFormat.N_TRIPLES).decode("utf-8")
                body.append(f"GRAPH <{g}> {{\n{triples}}}")
        if body:
            parts.append("INSERT DATA {\n" + "\n".join(body) + "\n}")
        return " ;\n".join(parts)

    def write_new_graphs(
        self, graphs: Mapping[str, Iterable[Statement]], *, edits: Mapping[str, GraphEdit] | None = None
    ) -> bool:
        """Add the named graphs ``graphs``, none of which may exist yet, and apply ``edits`` to other graphs, all or
        nothing, through the bulk loader (about half the CPU time of a transaction per quad).

        The bulk loader is not transactional, so the write is journaled: first the journal (the new quads, and
        for the edits the statements they remove and the statements they add that were absent) is written to
        :data:`JOURNAL` in the store folder and synced; then the new graphs are bulk-loaded, the edits applied in
        one transaction, and the journal removed. If anything fails on the way, the journal is played backwards
        at once (the new quads loaded again, so that every index holds all of them, then, in one transaction, the
        new graphs dropped and the edits reverted) and :class:`StoreError` raised with the store as it was; if the
        process dies on the way, that is done when the store is next opened read-write (:meth:`_recover`).
        Readers that open the store while such a write is under way may see the new graphs before the edits.

        Returns ``False`` without writing anything when one of ``graphs`` exists already (use :meth:`apply`).
        Raises ``ValueError`` for a graph both added and edited or a removed statement with a blank node.
        """
        self._check_writable()
        edits = edits or {}
        check_apply_arguments(graphs, [], edits)
        quads = [q for g, sts in graphs.items() for q in as_quads(g, sts)]
        raw = self.raw
        if any(raw.contains_named_graph(NamedNode(g)) for g in graphs):
            return False
        restore: list[Quad] = []  # statements the edits remove (present now)
        retract: list[Quad] = []  # statements the edits add that are absent now
        for g, edit in edits.items():
            add = as_quads(g, edit.add)
            gone = self._edit_removals(g, edit)
            gone.difference_update(add)
            restore.extend(sorted((q for q in gone if q in raw), key=str))
            retract.extend(q for q in dict.fromkeys(add) if q not in raw)
        if any(isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode) for q in retract):
            return False  # the journal could not name them to undo the edit
        names = ", ".join([*graphs, *edits])
        try:
            self._write_journal(quads, restore, retract)
        except OSError as exc:
            shutil.rmtree(self.path / JOURNAL_TMP, ignore_errors=True)
            raise StoreError(f"writing graphs {names} failed (journal): {exc}; store unchanged") from exc
        try:
            self._bulk_load(quads)
            parts = self._data_update("DELETE DATA", _by_graph(restore))
            parts += self._data_update("INSERT DATA", _by_graph(retract))
            if parts:
                raw.update(" ;\n".join(parts))
            self._end_journal()
        except (OSError, RuntimeError, SyntaxError, ValueError) as exc:
            try:
                self._recover()
            except (OSError, RuntimeError, SyntaxError, ValueError, StoreError) as undo:
                raise StoreError(
                    f"writing graphs {names} failed: {exc}; undoing it failed too ({undo}): the store is restored "
                    "from its journal when next opened read-write"
                ) from exc
            raise StoreError(f"writing graphs {names} failed; store unchanged: {exc}") from exc
        return True

    def _bulk_load(self, quads: list[Quad]) -> None:
        self.raw.bulk_extend(quads)

    def _write_journal(self, quads: list[Quad], restore: list[Quad], retract: list[Quad]) -> None:
        """Write the journal into a temporary folder, sync it and rename it to :data:`JOURNAL` (so a journal is
        either whole or absent)."""
        tmp = self.path / JOURNAL_TMP
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, part in (("added.nq", quads), ("restore.nq", restore), ("retract.nq", retract)):
            with open(tmp / name, "wb") as out:
                ox.serialize(part, out, RdfFormat.N_QUADS)
                out.flush()
                os.fsync(out.fileno())
        _sync_dir(tmp)
        os.replace(tmp, self.path / JOURNAL)
        _sync_dir(self.path)

    def _end_journal(self) -> None:
        shutil.rmtree(self.path / JOURNAL)
        _sync_dir(self.path)

    def _recover(self) -> None:
        """Undo an unfinished :meth:`write_new_graphs` whose journal is in the store folder (a process that died
        while writing): load its new quads again (whatever part of them reached the store, every index then holds
        all of them), then in one transaction drop its new graphs and revert its edits, then remove the journal.
        A half-written journal (the temporary folder) means nothing was written yet; it is removed."""
        shutil.rmtree(self.path / JOURNAL_TMP, ignore_errors=True)
        folder = self.path / JOURNAL
        if not folder.is_dir():
            return
        log.warning("%s: undoing an unfinished write (journal %s)", self.path, folder)
        try:
            added = list(ox.parse(path=str(folder / "added.nq"), format=RdfFormat.N_QUADS))
            restore = list(ox.parse(path=str(folder / "restore.nq"), format=RdfFormat.N_QUADS))
            retract = list(ox.parse(path=str(folder / "retract.nq"), format=RdfFormat.N_QUADS))
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"{self.path}: cannot read the journal of an unfinished write ({exc}); "
                             f"restore the store from a dump or rebuild it") from exc
        raw = self.raw
        if added:
            raw.bulk_extend(added)
        graphs = sorted({q.graph_name.value for q in added if isinstance(q.graph_name, NamedNode)})
        parts = [f"DROP SILENT GRAPH <{g}>" for g in graphs]
        parts += self._data_update("DELETE DATA", _by_graph(retract))
        parts += self._data_update("INSERT DATA", _by_graph(restore))
        if parts:
            raw.update(" ;\n".join(parts))
        self._end_journal()

    def bulk_add(self, quads: Iterable[Quad]) -> None:
        """Add quads fast and NOT transactionally (``pyoxigraph.Store.bulk_extend``).

        Only for filling a fresh store nobody else reads yet (``kg build`` does this in a staging folder that
        replaces the old store by a rename only once complete). Raises :class:`StoreError`.
        """
        self._check_writable()
        try:
            self.raw.bulk_extend(quads)
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"bulk load into {self.path} failed: {exc}") from exc

    def optimize(self) -> None:
        """Compact the store after a large load."""
        self._check_writable()
        self.raw.flush()
        self.raw.optimize()

    # -- dumps -----------------------------------------------------------------------------------------------
    def export(self, target: str | Path | BinaryIO, format: ExportFormat) -> None:
        """Write a dump: ``nq``/``trig`` the whole dataset, ``ttl``/``nt`` the union of all graphs.

        ``target`` is a path (gzip-compressed when it ends in ``.gz``) or a binary stream. Raises ``ValueError``
        for an unknown format and :class:`StoreError` when the store or the file fails.
        """
        if format not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {format!r}; use one of {', '.join(EXPORT_FORMATS)}")
        if isinstance(target, (str, Path)):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            opener = gzip.open if path.suffix == ".gz" else open
            try:
                with opener(path, "wb") as out:
                    self._write_dump(out, format)  # type: ignore[arg-type]
            except OSError as exc:
                raise StoreError(f"cannot write {path}: {exc}") from exc
        else:
            self._write_dump(target, format)

    def _write_dump(self, out: BinaryIO, format: ExportFormat) -> None:
        rdf_format, with_graphs = EXPORT_FORMATS[format]
        prefixes = TURTLE_PREFIXES if rdf_format in (RdfFormat.TURTLE, RdfFormat.TRIG) else None
        try:
            if with_graphs:
                self.raw.dump(out, rdf_format, prefixes=prefixes)
            else:
                triples = self.raw.query(_UNION_QUERY, use_default_graph_as_union=True)
                ox.serialize(triples, out, rdf_format, prefixes=prefixes)
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"export failed: {exc}") from exc

    def close(self) -> None:
        """Flush (when writable) and release the RocksDB handle. Safe to call twice."""
        if self._store is None:
            return
        if not self.read_only:
            try:
                self._store.flush()
            except OSError as exc:  # pragma: no cover - disk trouble at exit
                log.warning("flushing %s failed: %s", self.path, exc)
        self._store = None
        gc.collect()  # pyoxigraph releases the RocksDB lock when the Store object is freed
