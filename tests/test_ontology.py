"""The ontology as a published artefact: it parses, declares every term of the public vocabulary with labels and
comments in English and Spanish, carries its publishing metadata, keeps to OWL 2 DL typing, is documented as HTML,
and ``kg validate`` reports on it with the right exit code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from kg.docs import render_ontology_html, write_ontology_html
from kg.namespaces import DEC, ONTOLOGY_IRI, ONTOLOGY_VERSION_IRI, VANN
from kg.paths import ONTOLOGY_DIR, PROJECT_DIR
from kg.validate import declared_terms, run_checks

CORE = ONTOLOGY_DIR / "declarations.ttl"
ALL_TTL = sorted(ONTOLOGY_DIR.glob("*.ttl")) + sorted((ONTOLOGY_DIR / "reference").glob("*.ttl"))

# DESIGN.md's minimum vocabulary, with the kind each term must have.
MINIMUM_CLASSES = [
    "Declaration", "Clause", "Commitment", "Appeal", "Recognition", "Endorsement", "Actor", "State",
    "Organisation", "GroupOfStates", "PopulationGroup", "Right", "Forum", "Meeting", "ClauseLink",
]
MINIMUM_OBJECT_PROPERTIES = [
    "adoptedBy", "adoptedAt", "place", "partOf", "hasClause", "speechAct", "concernsRight", "rightHolder",
    "meetingOf", "refersTo", "mentions", "relatedClause", "source", "target",
]
MINIMUM_DATATYPE_PROPERTIES = ["sourceText", "position", "text", "score", "method", "start", "end"]
# docs/architecture.md's pipeline vocabulary.
PIPELINE_CLASSES = [
    "CommissiveAct", "DirectiveAct", "AssertiveAct", "SupportiveAct", "Evidence", "Place", "Topic",
    "SpeechActConcept",
]
PIPELINE_OBJECT_PROPERTIES = ["inCountry", "hasEvidence", "evidenceOf"]
PIPELINE_DATATYPE_PROPERTIES = ["surfaceForm", "unrecognisedAct", "isoCode", "quote"]
PIPELINE_ANNOTATION_PROPERTIES = ["property", "value"]


@pytest.fixture(scope="module")
def core() -> Graph:
    return Graph().parse(CORE, format="turtle")


@pytest.mark.parametrize("path", ALL_TTL, ids=[str(p.relative_to(ONTOLOGY_DIR)) for p in ALL_TTL])
def test_file_parses(path: Path) -> None:
    assert len(Graph().parse(path, format="turtle")) > 0


@pytest.mark.parametrize(
    ("names", "kind"),
    [
        (MINIMUM_CLASSES + PIPELINE_CLASSES, OWL.Class),
        (MINIMUM_OBJECT_PROPERTIES + PIPELINE_OBJECT_PROPERTIES, OWL.ObjectProperty),
        (MINIMUM_DATATYPE_PROPERTIES + PIPELINE_DATATYPE_PROPERTIES, OWL.DatatypeProperty),
        (PIPELINE_ANNOTATION_PROPERTIES, OWL.AnnotationProperty),
    ],
    ids=["classes", "object-properties", "datatype-properties", "annotation-properties"],
)
def test_public_vocabulary_declared(core: Graph, names: list[str], kind: URIRef) -> None:
    missing = [n for n in names if (DEC[n], RDF.type, kind) not in core]
    assert not missing, f"not declared as {kind}: {missing}"


def test_every_term_has_labels_and_comment(core: Graph) -> None:
    problems = []
    for term in declared_terms(core):
        languages = {lbl.language for lbl in core.objects(term, RDFS.label) if isinstance(lbl, Literal)}
        if not {"en", "es"} <= languages:
            problems.append(f"{term}: labels in {sorted(filter(None, languages))}")
        if core.value(term, RDFS.comment) is None:
            problems.append(f"{term}: no comment")
        if (term, RDFS.isDefinedBy, URIRef(ONTOLOGY_IRI)) not in core:
            problems.append(f"{term}: no rdfs:isDefinedBy")
    assert not problems
    assert len(declared_terms(core)) >= 50


def test_publishing_metadata(core: Graph) -> None:
    onto = URIRef(ONTOLOGY_IRI)
    assert (onto, RDF.type, OWL.Ontology) in core
    version_iri = core.value(onto, OWL.versionIRI)
    assert str(version_iri) == ONTOLOGY_VERSION_IRI
    assert str(version_iri) != ONTOLOGY_IRI
    for prop in (OWL.versionInfo, DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.creator,
                 DCTERMS.created, DCTERMS.issued):
        assert core.value(onto, prop) is not None, prop
    assert str(core.value(onto, VANN.preferredNamespacePrefix)) == "dec"
    assert str(core.value(onto, VANN.preferredNamespaceUri)) == str(DEC)
    assert {t.language for t in core.objects(onto, DCTERMS.title)} >= {"en", "es"}


def test_no_term_is_two_kinds_of_property(core: Graph) -> None:
    kinds = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    for term in set(core.subjects(RDF.type, None)):
        declared = [k for k in kinds if (term, RDF.type, k) in core]
        assert len(declared) <= 1, (term, declared)


def test_model_axioms(core: Graph) -> None:
    # inverses, functional properties, and kinds that are defined rather than asserted
    assert (DEC.partOf, OWL.inverseOf, DEC.hasClause) in core
    assert (DEC.evidenceOf, OWL.inverseOf, DEC.hasEvidence) in core
    for name in ("partOf", "position", "text", "sourceText", "start", "end", "quote", "source", "target"):
        assert (DEC[name], RDF.type, OWL.FunctionalProperty) in core, name
    for kind in ("Commitment", "Appeal", "Recognition", "Endorsement"):
        assert core.value(DEC[kind], OWL.equivalentClass) is not None, kind
        assert core.value(DEC[kind], RDFS.subClassOf) is None, f"{kind} is asserted, not defined"
    disjoint_sets = [set(Graph.items(core, m)) for m in core.objects(None, OWL.members)]
    assert any({DEC.State, DEC.Organisation} <= s for s in disjoint_sets)
    assert any({DEC.Declaration, DEC.Clause, DEC.Actor} <= s for s in disjoint_sets)
    # alignments
    assert (DEC.Declaration, RDFS.subClassOf, URIRef("http://purl.org/spar/fabio/PolicyDocument")) in core
    assert (DEC.adoptedBy, RDFS.subPropertyOf, URIRef("http://data.europa.eu/eli/ontology#passed_by")) in core
    assert (DEC.partOf, RDFS.subPropertyOf, DCTERMS.isPartOf) in core


def test_static_checks_pass_on_the_repository() -> None:
    # SHACL and HermiT over the repository are covered by test_shapes, test_reasoner and the kg validate test below.
    report = run_checks(only=["declared terms", "labels and metadata", "OWL 2 DL typing", "identity links"])
    failed = {c.name: c.lines for c in report.checks if not c.ok}
    assert report.ok, failed


def _copy_ontology(tmp_path: Path) -> Path:
    copy = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, copy)
    return copy


def test_undeclared_term_is_reported(tmp_path: Path) -> None:
    copy = _copy_ontology(tmp_path)
    (copy / "reference" / "zz-undeclared.ttl").write_text(
        "@prefix dec: <https://w3id.org/declarations/ontology#> .\n"
        "<https://w3id.org/declarations/id/declaration/x> dec:signedBy <https://w3id.org/declarations/id/state/x> .\n",
        encoding="utf-8",
    )
    report = run_checks(ontology_dir=copy, only=["declared terms", "OWL 2 DL typing"])
    check = report.check("declared terms")
    assert not check.ok
    assert any("dec:signedBy" in line and "zz-undeclared.ttl" in line for line in check.lines)
    assert not report.check("OWL 2 DL typing").ok


def test_missing_label_and_bad_syntax_are_reported(tmp_path: Path) -> None:
    copy = _copy_ontology(tmp_path)
    core = (copy / "declarations.ttl").read_text(encoding="utf-8")
    (copy / "declarations.ttl").write_text(core.replace('"Meeting"@en , "Reunión"@es', '"Meeting"@en'), encoding="utf-8")
    check = run_checks(ontology_dir=copy, only=["labels and metadata"]).check("labels and metadata")
    assert "dec:Meeting has no rdfs:label @es" in check.lines
    (copy / "topics.ttl").write_text("this is not turtle", encoding="utf-8")
    report = run_checks(ontology_dir=copy, only=["declared terms"])
    assert not report.ok
    assert report.check("declared terms").lines == ["not run: the sources do not parse"]
    assert any("topics.ttl does not parse" in line for line in report.check("files parse").lines)


def test_shared_identity_is_reported(tmp_path: Path) -> None:
    copy = _copy_ontology(tmp_path)
    (copy / "reference" / "zz-twin.ttl").write_text(
        "@prefix dec: <https://w3id.org/declarations/ontology#> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "<https://w3id.org/declarations/id/state/mexico-twin> a dec:State ; dec:isoCode \"MEX\" ;\n"
        "    owl:sameAs <http://www.wikidata.org/entity/Q96> .\n",
        encoding="utf-8",
    )
    check = run_checks(ontology_dir=copy, only=["identity links"]).check("identity links")
    assert not check.ok
    text = "\n".join(check.lines)
    assert "id:state/mexico-twin" in text and "dec:isoCode 'MEX'" in text


def _kg(*args: str) -> subprocess.CompletedProcess[str]:
    kg = Path(sys.executable).parent / "kg"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    return subprocess.run([str(kg), *args], capture_output=True, text=True, timeout=300, cwd=PROJECT_DIR, env=env)


@pytest.mark.java
@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java: install openjdk-17-jre-headless")
def test_kg_validate_exits_0_on_the_repository(tmp_path: Path) -> None:
    docs = tmp_path / "ontology.html"
    done = _kg("validate", "--docs", str(docs))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout
    assert re.search(r"HermiT ran over \d+ triples in [\d.]+ s", done.stdout)
    assert 'id="Declaration"' in docs.read_text(encoding="utf-8")


def test_kg_validate_exits_1_on_a_broken_copy(tmp_path: Path) -> None:
    copy = _copy_ontology(tmp_path)
    (copy / "reference" / "zz-broken.ttl").write_text(
        "@prefix dec: <https://w3id.org/declarations/ontology#> .\n"
        "<https://w3id.org/declarations/id/clause/x/1> a dec:Clause ; dec:positon 1 .\n",
        encoding="utf-8",
    )
    done = _kg("validate", "--skip-reasoner", "--ontology-dir", str(copy), "--check", "declared terms")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL declared terms" in done.stdout
    assert "dec:positon is used in reference/zz-broken.ttl but not declared" in done.stdout


def test_docs_page_documents_every_term(core: Graph, tmp_path: Path) -> None:
    html = render_ontology_html()
    for term in declared_terms(core):
        local = str(term)[len(str(DEC)):]
        assert f'id="{local}"' in html, local
        assert f"dec:{local}" in html
    assert "Migration topics" in html and "Speech acts of diplomatic texts" in html
    assert "fabio:PolicyDocument" in html and "eli:passed_by" in html  # alignments are shown
    assert "(dec:Clause and dec:speechAct some dec:CommissiveAct)" in html
    assert ONTOLOGY_VERSION_IRI in html
    assert "<code>cito:cites</code></a></td><td>owl:ObjectProperty" in html  # reused terms with their OWL kind
    written = write_ontology_html(tmp_path / "docs" / "ontology.html")
    assert written.read_text(encoding="utf-8") == html
