"""Add or replace declarations in a store, one file at a time, all or nothing per file.

Each file is read (:func:`kg.extract.read_document`), extracted (:func:`kg.extract.extract_declaration`), turned
into its named graph (:func:`kg.rdf.declaration_quads`), checked against ``ontology/shapes.ttl``
(:class:`kg.shapecheck.ShapeChecker`, over the ontology, the schemes and the reference data) and written with
:meth:`kg.store.base.Store.apply` (or, for new declarations in the embedded store, a journaled bulk load,
:meth:`kg.store.oxigraph.OxigraphStore.write_new_graphs`), several checked declarations and their links per
all-or-nothing write. A file that fails
at any step is reported with its name and the reason, and nothing of it reaches the store; the other files still
load. :func:`write_dumps` refreshes the dumps beside an embedded store after an ingest.

>>> # doctest: +SKIP
>>> report = ingest_files(store, [Path("communique.txt")])
>>> report.ok, report.files[0].key
(True, 'special-communique-on-cooperation-on-migration-issues-2010')
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kg.errors import BadInput, KGError, ShapeViolation
from kg.namespaces import (
    DEC,
    ONTOLOGY_GRAPH,
    REFERENCE_GRAPH,
    declaration_graph,
    resource_iri,
    slugify,
)
from kg.paths import ONTOLOGY_DIR
from kg.store.base import Store

if TYPE_CHECKING:
    from kg.link.update import LinkUpdater

log = logging.getLogger(__name__)

#: The SKOS schemes; they go into the reference graph with ``ontology/reference/*.ttl``.
SCHEME_FILES = ("speech-acts.ttl", "topics.ttl")
SHAPES_FILE = "shapes.ttl"
SHAPES_GRAPH = ONTOLOGY_GRAPH.rsplit("/", 1)[0] + "/shapes"
_MAX_MESSAGES = 5
#: Declarations written together by :func:`ingest_files` (checked first; all or none of a group). Groups of new
#: declarations go through the embedded store's journaled bulk load, whose cost per declaration falls with the
#: group's size (each load adds files the store must compact); others through one transaction.
PER_TRANSACTION = 100
#: A group of checked declarations is written once it is this many seconds old, even when not full.
GROUP_SECONDS = 5.0
#: Kept for callers of the old API; links are now updated with each group whatever the number of files.
LINK_EACH_MAX = 20
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_CITING = (ox.NamedNode(str(DEC.refersTo)), ox.NamedNode("http://purl.org/spar/cito/cites"))


def context_files(ontology_dir: Path = ONTOLOGY_DIR) -> dict[str, list[Path]]:
    """Which Turtle file goes into which named graph.

    ``graph/ontology``: ``ontology/*.ttl`` except the schemes and the shapes (that is, ``declarations.ttl``);
    ``graph/reference``: the schemes (``speech-acts.ttl``, ``topics.ttl``) and ``ontology/reference/*.ttl``;
    ``graph/shapes``: ``shapes.ttl``. Files are listed in name order.
    """
    top = sorted(ontology_dir.glob("*.ttl"))
    return {
        ONTOLOGY_GRAPH: [p for p in top if p.name not in SCHEME_FILES and p.name != SHAPES_FILE],
        REFERENCE_GRAPH: [p for p in top if p.name in SCHEME_FILES] + sorted((ontology_dir / "reference").glob("*.ttl")),
        SHAPES_GRAPH: [p for p in top if p.name == SHAPES_FILE],
    }


def load_context(ontology_dir: Path = ONTOLOGY_DIR) -> dict[str, list[ox.Quad]]:
    """Parse the ontology, schemes, reference data and shapes into quads per named graph (see
    :func:`context_files`). Raises :class:`BadInput` naming a file that does not parse."""
    out: dict[str, list[ox.Quad]] = {}
    for graph, files in context_files(ontology_dir).items():
        g = ox.NamedNode(graph)
        quads: list[ox.Quad] = []
        for path in files:
            try:
                quads.extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in ox.parse(path=str(path)))
            except (SyntaxError, ValueError, OSError) as exc:
                raise BadInput(f"{path}: does not parse as Turtle: {exc}", file=str(path)) from exc
        out[graph] = quads
    return out


@dataclass(slots=True)
class Prepared:
    """A declaration ready to write: its key, graph IRI, quads and the extractor's warnings."""

    key: str
    graph: str
    quads: list[ox.Quad]
    warnings: list[str] = field(default_factory=list)
    clauses: int = 0


@dataclass(slots=True)
class FileReport:
    """What happened to one file: ``ok`` with the key and triple count, or the reason it was refused."""

    path: str
    ok: bool
    key: str | None = None
    graph: str | None = None
    triples: int = 0
    clauses: int = 0
    replaced: bool = False
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class IngestReport:
    """The per-file reports of one :func:`ingest_files` call."""

    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every file loaded."""
        return all(f.ok for f in self.files)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if not f.ok]


def parse_metadata(
    *, title: str | None = None, date: str | dt.date | None = None, place: str | None = None,
    adopters: Sequence[str] | None = None, key: str | None = None,
) -> dict[str, object]:
    """Metadata given by a user (CLI options) as keyword arguments for :func:`kg.extract.extract_declaration`.

    ``date``: ISO ``YYYY-MM-DD``; ``place`` and ``adopters``: an IRI or a key (``mayan-riviera`` or
    ``place/mayan-riviera``; adopters ``state/mexico``). Raises :class:`BadInput` for a value of the wrong form.
    """
    out: dict[str, object] = {}
    if key is not None:
        if slugify(key) != key:
            raise BadInput(f"--key {key!r}: use a lower-case slug such as {slugify(key) or 'my-declaration-2010'!r}")
        out["key"] = key
    if title is not None:
        out["title"] = title
    if date is not None:
        if isinstance(date, str):
            try:
                date = dt.date.fromisoformat(date)
            except ValueError:
                raise BadInput(f"--date {date!r}: give the date as YYYY-MM-DD") from None
        out["date"] = date
    if place is not None:
        out["place"] = _entity_iri(place, "place")
    if adopters:
        out["adopters"] = [_entity_iri(a, None) for a in adopters]
    return out


def _entity_iri(value: str, default_type: str | None) -> str:
    if value.startswith(("http://", "https://")):
        return value
    type_, _, key = value.rpartition("/")
    try:
        if type_:
            return resource_iri(type_, key)
        if default_type is None:
            raise ValueError("give the type too, such as state/mexico")
        return resource_iri(default_type, slugify(key))
    except ValueError as exc:
        raise BadInput(f"{value!r} is not an IRI or a type/key of the reference data: {exc}") from None


class Pipeline:
    """Text -> checked quads, with the shapes and the context loaded once.

    ``context``: the quads of the ontology and reference graphs (default: parsed from ``ontology_dir``).
    Raises :class:`BadInput` when the ontology files do not parse.
    """

    def __init__(self, ontology_dir: Path = ONTOLOGY_DIR, context: dict[str, list[ox.Quad]] | None = None) -> None:
        from kg.extract import kinds_of, load_lexicon
        from kg.shapecheck import ShapeChecker

        lexicon = load_lexicon()
        self._kinds_of = functools.partial(kinds_of, lexicon=lexicon)
        if context is None:
            context = load_context(ontology_dir)
        self.context = context
        shape_quads = context.get(SHAPES_GRAPH) or []
        known = [q for g, qs in context.items() if g != SHAPES_GRAPH for q in qs]
        self._known_subjects = {q.subject for q in known}
        if shape_quads:
            from kg.rdf import to_rdflib

            self.checker: ShapeChecker | None = ShapeChecker(to_rdflib(shape_quads), known)
        else:
            log.warning("no %s in %s: declarations are not checked against shapes", SHAPES_FILE, ontology_dir)
            self.checker = None

    def prepare_text(
        self, text: str, *, name: str, media_type: str = "text/plain", store: Store | None = None,
        **metadata: object,
    ) -> Prepared:
        """Extract, convert and check one document's text. ``store``: where other declarations it refers to may be
        found (their types are added to the check's context). Raises :class:`KGError` subclasses:
        :class:`BadInput`, :class:`kg.errors.NotADeclaration`, :class:`ShapeViolation`."""
        from kg.extract import extract_declaration
        from kg.rdf import declaration_quads

        decl = extract_declaration(text, media_type=media_type, source_name=name, **metadata)  # type: ignore[arg-type]
        try:
            quads = declaration_quads(decl, kinds_of=self._kinds_of)
        except ValueError as exc:
            raise BadInput(f"{name}: cannot be turned into RDF: {exc}", file=name) from exc
        self.check(quads, name=name, store=store)
        return Prepared(decl.key, declaration_graph(decl.key), quads, list(decl.warnings), len(decl.clauses))

    def prepare_file(self, path: Path, *, store: Store | None = None, **metadata: object) -> Prepared:
        """Read one file and :meth:`prepare_text` it. Raises :class:`KGError` subclasses."""
        from kg.extract import read_document

        text, media_type = read_document(path)
        return self.prepare_text(text, name=Path(path).name, media_type=media_type, store=store, **metadata)

    def check(self, quads: list[ox.Quad], *, name: str, store: Store | None = None) -> None:
        """Raise :class:`ShapeViolation` (with the shapes' messages) when ``quads`` do not satisfy the shapes."""
        if self.checker is None:
            return
        extra = self._cited_types(quads, store) if store is not None else []
        results = self.checker.check(quads, extra=extra)
        violations = [r for r in results if r.severity == "Violation"]
        for r in results:
            if r.severity != "Violation":
                log.warning("%s: %s", name, r)
        if violations:
            shown = "; ".join(str(v) for v in violations[:_MAX_MESSAGES])
            more = f" (and {len(violations) - _MAX_MESSAGES} more)" if len(violations) > _MAX_MESSAGES else ""
            raise ShapeViolation(
                f"{name}: does not satisfy the shapes: {shown}{more}",
                file=name,
                violations=[str(v) for v in violations],
            )

    def _cited_types(self, quads: list[ox.Quad], store: Store) -> list[ox.Triple]:
        """``rdf:type`` triples, from the store, of the resources the quads cite that the context does not know."""
        cited = {q.object for q in quads if q.predicate in _CITING and isinstance(q.object, ox.NamedNode)}
        unknown = sorted((c for c in cited if c not in self._known_subjects), key=lambda n: n.value)
        if not unknown:
            return []
        values = " ".join(str(n) for n in unknown)
        rows = store.query(f"SELECT DISTINCT ?s ?t WHERE {{ VALUES ?s {{ {values} }} ?s a ?t }}")
        return [ox.Triple(row["s"], _RDF_TYPE, row["t"]) for row in rows]  # type: ignore[index]


def ingest_files(
    store: Store,
    paths: Iterable[Path | str],
    *,
    pipeline: Pipeline | None = None,
    progress: Callable[[str], None] | None = None,
    bulk: bool = False,
    batch: int = 100,
    link: bool = True,
    link_threshold: float | None = None,
    link_max_per_clause: int | None = None,
    per_transaction: int = PER_TRANSACTION,
    **metadata: object,
) -> IngestReport:
    """Add or replace the declaration of each file in ``store``; each declaration is wholly written or not at all.

    ``metadata``: what the texts do not say (``title``, ``date``, ``place``, ``adopters``, ``key``; see
    :func:`parse_metadata`); ``key`` and ``title`` need a single file. ``progress(name)`` is called after each file
    is prepared. Returns an :class:`IngestReport`; a failing file is reported there (name and reason) and leaves
    the store as it was. Raises :class:`BadInput` only for metadata that cannot apply (a key for several files),
    and :class:`kg.errors.StoreError` when a bulk write fails.

    Every file is read, extracted and SHACL-checked before anything of it is written; a refused file is never
    written. Checked declarations are written up to ``per_transaction`` at a time (or what is ready after
    :data:`GROUP_SECONDS`) in ONE all-or-nothing write: when none of them is in the store yet and the store is the
    embedded one, a journaled bulk load (:meth:`kg.store.oxigraph.OxigraphStore.write_new_graphs`: undone on error,
    or when the store is next opened if the process dies), otherwise one transaction
    (:meth:`kg.store.base.Store.apply`); if that write fails, the group's declarations are written again one at a
    time, so one bad write costs only its own declaration. ``per_transaction=1``: a write per file.

    ``bulk=True`` (embedded store only; for filling a fresh store) writes declarations that are new to the store
    ``batch`` at a time with the non-transactional bulk loader, three times cheaper than a transaction.
    Bad files are still refused before anything of theirs is written; only a failure of the disk during a bulk
    write could leave part of that batch behind. Declarations that replace one already stored always go through
    a transaction.

    ``link=True`` keeps ``graph/links`` up to date (:mod:`kg.link`): the links touching each group of declarations
    are computed before it is written (:class:`kg.link.LinkUpdater`) and go into the same transaction, which
    removes only the old links touching them; the snapshot the linker reads is loaded once per call. After bulk
    writes the links graph is rebuilt once at the end (:func:`kg.link.link_store`), in its own transaction.
    ``link_threshold``, ``link_max_per_clause``: lowest clause-link score and cap on related clauses per clause
    (default: the settings' defaults).
    """
    paths = [Path(p) for p in paths]
    if len(paths) > 1 and ("key" in metadata or "title" in metadata):
        raise BadInput("--key and --title name one declaration: give a single file with them")
    if per_transaction < 1:
        raise ValueError(f"per_transaction must be at least 1, not {per_transaction}")
    started = time.perf_counter()
    pipeline = pipeline or Pipeline()
    try:
        return _ingest(store, paths, pipeline, progress, bulk, batch, link, link_threshold, link_max_per_clause,
                       per_transaction, started, metadata)
    finally:
        gc.unfreeze()


def _ingest(
    store: Store, paths: list[Path], pipeline: Pipeline, progress: Callable[[str], None] | None, bulk: bool,
    batch: int, link: bool, link_threshold: float | None, link_max_per_clause: int | None, per_transaction: int,
    started: float, metadata: dict[str, object],
) -> IngestReport:
    bulk_add = getattr(store, "bulk_add", None) if bulk else None
    updater = None
    if link and bulk_add is None:
        from kg.link import LinkUpdater, make_linker

        updater = LinkUpdater(store, make_linker(threshold=link_threshold, max_per_clause=link_max_per_clause))
    # The objects alive now (lexicons, shapes, the checker's context index, the linker's snapshot) live at least as
    # long as this call: freezing them (until :func:`ingest_files` returns) keeps the cyclic garbage collector
    # from scanning them again and again while each file allocates its short-lived graphs, which cost about a
    # quarter of the CPU time of checking.
    gc.freeze()
    report = IngestReport()
    seen: dict[str, str] = {}
    pending: list[ox.Quad] = []
    pending_count = 0
    group: list[tuple[Prepared, FileReport]] = []
    group_started = 0.0
    for path in paths:
        try:
            prepared = pipeline.prepare_file(path, store=store, **metadata)
            if prepared.key in seen:
                raise BadInput(
                    f"{path.name}: gives key {prepared.key!r}, like {seen[prepared.key]} in the same run; "
                    "give one of them another key",
                    file=str(path),
                )
            replaced = _graph_exists(store, prepared.graph)
        except KGError as exc:
            log.info("refused %s: %s", path, exc.detail)
            report.files.append(FileReport(str(path), ok=False, reason=_named(exc.detail, path)))
        else:
            seen[prepared.key] = path.name
            entry = FileReport(
                str(path), ok=True, key=prepared.key, graph=prepared.graph, triples=len(prepared.quads),
                clauses=prepared.clauses, replaced=replaced, warnings=prepared.warnings,
            )
            report.files.append(entry)
            if bulk_add is not None and not replaced:
                pending.extend(prepared.quads)
                pending_count += 1
            else:
                if not group:
                    group_started = time.perf_counter()
                group.append((prepared, entry))
        if progress is not None:
            progress(path.name)
        if group and (len(group) >= per_transaction or time.perf_counter() - group_started >= GROUP_SECONDS):
            _write_group(store, group, updater)
            group = []
        if bulk_add is not None and pending_count >= batch:
            bulk_add(pending)  # a StoreError here is not the current file's fault: it propagates
            pending, pending_count = [], 0
    if group:
        _write_group(store, group, updater)
    if pending and bulk_add is not None:
        bulk_add(pending)
    if link and updater is None and any(f.ok for f in report.files):
        from kg.link import link_store

        link_store(store, threshold=link_threshold, max_per_clause=link_max_per_clause)
    report.seconds = time.perf_counter() - started
    return report


def _write_group(store: Store, group: list[tuple[Prepared, FileReport]], updater: LinkUpdater | None) -> None:
    """Write the declarations of ``group`` (and their links) in one transaction; if that fails, one transaction
    each. A declaration whose own write fails is marked failed in its :class:`FileReport`."""
    try:
        _write(store, [p for p, _ in group], updater)
        return
    except KGError as exc:
        if len(group) == 1:
            prepared, entry = group[0]
            _mark_failed(entry, exc)
            return
        log.warning("writing %d declarations in one transaction failed (%s); writing them one by one",
                    len(group), exc.detail)
    for prepared, entry in group:
        try:
            _write(store, [prepared], updater)
        except KGError as exc:
            _mark_failed(entry, exc)


def _write(store: Store, prepared: list[Prepared], updater: LinkUpdater | None) -> None:
    """One transaction: the graphs of ``prepared`` and, with ``updater``, their links edit."""
    from kg.namespaces import LINKS_GRAPH

    edits = {}
    plan = None
    if updater is not None:
        plan = updater.plan([(p.key, p.quads) for p in prepared])
        if not plan.edit.empty:
            edits[LINKS_GRAPH] = plan.edit
    graphs = {p.graph: p.quads for p in prepared}
    write_new = getattr(store, "write_new_graphs", None)  # the embedded store: journaled bulk load, all or nothing
    if write_new is None or not write_new(graphs, edits=edits):
        store.apply(graphs, edits=edits)
    if plan is not None and updater is not None:
        updater.accept(plan)


def _mark_failed(entry: FileReport, exc: KGError) -> None:
    path = Path(entry.path)
    log.info("could not write %s: %s", path, exc.detail)
    entry.ok = False
    entry.reason = _named(f"not written: {exc.detail}", path)
    entry.key = entry.graph = None
    entry.triples = entry.clauses = 0
    entry.replaced = False


def write_dumps(store: Store, folder: Path) -> list[Path]:
    """Write the dumps of ``store`` into ``folder`` (:func:`kg.build.dumps_dir` of an embedded store):
    ``declarations.nq.gz`` (every graph) and ``declarations.ttl`` (the union), as ``kg build`` does.

    Each is written to a temporary file in the same folder and renamed over the old one only when complete, so a
    reader sees the old dump or the new one, never a partial file; a failure leaves the old dumps. Returns the
    paths written. Raises :class:`kg.errors.StoreError` when the store or the disk fails.
    """
    import os

    from kg.build import DUMP_NQUADS, DUMP_TURTLE
    from kg.errors import StoreError

    folder.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, Path]] = []
    try:
        for name, fmt in ((DUMP_NQUADS, "nq"), (DUMP_TURTLE, "ttl")):
            final = folder / name
            # the temporary name keeps the suffix: export compresses a path ending in .gz
            tmp = folder / f".{final.stem}.{os.getpid()}.tmp{''.join(final.suffixes[-1:])}"
            written.append((tmp, final))
            store.export(tmp, fmt)  # type: ignore[arg-type]
        for tmp, final in written:
            os.replace(tmp, final)
    except OSError as exc:
        raise StoreError(f"cannot write the dumps in {folder}: {exc}") from exc
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
    return [final for _, final in written]


def _named(detail: str, path: Path) -> str:
    """The reason a file failed, starting with the path as the user gave it."""
    if detail.startswith(str(path) + ":"):
        return detail
    if detail.startswith(path.name + ":"):
        return str(path) + detail[len(path.name) :]
    return f"{path}: {detail}"


def _graph_exists(store: Store, graph: str) -> bool:
    has_graph = getattr(store, "has_graph", None)  # the embedded store answers without a query
    if has_graph is not None:
        return bool(has_graph(graph))
    return bool(store.query(f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"))
