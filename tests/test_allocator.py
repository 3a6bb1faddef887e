"""``kg serve`` with jemalloc (``KG_ALLOCATOR``): the real command as a subprocess, its process and its query
workers inspected through ``/proc/<pid>/maps``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from api import server as api_server
from helpers.virtuoso import free_port
from kg.errors import BadInput
from kg.settings import Settings

needs_jemalloc = pytest.mark.skipif(
    api_server.jemalloc_library() is None,
    reason="jemalloc is not installed (Debian: apt-get install libjemalloc2; .ci/run installs it)",
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _maps_jemalloc(pid: int) -> bool:
    return "libjemalloc" in Path(f"/proc/{pid}/maps").read_text()


@contextmanager
def _kg_serve(store: Path, allocator: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", api_server.ALLOCATOR_MARK)}
    env["KG_ALLOCATOR"] = allocator
    process = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--store", str(store), "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            try:
                if httpx.get(base + "/sparql", params={"query": "ASK {}"}, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "kg serve did not start in 90 s"
            time.sleep(0.2)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=30)


@needs_jemalloc
def test_kg_serve_runs_itself_and_its_workers_on_jemalloc(built_store: Path) -> None:
    with _kg_serve(built_store, "auto") as (process, base):
        # The restart with the allocator preloaded keeps the PID the caller knows.
        assert _maps_jemalloc(process.pid)
        workers = [pid for pid in _children(process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) >= 2, workers
        assert all(_maps_jemalloc(pid) for pid in workers)
        answer = httpx.get(base + "/api/declaration", params={"declaration": "lac-2010-migration-communique"})
        assert answer.status_code == 200 and answer.json()["total"] >= 10


def test_kg_serve_with_the_system_allocator_preloads_nothing(built_store: Path) -> None:
    with _kg_serve(built_store, "system") as (process, base):
        assert not _maps_jemalloc(process.pid)
        assert all(not _maps_jemalloc(pid) for pid in _children(process.pid))
        assert httpx.get(base + "/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True


def test_jemalloc_required_but_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(api_server.ALLOCATOR_MARK, raising=False)
    monkeypatch.setattr(api_server, "jemalloc_library", lambda: None)
    with pytest.raises(BadInput, match="libjemalloc2"):
        api_server.use_allocator(Settings(allocator="jemalloc"))
    api_server.use_allocator(Settings(allocator="auto"))  # returns: serves with the system allocator


def test_an_unknown_allocator_is_refused() -> None:
    with pytest.raises(ValueError, match="allocator"):
        Settings(allocator="tcmalloc")
