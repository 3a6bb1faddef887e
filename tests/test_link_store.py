"""The links graph in a real store: after kg build, after kg ingest (added, replaced), and kg link alone.

Each test that writes works on its own copy of the session's built store (``built_store``). Links graphs are
compared as sets of triples: they have no blank nodes, so set equality is graph equality."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.ingest import Pipeline, ingest_files
from kg.link import current_links
from kg.namespaces import CITO, DEC, ID_BASE, LINKS_GRAPH
from kg.paths import ONTOLOGY_DIR
from kg.store.oxigraph import OxigraphStore

LINKS_DIR = Path(__file__).parent / "corpus" / "links"
SEED = ID_BASE + "declaration/lac-2010-migration-communique"
QUITO_KEY = "quito-declaration-of-the-andean-ministers-on-migrant-workers-and-their-families-2011"
QUITO = ID_BASE + "declaration/" + QUITO_KEY
PREFIXES = """PREFIX dec: <https://w3id.org/declarations/ontology#>
PREFIX cito: <http://purl.org/spar/cito/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
RECALL = """JOINT COMMUNIQUÉ OF THE MINISTERS ON MIGRANT FAMILIES

Santiago, 3 April 2012

We, the Ministers of Foreign Affairs, meeting in Santiago:

1. We recall the Special Communiqué on Cooperation on Migration Issues adopted at the Mayan Riviera in 2010.

2. We commit to promote the reunification of migrant families and to combat discrimination against migrants.
"""
RECALL_KEY = "joint-communique-of-the-ministers-on-migrant-families-2012"


def kg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def store_dir(built_store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(built_store, target)
    return target


def ask(store: OxigraphStore, query: str) -> bool:
    return bool(store.query(PREFIXES + query))


def links_of(path: Path) -> set[ox.Triple]:
    with OxigraphStore(path, read_only=True) as st:
        return set(current_links(st))


def touching(triples: set[ox.Triple], key: str) -> set[ox.Triple]:
    """Triples that touch declaration ``key``: its IRI, its clauses, or a clause link of one of its clauses."""
    decl, clause = ID_BASE + "declaration/" + key, ID_BASE + f"clause/{key}/"

    def hit(term: object) -> bool:
        return isinstance(term, ox.NamedNode) and (term.value == decl or term.value.startswith(clause))

    nodes = {t.subject for t in triples if t.predicate.value in (str(DEC.source), str(DEC.target)) and hit(t.object)}
    return {t for t in triples if hit(t.subject) or hit(t.object) or t.subject in nodes}


# -- after a build ---------------------------------------------------------------------------------------------


def test_build_links_the_seed(built_store: Path) -> None:
    with OxigraphStore(built_store, read_only=True) as st:
        assert LINKS_GRAPH in st.graph_names()
        lima = f"{ID_BASE}declaration/lima-declaration-2008"
        assert ask(st, f"ASK {{ GRAPH <{LINKS_GRAPH}> {{ <{SEED}> cito:cites <{lima}> }} }}")
        assert ask(st, f"ASK {{ <{ID_BASE}clause/lac-2010-migration-communique/12> dec:refersTo "
                       f"<{ID_BASE}declaration/lima-declaration-2008> }}")
        # the seed's clause on smuggling, trafficking and consular protection anticipates GCM objectives 9, 10, 14
        rows = st.query(PREFIXES + f"""SELECT ?n ?score WHERE {{ GRAPH <{LINKS_GRAPH}> {{
            ?l a dec:ClauseLink ; dec:source <{ID_BASE}clause/lac-2010-migration-communique/10> ;
               dec:target ?o ; dec:score ?score ; dec:method "combined" .
            <{ID_BASE}clause/lac-2010-migration-communique/10> dec:relatedClause ?o . ?o dec:relatedClause
            <{ID_BASE}clause/lac-2010-migration-communique/10> . }}
            ?o dec:partOf <{ID_BASE}declaration/gcm-2018> ; dec:position ?n . }}""")
        found = {int(r["n"].value): float(r["score"].value) for r in rows}
        assert {9, 10, 14} <= set(found), found
        assert all(0.0 <= s <= 1.0 for s in found.values())


def test_links_graph_satisfies_the_shapes(built_store: Path) -> None:
    with OxigraphStore(built_store, read_only=True) as st:
        links = current_links(st)
        pipeline = Pipeline(ONTOLOGY_DIR)
        seed_graph = [q for q in st.raw.quads_for_pattern(None, None, None, ox.NamedNode(
            "https://w3id.org/declarations/graph/declaration/lac-2010-migration-communique"))]
        # the shapes see the links with the seed's graph (the clauses they join), over the context
        pipeline.check([ox.Quad(t.subject, t.predicate, t.object) for t in links] + seed_graph, name="links")


def test_entity_links_are_in_the_store(built_store: Path) -> None:
    with OxigraphStore(built_store, read_only=True) as st:
        wikidata, geonames = "'http://www.wikidata.org/entity/Q'", "'http://sws.geonames.org/'"
        assert ask(st, f"ASK {{ <{ID_BASE}state/mexico> owl:sameAs ?w FILTER STRSTARTS(STR(?w), {wikidata}) }}")
        assert ask(st, f"ASK {{ <{ID_BASE}organisation/iom> owl:sameAs ?w FILTER STRSTARTS(STR(?w), {wikidata}) }}")
        assert ask(st, f"ASK {{ <{ID_BASE}place/lima> owl:sameAs ?g FILTER STRSTARTS(STR(?g), {geonames}) }}")
        assert ask(st, f"ASK {{ <{ID_BASE}topic/remittances> skos:exactMatch|skos:closeMatch ?u "
                       "FILTER STRSTARTS(STR(?u), 'http://metadata.un.org/thesaurus/') }")
        assert ask(st, f"ASK {{ <{ID_BASE}topic/migration> skos:exactMatch|skos:closeMatch ?e "
                       "FILTER STRSTARTS(STR(?e), 'http://eurovoc.europa.eu/') }")
        # from a clause of the seed to Wikidata through what it mentions
        assert ask(st, "ASK { ?c dec:partOf <" + SEED + "> ; dec:mentions ?m . ?m owl:sameAs ?w "
                       "FILTER STRSTARTS(STR(?w), 'http://www.wikidata.org/entity/') }")


# -- kg ingest ---------------------------------------------------------------------------------------------------


def test_ingested_text_recalling_the_seed_cites_it_at_once(store_dir: Path, tmp_path: Path) -> None:
    text = tmp_path / "recall.txt"
    text.write_text(RECALL, encoding="utf-8")
    before = links_of(store_dir)
    out = kg("ingest", "--store", str(store_dir), str(text))
    assert out.returncode == 0, out.stderr
    after = links_of(store_dir)
    recall = ID_BASE + "declaration/" + RECALL_KEY
    assert ox.Triple(ox.NamedNode(recall), ox.NamedNode(str(CITO.cites)), ox.NamedNode(SEED)) in after
    assert ox.Triple(ox.NamedNode(ID_BASE + f"clause/{RECALL_KEY}/1"), ox.NamedNode(str(DEC.refersTo)),
                     ox.NamedNode(SEED)) in after
    # its clause on family reunification and discrimination is related to the seed's clause 6
    assert ox.Triple(ox.NamedNode(ID_BASE + "clause/lac-2010-migration-communique/6"),
                     ox.NamedNode(str(DEC.relatedClause)), ox.NamedNode(ID_BASE + f"clause/{RECALL_KEY}/2")) in after
    # nothing that does not touch the new declaration changed
    assert before <= after
    assert after - before == touching(after, RECALL_KEY)


def test_reingest_replaces_links_without_duplicates(store_dir: Path, tmp_path: Path) -> None:
    text = tmp_path / "recall.txt"
    text.write_text(RECALL, encoding="utf-8")
    assert kg("ingest", "--store", str(store_dir), str(text)).returncode == 0
    first = links_of(store_dir)
    out = kg("ingest", "--store", str(store_dir), str(text))
    assert out.returncode == 0 and "replaced" in out.stdout, out.stdout + out.stderr
    assert links_of(store_dir) == first
    # one clause link per pair of clauses
    pairs = {}
    for t in first:
        if t.predicate.value in (str(DEC.source), str(DEC.target)):
            pairs.setdefault(t.subject, []).append(t.object)
    keys = [tuple(sorted(o.value for o in objs)) for objs in pairs.values()]
    assert len(keys) == len(set(keys)) and all(len(k) == 2 for k in keys)
    # replaced by a version that no longer recalls the seed: the citation goes, the rest of the graph stays
    text.write_text(RECALL.replace("We recall the Special Communiqué on Cooperation on Migration Issues adopted at "
                                   "the Mayan Riviera in 2010.", "We thank the hosts."), encoding="utf-8")
    assert kg("ingest", "--store", str(store_dir), str(text)).returncode == 0
    after = links_of(store_dir)
    recall = ox.NamedNode(ID_BASE + "declaration/" + RECALL_KEY)
    assert not any(t.subject == recall and t.predicate.value == str(CITO.cites) for t in after)
    assert first - touching(first, RECALL_KEY) == after - touching(after, RECALL_KEY)


def test_links_only_change_for_affected_declarations(store_dir: Path) -> None:
    with OxigraphStore(store_dir) as st:
        pipeline = Pipeline()
        report = ingest_files(st, sorted(LINKS_DIR.glob("*.txt")), pipeline=pipeline)
        assert report.ok, report.failed
        before = set(current_links(st))
        # the test declarations cite the seed and share the GFMD with it and each other
        assert ox.Triple(ox.NamedNode(QUITO), ox.NamedNode(str(CITO.cites)), ox.NamedNode(SEED)) in before
        assert ox.Triple(ox.NamedNode(QUITO), ox.NamedNode(str(DEC.sharesForumWith)), ox.NamedNode(SEED)) in before
        # re-ingest one of them with an added clause: only triples touching it may change
        quito_text = (LINKS_DIR / "quito-andean-ministers-2011.txt").read_text(encoding="utf-8")
        edited = Path(st.path).parent / "quito.txt"
        edited.write_text(quito_text + "\n8. Commit to make social security benefits portable for migrant workers.\n",
                          encoding="utf-8")
        report = ingest_files(st, [edited], pipeline=pipeline)
        assert report.ok and report.files[0].replaced and report.files[0].key == QUITO_KEY, report.files
        after = set(current_links(st))
    assert before - touching(before, QUITO_KEY) == after - touching(after, QUITO_KEY)
    assert touching(after, QUITO_KEY) != touching(before, QUITO_KEY)
    new_clause = ox.NamedNode(ID_BASE + f"clause/{QUITO_KEY}/8")
    assert any(t.subject == new_clause and t.predicate.value == str(DEC.relatedClause) for t in after)


def test_kg_link_rebuilds_the_links_graph_alone(store_dir: Path) -> None:
    with OxigraphStore(store_dir) as st:
        report = ingest_files(st, sorted(LINKS_DIR.glob("*.txt")))
        assert report.ok
        declarations_before = {g for g in st.graph_names() if g != LINKS_GRAPH}
    incremental = links_of(store_dir)
    out = kg("link", "--store", str(store_dir))
    assert out.returncode == 0, out.stderr
    assert "triples in graph/links" in out.stdout
    rebuilt = links_of(store_dir)
    # citations and shared forums do not depend on word frequencies: the same either way
    structural = {str(CITO.cites), str(DEC.sharesForumWith), str(DEC.refersTo)}
    assert {t for t in rebuilt if t.predicate.value in structural} == {
        t for t in incremental if t.predicate.value in structural}
    out = kg("link", "--store", str(store_dir))
    assert out.returncode == 0
    assert links_of(store_dir) == rebuilt  # deterministic
    with OxigraphStore(store_dir, read_only=True) as st:
        assert {g for g in st.graph_names() if g != LINKS_GRAPH} == declarations_before


def test_kg_link_refuses_a_bad_threshold(store_dir: Path) -> None:
    out = kg("link", "--store", str(store_dir), "--threshold", "1.5")
    assert out.returncode != 0


def test_declarations_written_together_link_as_if_one_by_one(built_store: Path, tmp_path: Path) -> None:
    """Several declarations (and their links) per transaction give the store one transaction each gives."""
    files = sorted(LINKS_DIR.glob("*.txt"))
    results = []
    for per_transaction in (1, len(files)):
        target = tmp_path / f"store-{per_transaction}"
        shutil.copytree(built_store, target)
        with OxigraphStore(target) as st:
            report = ingest_files(st, files, per_transaction=per_transaction)
            assert report.ok, report.failed
            results.append(set(st.raw))
    assert results[0] == results[1]


def test_links_graph_stays_consistent_after_replacements(store_dir: Path, tmp_path: Path) -> None:
    """Every clause link has its two ends in the store and both dec:relatedClause shortcuts, and no shortcut is
    left without its link, after ingests, a replacement with fewer clauses and the cap."""
    text = tmp_path / "recall.txt"
    text.write_text(RECALL, encoding="utf-8")
    with OxigraphStore(store_dir) as st:
        assert ingest_files(st, [*sorted(LINKS_DIR.glob("*.txt")), text], link_max_per_clause=3).ok
        text.write_text(RECALL.split("\n2.")[0] + "\n", encoding="utf-8")  # clause 2 goes
        assert ingest_files(st, [text], link_max_per_clause=3).ok
        links = set(current_links(st))
        clauses = {r["c"].value for r in st.query(PREFIXES + "SELECT ?c WHERE { ?c a dec:Clause }")}
    ends: dict[ox.NamedNode, dict[str, str]] = {}
    for t in links:
        if t.predicate.value in (str(DEC.source), str(DEC.target)):
            ends.setdefault(t.subject, {})[t.predicate.value] = t.object.value
    assert ends and all(len(e) == 2 and set(e.values()) <= clauses for e in ends.values())
    related = {(t.subject.value, t.object.value) for t in links if t.predicate.value == str(DEC.relatedClause)}
    expected = {pair for e in ends.values() for pair in ((e[str(DEC.source)], e[str(DEC.target)]),
                                                        (e[str(DEC.target)], e[str(DEC.source)]))}
    assert related == expected
    assert not any(t.subject.value.endswith(f"{RECALL_KEY}/2") or t.object.value.endswith(f"{RECALL_KEY}/2")
                   for t in links)
    # each clause of the last ingested declaration chose at most 3 related clauses
    mine = [p for p in related if RECALL_KEY in p[0]]
    assert mine and max(sum(1 for p in mine if p[0] == c) for c, _ in mine) <= 3
