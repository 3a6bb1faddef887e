"""Build a store from ``ontology/`` and the bundled declarations in ``kg/corpus/``.

Named graphs (see :func:`kg.ingest.context_files`): ``graph/ontology`` (the OWL ontology), ``graph/reference``
(the SKOS schemes and ``ontology/reference/*.ttl``), ``graph/shapes`` (the SHACL shapes, published for users) and
one ``graph/declaration/{key}`` per bundled declaration, each checked against the shapes like ``kg ingest`` does
(a bundled declaration that fails stops the build with the shape's message). The kinds of every clause
(``dec:Commitment`` ...) are materialised in the declaration graphs.

For an embedded store at ``DIR`` the build writes a new folder beside it (``.DIR.building-PID``) and only when it is
complete switches it in (:func:`_swap`): on Linux one ``renameat2(RENAME_EXCHANGE)`` call exchanges the new folder
and the old store atomically, so at every instant ``DIR`` is a whole store, the old one or the new one, even if the
build is killed at the switch; the old store is then renamed ``DIR.previous``. Where the exchange is not available
the old store is renamed ``DIR.previous`` and the new one ``DIR`` (two renames), and a build killed between them is
repaired by the next build (:func:`recover_swap`). A failed or killed build never touches a good store. Dumps of the new store go to :func:`dumps_dir` (``DIR/../dumps``): ``declarations.nq.gz`` (every graph,
N-Quads) and ``declarations.ttl`` (the default view, the union of the graphs, Turtle). A server holding the old
folder open should be restarted after a build.

For a remote store (an http(s) URL) each graph is replaced in place, one transaction per graph.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kg.errors import BadInput, KGError, StoreError
from kg.ingest import Pipeline, load_context, parse_metadata
from kg.paths import CORPUS_DIR, ONTOLOGY_DIR
from kg.settings import Settings
from kg.store import is_remote, open_store
from kg.store.base import Store

log = logging.getLogger(__name__)

CORPUS_FILE = "corpus.toml"
DOCUMENT_SUFFIXES = (".txt", ".html", ".htm", ".pdf")
DUMP_NQUADS = "declarations.nq.gz"
DUMP_TURTLE = "declarations.ttl"


@dataclass(frozen=True, slots=True)
class CorpusEntry:
    """One bundled document and the metadata its text lacks (keyword arguments of the extractor)."""

    path: Path
    metadata: dict[str, object]


@dataclass(slots=True)
class BuildReport:
    """What a build made: the store location, triples per named graph, the declarations and the dumps."""

    store: str
    graphs: dict[str, int] = field(default_factory=dict)
    declarations: list[str] = field(default_factory=list)
    dumps: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def triples(self) -> int:
        return sum(self.graphs.values())


def dumps_dir(store_dir: str | Path) -> Path:
    """Where the build writes the dumps of the store at ``store_dir``: ``store_dir/../dumps``."""
    return Path(store_dir).resolve().parent / "dumps"


def read_corpus(corpus_dir: Path = CORPUS_DIR) -> list[CorpusEntry]:
    """The bundled documents: those listed in ``corpus.toml`` (in its order, with their metadata), then any other
    document in the folder (name order). Raises :class:`BadInput` for a broken or inconsistent ``corpus.toml``."""
    listed: list[CorpusEntry] = []
    sidecar = corpus_dir / CORPUS_FILE
    if sidecar.is_file():
        try:
            data = tomllib.loads(sidecar.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"{sidecar}: not valid TOML: {exc}") from exc
        for item in data.get("declaration", []):
            item = dict(item)
            name = item.pop("file", None)
            if not name:
                raise BadInput(f"{sidecar}: a [[declaration]] without file =")
            unknown = set(item) - {"key", "title", "date", "place", "adopters"}
            if unknown:
                raise BadInput(f"{sidecar}: {name}: unknown fields {', '.join(sorted(unknown))}")
            path = corpus_dir / name
            if not path.is_file():
                raise BadInput(f"{sidecar}: lists {name}, which is not in {corpus_dir}")
            listed.append(CorpusEntry(path, parse_metadata(**item)))
    names = {e.path.name for e in listed}
    others = sorted(
        p for p in corpus_dir.iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES and p.name not in names
    )
    return listed + [CorpusEntry(p, {}) for p in others]


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), disable=not enabled, transient=True,
    )
    with progress:
        yield progress


def fill_store(
    store: Store, *, corpus_dir: Path = CORPUS_DIR, ontology_dir: Path = ONTOLOGY_DIR, progress: bool = False,
    report: BuildReport | None = None, link_threshold: float | None = None,
) -> BuildReport:
    """Load the context graphs and every bundled declaration into ``store`` (graph by graph), then compute the
    links graph (:func:`kg.link.link_store`; ``link_threshold``: lowest clause-link score, default the setting's).

    Returns the report; raises :class:`KGError` (:class:`BadInput`, :class:`kg.errors.ShapeViolation`...) naming
    the file at fault.
    """
    report = report or BuildReport(store=repr(store))
    context = load_context(ontology_dir)
    entries = read_corpus(corpus_dir)
    pipeline = Pipeline(ontology_dir, context=context)
    with _progress(progress) as bar:
        task = bar.add_task("building", total=len(context) + len(entries))
        for graph, quads in context.items():
            bar.update(task, description=f"loading {graph.rsplit('/', 1)[-1]}")
            store.replace_graphs({graph: quads})
            report.graphs[graph] = len(quads)
            bar.advance(task)
        seen: dict[str, str] = {}
        for entry in entries:
            bar.update(task, description=f"ingesting {entry.path.name}")
            prepared = pipeline.prepare_file(entry.path, store=store, **entry.metadata)
            if prepared.key in seen:
                raise BadInput(f"{entry.path.name}: key {prepared.key!r} is already used by {seen[prepared.key]}")
            seen[prepared.key] = entry.path.name
            store.replace_graphs({prepared.graph: prepared.quads})
            report.graphs[prepared.graph] = len(prepared.quads)
            report.declarations.append(prepared.key)
            bar.advance(task)
    from kg.link import LINKS_GRAPH, link_store

    report.graphs[LINKS_GRAPH] = link_store(store, threshold=link_threshold)
    return report


def build_store(
    settings: Settings | str | Path,
    *,
    corpus_dir: Path = CORPUS_DIR,
    ontology_dir: Path = ONTOLOGY_DIR,
    progress: bool = False,
    dumps: bool = True,
) -> BuildReport:
    """Build the store named by ``settings`` (a :class:`Settings`, a folder or a URL) from scratch.

    Returns a :class:`BuildReport`. Raises :class:`KGError` subclasses: the file at fault and why for bad input,
    :class:`StoreError` when the store cannot be written. A failed build leaves an embedded store as it was.
    """
    if not isinstance(settings, Settings):
        settings = Settings(store=str(settings))
    started = time.perf_counter()
    if is_remote(settings.store):
        with open_store(settings) as store:
            report = fill_store(store, corpus_dir=corpus_dir, ontology_dir=ontology_dir, progress=progress,
                                report=BuildReport(store=settings.store), link_threshold=settings.link_threshold)
        report.seconds = time.perf_counter() - started
        return report

    target = Path(settings.store).resolve()
    recover_swap(target)
    recover_swap(dumps_dir(target))
    _remove_stale_staging(target)
    staging = target.parent / f".{target.name}.building-{os.getpid()}"
    staging_dumps = target.parent / f".{target.name}.dumps-{os.getpid()}"
    for leftover in (staging, staging_dumps):
        shutil.rmtree(leftover, ignore_errors=True)
    report = BuildReport(store=str(target))
    try:
        with open_store(Settings(store=str(staging))) as store:
            fill_store(store, corpus_dir=corpus_dir, ontology_dir=ontology_dir, progress=progress, report=report,
                       link_threshold=settings.link_threshold)
            if dumps:
                store.export(staging_dumps / DUMP_NQUADS, "nq")
                store.export(staging_dumps / DUMP_TURTLE, "ttl")
            store.optimize()  # type: ignore[attr-defined]
        _swap(staging, target)
        if dumps:
            final = dumps_dir(target)
            _swap(staging_dumps, final)
            report.dumps = [str(final / DUMP_NQUADS), str(final / DUMP_TURTLE)]
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(staging_dumps, ignore_errors=True)
        raise
    report.seconds = time.perf_counter() - started
    log.info("built %s: %d triples in %d graphs in %.1f s", target, report.triples, len(report.graphs), report.seconds)
    return report


#: ``renameat2`` flag: exchange the two paths atomically (Linux 3.15+, ext4, xfs, btrfs, tmpfs...).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange the paths ``a`` and ``b`` (both must exist) with Linux ``renameat2(RENAME_EXCHANGE)``.

    Returns False when the system or the file system cannot do it (the caller falls back to two renames);
    raises ``OSError`` for any other failure.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a libc without the wrapper (glibc < 2.28, some musl)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def _swap(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``; the old ``target`` (if any) becomes ``target.previous``.

    Crash-safe: with :func:`_exchange`, ``target`` holds a whole folder (old or new) at every instant; without it,
    a crash between the two renames leaves ``target.previous`` and no ``target``, which :func:`recover_swap`
    undoes. Raises :class:`StoreError` when the folders cannot be moved (the old ``target`` is then in place).
    """
    previous = target.with_name(target.name + ".previous")
    try:
        if not target.exists():
            os.rename(new, target)
            return
        if _exchange(new, target):
            # ``target`` is the new build; ``new`` now holds the old store, which becomes ``target.previous``.
            shutil.rmtree(previous, ignore_errors=True)
            os.rename(new, previous)
            return
        shutil.rmtree(previous, ignore_errors=True)
        os.rename(target, previous)
        os.rename(new, target)
    except OSError as exc:
        recover_swap(target)
        raise StoreError(f"cannot move the new build into {target}: {exc}") from exc


def recover_swap(target: str | Path) -> bool:
    """Undo a switch interrupted between its two renames (the fallback of :func:`_swap`): when ``target`` is
    missing and ``target.previous`` exists, rename it back. Returns True when it did. Raises ``OSError``."""
    target = Path(target)
    previous = target.with_name(target.name + ".previous")
    if not target.exists() and not target.is_symlink() and previous.is_dir():
        log.warning("%s was missing after an interrupted build: restoring %s", target, previous)
        os.rename(previous, target)
        return True
    return False


def _remove_stale_staging(target: Path) -> None:
    """Remove the staging folders of builds of ``target`` killed earlier (their process no longer runs)."""
    for pattern in (f".{target.name}.building-*", f".{target.name}.dumps-*"):
        for folder in target.parent.glob(pattern):
            pid = folder.name.rsplit("-", 1)[-1]
            if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
                log.info("removing %s, left by a build that did not finish", folder)
                shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = [
    "BuildReport", "CorpusEntry", "KGError", "build_store", "dumps_dir", "fill_store", "read_corpus", "recover_swap",
]
