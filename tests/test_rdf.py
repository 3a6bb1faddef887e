"""kg.rdf: a Declaration becomes the triples of its named graph, with evidence, deterministically."""

from __future__ import annotations

import datetime as dt

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import RDF

from kg.extract.model import Clause, Declaration, EntityMention, Span, SpeechAct, TopicMention
from kg.namespaces import DEC, ID_BASE, declaration_graph
from kg.paths import CORPUS_DIR
from kg.rdf import declaration_quads, declaration_triples, to_rdflib

TEXT = "Recognise the rights of migrants. We frobnicate and commit to remittances."
#       0         1         2         3         4         5         6         7
#       0123456789012345678901234567890123456789012345678901234567890123456789012345


def small_declaration() -> Declaration:
    c1 = Clause(
        position=1,
        text="Recognise the rights of migrants.",
        span=Span(0, 33),
        label="1.",
        section="operative",
        speech_acts=[SpeechAct("recognise", ID_BASE + "speech-act/recognise", Span(0, 9))],
        entities=[
            EntityMention("right", ID_BASE + "right/human-rights-of-migrants", Span(14, 32)),
            EntityMention("population-group", ID_BASE + "population-group/migrants", Span(24, 32)),
        ],
    )
    c2 = Clause(
        position=2,
        text="We frobnicate and commit to remittances.",
        span=Span(34, 74),
        speech_acts=[
            SpeechAct("frobnicate", None, Span(37, 47)),
            SpeechAct("commit", ID_BASE + "speech-act/commit", Span(52, 58)),
        ],
        entities=[EntityMention("forum", ID_BASE + "forum/gfmd", Span(62, 73))],
        topics=[TopicMention(ID_BASE + "topic/remittances", Span(62, 73))],
    )
    return Declaration(
        key="test-2010",
        text=TEXT,
        title="Test Declaration",
        title_span=None,
        clauses=[c1, c2],
        date=dt.date(2010, 2, 23),
        date_span=None,
        place=ID_BASE + "place/mayan-riviera",
        adopters=[EntityMention("state", ID_BASE + "state/mexico", Span(0, 9))],
        meeting=ID_BASE + "meeting/lac-unity-summit-2010",
    )


KINDS = {
    ID_BASE + "speech-act/recognise": str(DEC.Recognition),
    ID_BASE + "speech-act/commit": str(DEC.Commitment),
}


def fake_kinds(clause: Clause) -> set[str]:
    return {KINDS[a.concept] for a in clause.speech_acts if a.concept in KINDS}


EXPECTED = """
@prefix dec: <https://w3id.org/declarations/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix id: <https://w3id.org/declarations/id/> .
@prefix ev: <https://w3id.org/declarations/id/evidence/test-2010/> .
@prefix cl: <https://w3id.org/declarations/id/clause/test-2010/> .

<https://w3id.org/declarations/id/declaration/test-2010> a dec:Declaration ;
    dcterms:title "Test Declaration"@en ;
    dcterms:date "2010-02-23"^^xsd:date ;
    dec:place <https://w3id.org/declarations/id/place/mayan-riviera> ;
    dec:adoptedBy <https://w3id.org/declarations/id/state/mexico> ;
    dec:adoptedAt <https://w3id.org/declarations/id/meeting/lac-unity-summit-2010> ;
    dec:sourceText "%(text)s" ;
    dec:hasClause cl:1, cl:2 ;
    dec:hasEvidence ev:1 .

ev:1 a dec:Evidence ; dec:evidenceOf <https://w3id.org/declarations/id/declaration/test-2010> ;
    dec:property dec:adoptedBy ; dec:value <https://w3id.org/declarations/id/state/mexico> ;
    dec:start 0 ; dec:end 9 ; dec:quote "Recognise" .

cl:1 a dec:Clause, dec:Recognition ;
    dec:partOf <https://w3id.org/declarations/id/declaration/test-2010> ;
    dec:position 1 ; dec:text "Recognise the rights of migrants." ; dec:start 0 ; dec:end 33 ;
    dec:label "1." ; dec:section "operative" ;
    dec:speechAct <https://w3id.org/declarations/id/speech-act/recognise> ;
    dec:concernsRight <https://w3id.org/declarations/id/right/human-rights-of-migrants> ;
    dec:mentions <https://w3id.org/declarations/id/population-group/migrants> ;
    dec:hasEvidence ev:2, ev:3, ev:4 .

ev:2 a dec:Evidence ; dec:evidenceOf cl:1 ; dec:property dec:speechAct ;
    dec:value <https://w3id.org/declarations/id/speech-act/recognise> ;
    dec:start 0 ; dec:end 9 ; dec:quote "Recognise" .
ev:3 a dec:Evidence ; dec:evidenceOf cl:1 ; dec:property dec:concernsRight ;
    dec:value <https://w3id.org/declarations/id/right/human-rights-of-migrants> ;
    dec:start 14 ; dec:end 32 ; dec:quote "rights of migrants" .
ev:4 a dec:Evidence ; dec:evidenceOf cl:1 ; dec:property dec:mentions ;
    dec:value <https://w3id.org/declarations/id/population-group/migrants> ;
    dec:start 24 ; dec:end 32 ; dec:quote "migrants" .

cl:2 a dec:Clause, dec:Commitment ;
    dec:partOf <https://w3id.org/declarations/id/declaration/test-2010> ;
    dec:position 2 ; dec:text "We frobnicate and commit to remittances." ; dec:start 34 ; dec:end 74 ;
    dec:unrecognisedAct "frobnicate" ;
    dec:speechAct <https://w3id.org/declarations/id/speech-act/commit> ;
    dec:refersTo <https://w3id.org/declarations/id/forum/gfmd> ;
    dcterms:subject <https://w3id.org/declarations/id/topic/remittances> ;
    dec:hasEvidence ev:5, ev:6, ev:7, ev:8 .

ev:5 a dec:Evidence ; dec:evidenceOf cl:2 ; dec:property dec:unrecognisedAct ; dec:value "frobnicate" ;
    dec:start 37 ; dec:end 47 ; dec:quote "frobnicate" .
ev:6 a dec:Evidence ; dec:evidenceOf cl:2 ; dec:property dec:speechAct ;
    dec:value <https://w3id.org/declarations/id/speech-act/commit> ;
    dec:start 52 ; dec:end 58 ; dec:quote "commit" .
ev:7 a dec:Evidence ; dec:evidenceOf cl:2 ; dec:property dec:refersTo ;
    dec:value <https://w3id.org/declarations/id/forum/gfmd> ;
    dec:start 62 ; dec:end 73 ; dec:quote "remittances" .
ev:8 a dec:Evidence ; dec:evidenceOf cl:2 ; dec:property dcterms:subject ;
    dec:value <https://w3id.org/declarations/id/topic/remittances> ;
    dec:start 62 ; dec:end 73 ; dec:quote "remittances" .
"""


def test_small_declaration_gives_exactly_the_expected_graph() -> None:
    got = to_rdflib(declaration_triples(small_declaration(), kinds_of=fake_kinds))
    expected = Graph().parse(data=EXPECTED % {"text": TEXT}, format="turtle")
    if not isomorphic(got, expected):
        _, only_got, only_expected = graph_diff(to_isomorphic(got), to_isomorphic(expected))
        pytest.fail(f"only in output:\n{only_got.serialize(format='nt')}\nmissing:\n{only_expected.serialize(format='nt')}")


def test_quads_are_in_the_declaration_graph_and_repeatable() -> None:
    first = declaration_quads(small_declaration(), kinds_of=fake_kinds)
    second = declaration_quads(small_declaration(), kinds_of=fake_kinds)
    assert first == second  # same order, same IRIs: no blank nodes, deterministic numbering
    assert {q.graph_name.value for q in first} == {declaration_graph("test-2010")}


def test_bad_key_is_refused() -> None:
    decl = small_declaration()
    decl.key = "Not A Key"
    with pytest.raises(ValueError):
        declaration_quads(decl, kinds_of=fake_kinds)


@pytest.fixture(scope="module")
def seed_graph() -> Graph:
    from kg.extract import extract_file

    decl = extract_file(CORPUS_DIR / "lac-2010-migration-communique.txt", key="lac-2010-migration-communique")
    return to_rdflib(declaration_triples(decl))


def test_seed_twice_gives_the_same_graph(seed_graph: Graph) -> None:
    from kg.extract import extract_file

    again = extract_file(CORPUS_DIR / "lac-2010-migration-communique.txt", key="lac-2010-migration-communique")
    assert isomorphic(seed_graph, to_rdflib(declaration_triples(again)))


def test_seed_evidence_quotes_are_the_source_text(seed_graph: Graph) -> None:
    decl = URIRef(ID_BASE + "declaration/lac-2010-migration-communique")
    source = str(seed_graph.value(decl, DEC.sourceText))
    evidence = list(seed_graph.subjects(DEC.evidenceOf, None))
    assert len(evidence) > 30
    for e in evidence:
        start, end = int(seed_graph.value(e, DEC.start)), int(seed_graph.value(e, DEC.end))
        assert str(seed_graph.value(e, DEC.quote)) == source[start:end]
        subject, prop, value = (seed_graph.value(e, p) for p in (DEC.evidenceOf, DEC.property, DEC.value))
        assert (subject, prop, value) in seed_graph, f"{e} supports a fact that is not in the graph"
        assert (subject, DEC.hasEvidence, e) in seed_graph


def test_seed_has_13_clauses_with_kinds(seed_graph: Graph) -> None:
    assert sorted(int(p) for p in seed_graph.objects(None, DEC.position)) == list(range(1, 14))
    base = ID_BASE + "clause/lac-2010-migration-communique/"
    # "We also note ... We therefore assume the responsibility and commitment to create ...": two acts, two kinds.
    kinds = set(seed_graph.objects(URIRef(base + "3"), RDF.type))
    assert {URIRef(str(DEC.Clause)), URIRef(str(DEC.Commitment)), URIRef(str(DEC.Recognition))} <= kinds
    assert (URIRef(base + "2"), RDF.type, URIRef(str(DEC.Appeal))) in seed_graph  # "Demand the effective ..."
