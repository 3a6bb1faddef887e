"""Entities and topics resolved to the reference data and the thesaurus, with spans."""

from __future__ import annotations

from kg.extract import load_lexicon
from kg.extract.entities import find_entities, find_topics
from kg.extract.lexicon import Lexicon
from kg.extract.tokens import PhraseMatcher, tokenize
from kg.namespaces import ID_BASE


def entities(text: str) -> list[tuple[str, str]]:
    return [(m.iri.removeprefix(ID_BASE), text[m.span.start : m.span.end]) for m in find_entities(text, 0, len(text), load_lexicon())]


def iris(text: str) -> set[str]:
    return {iri for iri, _ in entities(text)}


def topics(text: str) -> set[str]:
    return {t.concept.removeprefix(ID_BASE + "topic/") for t in find_topics(text, 0, len(text), load_lexicon())}


def test_lexicon_comes_from_the_ontology_folder() -> None:
    lexicon = load_lexicon()
    assert isinstance(lexicon, Lexicon)
    assert load_lexicon() is lexicon  # cached
    kinds = {e.kind for e in lexicon.entities.values()}
    assert {"state", "organisation", "group", "population-group", "right", "forum", "meeting", "place", "declaration"} <= kinds
    assert len(lexicon.act_lemma) > 20 and len(lexicon.topics) > 20


def test_role_groups_from_a_coordinated_phrase() -> None:
    text = "the human rights in the countries of origin, transit and destination of all migrants"
    found = entities(text)
    for role in ("origin", "transit", "destination"):
        assert (f"group/countries-of-{role}" in {iri for iri, _ in found})
    assert ("right/human-rights-of-migrants", "human rights") in found
    assert "population-group/migrants" in iris(text)
    assert {"group/countries-of-origin", "group/countries-of-destination"} <= iris("countries of origin and destination countries")


def test_population_groups() -> None:
    assert {"population-group/children", "population-group/women"} <= iris("particularly children and women")
    assert {"population-group/women", "population-group/girls"} <= iris("faced by women and girl migrants")
    # "all migrant workers" is not "all migrants": the plural label does not take the modifier.
    assert iris("for all migrant workers") == {"population-group/migrant-workers"}


def test_meetings_and_declarations() -> None:
    text = "the LAC-EU Migration Dialogue established in the framework of the Declaration of the Fifth Summit, held in Lima in 2008."
    assert {
        "forum/eu-lac-migration-dialogue",
        "declaration/lima-declaration-2008",
        "meeting/eu-lac-summit-2008",
        "place/lima",
    } <= iris(text)
    assert "meeting/gfmd-2010" in iris("towards the Fourth Global Forum on Migration and Development, to be held in Mexico in 2010.")


def test_meeting_described_by_cues_not_by_a_label() -> None:
    # "Fourth Forum" is no label: ordinal, name word, place and year single out the meeting.
    found = entities("We look forward to the Fourth Forum, held in Puerto Vallarta in 2010.")
    assert ("meeting/gfmd-2010", "Fourth Forum") in found
    # A bare "meeting" needs a forum and a place or year to say which.
    assert "meeting/gfmd-2010" in iris("the Global Forum on Migration and Development and its next meeting in Puerto Vallarta")
    assert not {i for i in iris("the next meeting will be useful") if i.startswith("meeting/")}


def test_acronyms_only_in_capitals() -> None:
    assert "organisation/eu" in iris("the EU and its partners")
    assert "organisation/eu" not in iris("the eu word")


def test_topics_longest_match_without_double_counting() -> None:
    assert topics("the root causes of migration") == {"root-causes-of-migration"}
    assert topics("to facilitate remittances and the dignified voluntary return of migrants") == {
        "remittances",
        "return-and-reintegration",
    }
    assert "gender-and-migration" in topics("gender-sensitive national and regional migration policies")


def test_phrase_matcher_rules() -> None:
    matcher = PhraseMatcher([("human rights of migrants", "r"), ("IOM", "o"), ("migrants", "m")])
    text = "the human rights of all migrants and the IOM, not iom"
    found = [(text[m.start : m.end], sorted(m.values)) for m in matcher.find_all(tokenize(text))]
    assert found == [("human rights of all migrants", ["r"]), ("IOM", ["o"])]


def test_declaration_adopted_at_a_named_meeting() -> None:
    found = entities("We recall the Declaration adopted at the Fifth EU-LAC Summit.")
    assert ("declaration/lima-declaration-2008", "Declaration adopted at the Fifth EU-LAC Summit") in found
    assert ("meeting/eu-lac-summit-2008", "Fifth EU-LAC Summit") in found


def test_lexicons_come_only_from_the_ontology_files(tmp_path) -> None:  # noqa: ANN001 - pytest fixture
    """A made-up act, place and topic in a folder of our own are what extraction then knows, and nothing else."""
    from kg.extract import extract_declaration, kinds_of

    (tmp_path / "reference").mkdir()
    prefixes = (
        "@prefix dec: <https://w3id.org/declarations/ontology#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix id: <https://w3id.org/declarations/id/> .\n"
    )
    (tmp_path / "acts.ttl").write_text(
        prefixes
        + '<https://w3id.org/declarations/id/speech-act/proclaim> a skos:Concept, dec:CommissiveAct ;\n'
        + '    skos:prefLabel "proclaim"@en ; dec:surfaceForm "proclaim", "proclaims" .\n',
        encoding="utf-8",
    )
    (tmp_path / "topics.ttl").write_text(
        prefixes
        + "<https://w3id.org/declarations/id/topic/tides> skos:inScheme <https://w3id.org/declarations/id/scheme/topics> ;\n"
        + '    skos:prefLabel "tides"@en ; skos:hiddenLabel "tide"@en .\n',
        encoding="utf-8",
    )
    (tmp_path / "reference" / "places.ttl").write_text(
        prefixes
        + '<https://w3id.org/declarations/id/place/atlantis> a dec:Place ; skos:prefLabel "Atlantis"@en ;\n'
        + "    dec:inCountry <https://w3id.org/declarations/id/state/poseidonia> .\n"
        + '<https://w3id.org/declarations/id/state/poseidonia> a dec:State ; skos:prefLabel "Poseidonia"@en .\n',
        encoding="utf-8",
    )
    lexicon = load_lexicon(tmp_path)
    declaration = extract_declaration(
        "A TITLE\n\nWe proclaim the tide of the year and note the migrants.\n\nAtlantis, 1 May 2020", lexicon=lexicon
    )
    [clause] = declaration.clauses
    assert [a.lemma for a in clause.speech_acts] == ["proclaim"]  # "note" is not in this scheme and not governing
    assert kinds_of(clause, lexicon) == {"https://w3id.org/declarations/ontology#Commitment"}
    assert [t.concept.rsplit("/", 1)[1] for t in clause.topics] == ["tides"]
    assert clause.entities == []  # no "migrants" in this reference data
    assert declaration.place == ID_BASE + "place/atlantis" and declaration.country == ID_BASE + "state/poseidonia"
