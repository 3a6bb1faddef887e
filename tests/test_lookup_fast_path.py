"""Lookups answered by index probes in the server process (no worker hop): the ``/id`` existence check and the
REST resolution of a key or IRI; and the store generation they (and the workers) are reopened on.

The probes must say what the queries they replace say, follow a write to the store (a new generation), and give
way to the queries when the engine has no local store (the remote path, here a :class:`StoreEngine` over an
embedded store, as a remote store would be served).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

import api.app
import api.workers as workers
from api.app import create_app
from api.describe import mentions
from api.routers.rest import typed_resources
from api.workers import StoreEngine, WorkerPool, store_generation
from kg.namespaces import GRAPH_BASE, ID_BASE, PREFIXES
from kg.settings import Settings
from kg.store.oxigraph import OxigraphStore

DEC = PREFIXES["dec"]
RDF_TYPE = ox.NamedNode(PREFIXES["rdf"] + "type")
GRAPH = ox.NamedNode(GRAPH_BASE + "declaration/probe-test")


def _clause_quads(key: str) -> list[ox.Quad]:
    """A clause of the test declaration with one piece of evidence (what ``/api/evidence`` reads)."""
    clause = ox.NamedNode(ID_BASE + "clause/" + key)
    evidence = ox.NamedNode(ID_BASE + "evidence/" + key.replace("/", "-"))
    declaration = ox.NamedNode(ID_BASE + "declaration/probe-test")
    return [
        ox.Quad(clause, RDF_TYPE, ox.NamedNode(DEC + "Clause"), GRAPH),
        ox.Quad(clause, ox.NamedNode(DEC + "partOf"), declaration, GRAPH),
        ox.Quad(evidence, ox.NamedNode(DEC + "evidenceOf"), clause, GRAPH),
        ox.Quad(evidence, ox.NamedNode(DEC + "property"), ox.NamedNode(DEC + "refersTo"), GRAPH),
        ox.Quad(evidence, ox.NamedNode(DEC + "value"), ox.NamedNode(ID_BASE + "topic/migration"), GRAPH),
        ox.Quad(evidence, ox.NamedNode(DEC + "quote"), ox.Literal("migration"), GRAPH),
    ]


def _write(path: Path, quads: list[ox.Quad]) -> None:
    store = ox.Store(str(path))
    store.extend(quads)
    store.flush()
    del store
    gc.collect()


@pytest.fixture()
def small_store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    _write(path, _clause_quads("probe-test/1"))
    return path


def _record_queries(monkeypatch: pytest.MonkeyPatch, engine: type, method: str) -> list[str]:
    """Record the query texts ``engine.method(job)`` is given (WorkerPool.execute, StoreEngine._serialise)."""
    jobs: list[str] = []
    original = getattr(engine, method)

    def recording(self: Any, job: Any) -> Any:
        jobs.append(job.query)
        return original(self, job)

    monkeypatch.setattr(engine, method, recording)
    return jobs


def test_probes_answer_as_the_queries(built_store: Path) -> None:
    """``mentions`` and ``typed_resources`` agree with the SPARQL they replace, over the built store."""
    store = ox.Store.read_only(str(built_store))
    iris = [s["s"].value for s in store.query(  # type: ignore[index,union-attr]
        "SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?s)) } LIMIT 300")]
    iris += [ID_BASE + "clause/no-such/1", ID_BASE + "declaration/no-such", PREFIXES["skos"] + "Concept"]
    for iri in iris:
        asked = store.query(f"ASK {{ {{ <{iri}> ?p ?x }} UNION {{ ?x ?p <{iri}> }} }}",
                            use_default_graph_as_union=True)
        assert mentions(store, iri) is bool(asked), iri
    classes = (DEC + "Clause", DEC + "Declaration")
    candidates = [ox.NamedNode(i) for i in iris]
    expected = sorted({r["r"].value for r in store.query(  # type: ignore[index,union-attr]
        "SELECT DISTINCT ?r WHERE { VALUES ?c { <%s> <%s> } ?r a ?c }" % classes, use_default_graph_as_union=True)}
        & set(iris))
    assert expected, "the sample holds clauses or declarations"
    assert typed_resources(store, candidates, classes) == expected


def test_fast_path_follows_the_store_generation(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``/id`` and REST key resolution need no worker; after a write they answer for the new content, and an
    unknown IRI or key is still 404."""
    jobs = _record_queries(monkeypatch, WorkerPool, "execute")
    app = create_app(Settings(store=str(small_store), workers=1, query_timeout=10))
    with TestClient(app) as http:
        assert http.get("/id/clause/probe-test/1", headers={"accept": "text/turtle"},
                        follow_redirects=False).status_code == 303
        assert jobs == [], "the existence check ran a query"
        missing = http.get("/id/clause/probe-test/2", headers={"accept": "text/turtle"}, follow_redirects=False)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert http.get("/api/evidence", params={"clause": "probe-test/2"}).status_code == 404
        before = len(jobs)
        found = http.get("/api/evidence", params={"clause": "probe-test/1"})
        assert found.status_code == 200 and found.json()["total"] == 1
        assert len(jobs) == before + 1, "resolving the key ran a query (only the operation should)"
        document = http.get("/doc/declaration/probe-test.ttl")
        assert document.status_code == 200 and b"probe-test/1" in document.content
        assert b"probe-test/2" not in document.content
        assert http.get("/doc/declaration/probe-test.ttl").content == document.content  # kept, the same
        generation = app.state.query_service.engine.generation()

        _write(small_store, _clause_quads("probe-test/2"))
        assert app.state.query_service.engine.generation() != generation
        # The kept document of the old generation is not served (the first request after the write): the new
        # clause is in it.
        assert b"probe-test/2" in http.get("/doc/declaration/probe-test.ttl").content
        assert http.get("/id/clause/probe-test/2", headers={"accept": "text/turtle"},
                        follow_redirects=False).status_code == 303
        evidence = http.get("/api/evidence", params={"clause": "probe-test/2"})
        assert evidence.status_code == 200 and evidence.json()["items"][0]["quote"] == "migration"
        assert http.get("/doc/clause/probe-test/2.ttl").status_code == 200
        assert http.get("/id/clause/probe-test/3", follow_redirects=False).status_code == 404


def test_remote_engine_answers_by_queries(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine without a local store (the remote path) has no probe handle; the lookups run as queries and
    answer the same."""
    monkeypatch.setattr(api.app, "make_engine",
                        lambda settings: StoreEngine(OxigraphStore(settings.store, read_only=True), timeout=10))
    seen = _record_queries(monkeypatch, StoreEngine, "_serialise")
    app = create_app(Settings(store=str(small_store), workers=1, query_timeout=10))
    with TestClient(app) as http:
        assert http.get("/id/clause/probe-test/1", headers={"accept": "text/turtle"},
                        follow_redirects=False).status_code == 303
        assert len(seen) == 1 and "UNION" in seen[0], "the existence check is a query on the remote path"
        assert http.get("/id/clause/probe-test/2", follow_redirects=False).status_code == 404
        answer = http.get("/api/evidence", params={"clause": "probe-test/1"})
        assert answer.status_code == 200 and answer.json()["total"] == 1
        assert http.get("/api/evidence", params={"clause": "probe-test/2"}).status_code == 404


def test_generation_changes_with_every_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fingerprint changes on each write, also once the folder's listing is kept (a settled folder)."""
    path = tmp_path / "store"
    assert store_generation(path) == "missing"
    _write(path, _clause_quads("gen/1"))
    seen = {store_generation(path)}
    monkeypatch.setattr(workers, "_SETTLED_NS", 0)  # keep the listing at once
    for n in range(2, 5):
        first = store_generation(path)
        assert store_generation(path) == first  # nothing written: the same
        assert str(path) in workers._LISTINGS  # the listing is kept
        _write(path, _clause_quads(f"gen/{n}"))
        after = store_generation(path)
        assert after not in seen and after != first
        seen.add(after)
    # A recently changed folder is listed afresh on every call (its time may be coarser than the writes).
    monkeypatch.setattr(workers, "_SETTLED_NS", 3600 * 10**9)
    fresh = store_generation(path)
    assert str(path) not in workers._LISTINGS
    _write(path, _clause_quads("gen/5"))
    assert store_generation(path) != fresh
