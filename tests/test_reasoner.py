"""HermiT (through owlready2) over the ontology, the schemes and the reference data: consistent, no unsatisfiable
class, and the kinds of sample clauses inferred from their speech acts. Needs Java; skipped without it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.errors import ReasonerUnavailable
from kg.namespaces import DEC, ID_BASE
from kg.paths import ONTOLOGY_DIR
from kg.reason import java_executable, reason

_skip_without_java = pytest.mark.skipif(
    shutil.which("java") is None, reason="HermiT needs Java: install openjdk-17-jre-headless"
)


def needs_java(test):  # type: ignore[no-untyped-def]
    """Mark a test as needing Java (``-m java`` selects them) and skip it, naming the package, without Java."""
    return pytest.mark.java(_skip_without_java(test))

SA = ID_BASE + "speech-act/"
SAMPLE = ID_BASE + "clause/reasoner-sample/"
SPEECH_ACTS = ONTOLOGY_DIR / "speech-acts.ttl"


def _act(lemma: str, family: URIRef, own: Graph) -> URIRef:
    """The scheme's concept for ``lemma`` when ontology/speech-acts.ttl has it, else a sample concept of ``family``."""
    iri = URIRef(SA + lemma)
    if SPEECH_ACTS.is_file() and (iri, RDF.type, family) in Graph().parse(SPEECH_ACTS):
        return iri
    own_iri = URIRef(SA + "reasoner-sample-" + lemma)
    own.add((own_iri, RDF.type, family))
    return own_iri


@pytest.fixture(scope="module")
def sample() -> tuple[Graph, dict[str, URIRef]]:
    """A declaration whose clauses have: commit; call for; commit and call for; recognise; welcome; no act."""
    graph = Graph()
    acts = {
        "commit": _act("commit", DEC.CommissiveAct, graph),
        "call-for": _act("call-for", DEC.DirectiveAct, graph),
        "recognise": _act("recognise", DEC.AssertiveAct, graph),
        "welcome": _act("welcome", DEC.SupportiveAct, graph),
    }
    declaration = URIRef(ID_BASE + "declaration/reasoner-sample")
    graph.add((declaration, RDF.type, DEC.Declaration))
    clauses = {
        "commit": ["commit"],
        "call-for": ["call-for"],
        "commit-and-call-for": ["commit", "call-for"],
        "recognise": ["recognise"],
        "welcome": ["welcome"],
        "no-act": [],
        "untyped-commit": ["commit"],  # not typed dec:Clause: it is one by the domain of dec:partOf
    }
    iris = {}
    for position, (name, names) in enumerate(clauses.items(), start=1):
        clause = URIRef(SAMPLE + str(position))
        iris[name] = clause
        if not name.startswith("untyped"):
            graph.add((clause, RDF.type, DEC.Clause))
        graph.add((clause, DEC.partOf, declaration))
        for act in names:
            graph.add((clause, DEC.speechAct, acts[act]))
    return graph, iris


@pytest.fixture(scope="module")
def result(sample: tuple[Graph, dict[str, URIRef]]):
    if shutil.which("java") is None:
        pytest.skip("HermiT needs Java: install openjdk-17-jre-headless")
    return reason(sample[0])


@needs_java
def test_consistent_with_all_reference_data(result) -> None:
    assert result.consistent
    assert result.triples > 1000  # the schemes and the reference data were in it, not only the ontology
    print(f"HermiT: {result.triples} triples in {result.seconds:.2f} s")


@needs_java
def test_no_unsatisfiable_class(result) -> None:
    assert result.unsatisfiable == ()


@needs_java
@pytest.mark.parametrize(
    ("clause", "kinds"),
    [
        ("commit", {"Commitment"}),
        ("call-for", {"Appeal"}),
        ("commit-and-call-for", {"Commitment", "Appeal"}),
        ("recognise", {"Recognition"}),
        ("welcome", {"Endorsement"}),
        ("no-act", set()),
        ("untyped-commit", {"Commitment"}),
    ],
)
def test_kinds_inferred_from_speech_acts(result, sample, clause: str, kinds: set[str]) -> None:
    iri = str(sample[1][clause])
    assert result.kinds[iri] == frozenset(str(DEC[k]) for k in kinds)


@needs_java
def test_inferred_graph_holds_the_kinds(result, sample) -> None:
    inferred = result.inferred_graph()
    assert (sample[1]["commit"], RDF.type, DEC.Commitment) in inferred
    assert (sample[1]["no-act"], RDF.type, DEC.Commitment) not in inferred


@needs_java
def test_gcm_objectives_are_commitments(result) -> None:
    """The reference data's 23 objectives of the Global Compact are clauses; each is a commitment."""
    gcm = {iri: kinds for iri, kinds in result.kinds.items() if iri.startswith(ID_BASE + "clause/gcm-2018/")}
    assert len(gcm) == 23
    assert all(str(DEC.Commitment) in kinds for kinds in gcm.values())


@needs_java
def test_disjoint_types_make_it_inconsistent() -> None:
    """The check can fail: a state that is also an organisation contradicts the ontology."""
    thing = URIRef(ID_BASE + "state/reasoner-sample")
    extra = Graph()
    extra.add((thing, RDF.type, DEC.State))
    extra.add((thing, RDF.type, DEC.Organisation))
    assert not reason(extra, include_reference=False).consistent


@needs_java
def test_inconsistent_copy_fails_kg_validate(tmp_path: Path) -> None:
    from kg.validate import run_checks

    copy = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, copy)
    (copy / "reference").mkdir(exist_ok=True)
    (copy / "reference" / "zz-contradiction.ttl").write_text(
        "@prefix dec: <https://w3id.org/declarations/ontology#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "<https://w3id.org/declarations/id/state/both> a dec:State , dec:Organisation ;\n"
        '    skos:prefLabel "Both"@en ; dec:isoCode "XBO" .\n',
        encoding="utf-8",
    )
    check = run_checks(ontology_dir=copy, only=["HermiT"]).check("HermiT")
    assert not check.ok
    assert any("INCONSISTENT" in line for line in check.lines), check.lines


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReasonerUnavailable, match="openjdk-17-jre-headless"):
        java_executable()
    with pytest.raises(ReasonerUnavailable, match="Java"):
        reason()


KIND_CLASSES = {DEC.Commitment, DEC.Appeal, DEC.Recognition, DEC.Endorsement}


@needs_java
def test_materialised_kinds_agree_with_hermit() -> None:
    """The kinds the pipeline writes for the seed (from the scheme, in Python) are exactly those HermiT infers from
    the ontology's definitions when the materialised kind triples are taken away."""
    from kg.extract import extract_declaration
    from kg.paths import CORPUS_DIR
    from kg.rdf import declaration_triples, to_rdflib

    text = (CORPUS_DIR / "lac-2010-migration-communique.txt").read_text(encoding="utf-8")
    graph = to_rdflib(declaration_triples(extract_declaration(text, key="lac-2010-migration-communique")))
    materialised: dict[str, frozenset[str]] = {}
    for clause in graph.subjects(RDF.type, DEC.Clause):
        materialised[str(clause)] = frozenset(str(k) for k in graph.objects(clause, RDF.type) if k in KIND_CLASSES)
    assert len(materialised) == 13
    assert any(materialised.values()), "the seed's clauses should carry materialised kinds"
    for kind in KIND_CLASSES:
        graph.remove((None, RDF.type, kind))

    inferred = reason(graph).kinds
    assert {iri: inferred.get(iri, frozenset()) for iri in materialised} == materialised
