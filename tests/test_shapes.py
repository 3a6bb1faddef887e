"""SHACL shapes: they hold on the schemes, the reference data and a small valid declaration, and every broken example
in ``tests/shapes_cases/`` fails with the message its header names.

A case file starts with comment lines ``# expect-message: <text>`` (a part of the message a user must see) and,
optionally, ``# expect-path: <prefixed name>`` (the property the result is about).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kg.paths import ONTOLOGY_DIR
from kg.reason import load_graph, ontology_sources
from kg.validate import ShapeResult, run_checks, validate_shapes

CASES_DIR = Path(__file__).parent / "shapes_cases"
CASES = sorted(CASES_DIR.glob("*.ttl"))

# A declaration as the pipeline makes it: source text, clauses with offsets, speech acts and a topic from the
# schemes, a mention with its evidence, and a clause link. Offsets: clause 1 is 0..43, clause 2 is 44..77.
VALID_DECLARATION = """
@prefix dec: <https://w3id.org/declarations/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix d: <https://w3id.org/declarations/id/declaration/> .
@prefix c: <https://w3id.org/declarations/id/clause/shapes-sample/> .
@prefix e: <https://w3id.org/declarations/id/evidence/shapes-sample/> .
@prefix sa: <https://w3id.org/declarations/id/speech-act/> .
@prefix topic: <https://w3id.org/declarations/id/topic/> .

d:shapes-sample a dec:Declaration ;
    dcterms:title "A sample declaration"@en , "Una declaración de ejemplo"@es ;
    dcterms:date "2010-02-23"^^xsd:date ;
    dec:adoptedBy <https://w3id.org/declarations/id/state/testland> ;
    dec:sourceText "We recognise the importance of remittances.\\nWe call for dialogue with Testland." ;
    dec:hasClause c:1 , c:2 .

c:1 a dec:Clause ; dec:partOf d:shapes-sample ; dec:position 1 ; dec:label "1." ; dec:section "operative" ;
    dec:text "We recognise the importance of remittances." ; dec:start 0 ; dec:end 43 ;
    dec:speechAct sa:recognise ; dcterms:subject topic:remittances ;
    dec:hasEvidence e:1 .
c:2 a dec:Clause ; dec:partOf d:shapes-sample ; dec:position 2 ;
    dec:text "We call for dialogue with Testland." ; dec:start 44 ; dec:end 79 ;
    dec:speechAct sa:call-for ; dec:mentions <https://w3id.org/declarations/id/state/testland> ;
    dec:unrecognisedAct "ponder" .

e:1 a dec:Evidence ; dec:evidenceOf c:1 ; dec:property dcterms:subject ; dec:value topic:remittances ;
    dec:start 31 ; dec:end 42 ; dec:quote "remittances" .
e:2 a dec:Evidence ; dec:evidenceOf c:2 ; dec:property dec:mentions ;
    dec:value <https://w3id.org/declarations/id/state/testland> ; dec:start 70 ; dec:end 78 ; dec:quote "Testland" .
e:3 a dec:Evidence ; dec:evidenceOf d:shapes-sample ; dec:property dcterms:date ; dec:value "2010-02-23"^^xsd:date ;
    dec:start 0 ; dec:end 0 .

<https://w3id.org/declarations/id/state/testland> a dec:State ; skos:prefLabel "Testland"@en ; dec:isoCode "XTL" .

<https://w3id.org/declarations/id/clause-link/shapes-sample-1-2> a dec:ClauseLink ;
    dec:source c:1 ; dec:target c:2 ; dec:score "0.5"^^xsd:double ; dec:method "lexical" .
c:1 dec:relatedClause c:2 .
"""


def _expectations(path: Path) -> tuple[str, str | None]:
    message, prop = None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect-message:"):
            message = line.split(":", 1)[1].strip()
        elif line.startswith("# expect-path:"):
            prop = line.split(":", 1)[1].strip()
    assert message, f"{path.name} has no '# expect-message:' line"
    return message, prop


def _describe(results: list[ShapeResult]) -> str:
    return "\n".join(f"  {r.focus} {r.path}: {r.message}" for r in results)


def test_valid_declaration_conforms() -> None:
    data = Graph().parse(data=VALID_DECLARATION, format="turtle")
    text = str(next(iter(data.objects(None, next(p for p in data.predicates() if str(p).endswith("#sourceText"))))))
    assert text[44:79] == "We call for dialogue with Testland."  # the offsets in the sample are right
    assert text[70:78] == "Testland"
    conforms, results = validate_shapes(data)
    assert conforms, _describe(results)


def test_schemes_and_reference_data_conform() -> None:
    data = load_graph(ontology_sources(ONTOLOGY_DIR))
    conforms, results = validate_shapes(data, with_ontology=False)
    assert conforms, _describe(results)


def test_there_are_broken_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_broken_case_fails_with_its_message(case: Path) -> None:
    expected_message, expected_path = _expectations(case)
    data = Graph().parse(case, format="turtle")
    conforms, results = validate_shapes(data)
    assert not conforms, f"{case.name} should not conform"
    matching = [r for r in results if expected_message in r.message]
    assert matching, f"no result says {expected_message!r}; got:\n{_describe(results)}"
    if expected_path is not None:
        assert any(r.path == expected_path for r in matching), (
            f"no result about {expected_path} says {expected_message!r}; got:\n{_describe(results)}"
        )


def test_broken_case_in_the_reference_folder_fails_kg_validate(tmp_path: Path) -> None:
    """A broken file dropped into a copy of ontology/reference makes the SHACL check fail and name the problem."""
    import shutil

    copy = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, copy)
    (copy / "reference").mkdir(exist_ok=True)
    shutil.copy(CASES_DIR / "state-bad-iso-code.ttl", copy / "reference" / "zz-broken.ttl")
    report = run_checks(ontology_dir=copy, only=["SHACL shapes"])
    check = report.check("SHACL shapes")
    assert not check.ok
    assert any("ISO 3166-1 alpha-3" in line and "id:state/testland" in line for line in check.lines), check.lines
