"""Hostile documents: Hypothesis feeds random and mutated declaration files (text, HTML, PDF, random bytes) through
:func:`kg.ingest.ingest_files` into a real store, one file per example.

Each example runs in a worker process with a per-call time limit (:data:`PER_CALL_SECONDS`), so a hang is caught and
reported rather than stalling the suite. For every example: no exception other than a :class:`kg.errors.KGError`
with a message escapes; a refused file carries a reason naming the file; and the store's content (a digest of all its
quads) is exactly what it was before a refused file. Bounded: :data:`MAX_EXAMPLES` examples, derandomised.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kg.paths import CORPUS_DIR

MAX_EXAMPLES = 80
PER_CALL_SECONDS = 30.0
TESTS_CORPUS = Path(__file__).parent / "corpus"
SEEDS = [
    (CORPUS_DIR / "lac-2010-migration-communique.txt").read_text(encoding="utf-8"),
    *(p.read_text(encoding="utf-8") for p in sorted(TESTS_CORPUS.glob("*.txt"))),
]
HTML_SEED = (TESTS_CORPUS / "html-declaration-labour-migration.html").read_text(encoding="utf-8")
NASTY = ["\x00", "\ufeff", "\u202e", "\u0301" * 40, "\r", "\r\n\r\n", "\t", "\x0c", "1.", "(a)", "We, the ", "Recalling",
         "<script>", "]]>", "&amp;", "\ud7ff", "\U0001f600" * 10, "PARAGRAPH " * 50, "\n" * 200, "..." * 100]


def _digest(store: Any) -> str:
    """A digest of every quad of ``store`` (order-independent)."""
    h = hashlib.sha256()
    for line in sorted(str(q) for q in store.raw):
        h.update(line.encode())
    return h.hexdigest()


def worker_main(conn: Connection, store_dir: str, folder: str) -> None:
    """Ingest each (name, bytes) received into the store; answer (outcome, detail, store unchanged on refusal)."""
    from kg.errors import KGError
    from kg.ingest import Pipeline, ingest_files
    from kg.store.oxigraph import OxigraphStore

    store = OxigraphStore(store_dir)
    pipeline = Pipeline()
    conn.send(("ready", "", True))
    while True:
        message = conn.recv()
        if message is None:
            break
        name, data = message
        path = Path(folder) / name
        path.write_bytes(data)
        before = _digest(store)
        try:
            report = ingest_files(store, [path], pipeline=pipeline)
            entry = report.files[0]
            if entry.ok:
                conn.send(("ok", entry.key or "", True))
            else:
                conn.send(("refused", entry.reason or "", _digest(store) == before))
        except KGError as exc:
            conn.send(("refused", f"{type(exc).__name__}: {exc.detail}", _digest(store) == before))
        except BaseException:  # noqa: BLE001 - reported to the test as a crash
            conn.send(("crash", traceback.format_exc(), _digest(store) == before))
        finally:
            path.unlink(missing_ok=True)
    store.close()


class Worker:
    """The test's handle on the worker process; :meth:`ingest` raises AssertionError on a hang."""

    def __init__(self, store_dir: Path, folder: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, str(store_dir), str(folder)), daemon=True)
        self.process.start()
        child.close()
        assert self.conn.poll(120), "the fuzz worker did not start"
        assert self.conn.recv()[0] == "ready"
        self.outcomes: dict[str, int] = {}

    def ingest(self, name: str, data: bytes) -> tuple[str, str, bool]:
        self.conn.send((name, data))
        if not self.conn.poll(PER_CALL_SECONDS):
            self.process.kill()
            raise AssertionError(f"ingesting {name} ({len(data)} bytes) hung for {PER_CALL_SECONDS} s: {data[:200]!r}")
        outcome = self.conn.recv()
        self.outcomes[outcome[0]] = self.outcomes.get(outcome[0], 0) + 1
        return outcome

    def close(self) -> None:
        if self.process.is_alive():
            self.conn.send(None)
            self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()


@pytest.fixture(scope="module")
def worker(built_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    import shutil

    store_dir = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(built_store, store_dir)
    folder = tmp_path_factory.mktemp("fuzz-files")
    w = Worker(store_dir, folder)
    yield w
    w.close()
    print(f"fuzzed ingestion outcomes: {w.outcomes}")


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str] = SEEDS) -> str:
    """A seed declaration with a few random edits: cut, duplicate or move a slice, insert nasty or random text."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(0, 6))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 400)))
        op = draw(st.sampled_from(["cut", "dup", "insert", "nasty", "swap", "truncate", "upper"]))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op == "dup":
            text = text[:j] + text[i:j] * draw(st.integers(1, 20)) + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.text(max_size=60)) + text[i:]
        elif op == "nasty":
            text = text[:i] + draw(st.sampled_from(NASTY)) + text[i:]
        elif op == "swap":
            text = text[j:] + text[:i] + text[i:j]
        elif op == "truncate":
            text = text[:i]
        else:
            text = text[:i] + text[i:j].upper() + text[j:]
    return text


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


documents = st.one_of(
    st.tuples(st.just(".txt"), mutated().map(_encode)),
    st.tuples(st.just(".txt"), st.text(max_size=3000).map(_encode)),
    st.tuples(st.just(".txt"), st.binary(max_size=3000)),
    st.tuples(st.just(".html"), mutated([HTML_SEED]).map(_encode)),
    st.tuples(st.just(".html"), st.binary(max_size=2000)),
    st.tuples(st.just(".pdf"), st.binary(max_size=2000).map(lambda b: b"%PDF-1.4\n" + b)),
)


@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=documents)
def test_hostile_documents_are_ingested_or_refused_cleanly(worker: Worker, document: tuple[str, bytes]) -> None:
    suffix, data = document
    outcome, detail, unchanged = worker.ingest("fuzzed" + suffix, data)
    assert outcome != "crash", detail
    if outcome == "refused":
        assert "fuzzed" + suffix in detail and len(detail) > len("fuzzed" + suffix) + 5, detail
        assert unchanged, f"a refused file changed the store: {detail}"
