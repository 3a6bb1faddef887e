"""The vocabularies and reference data of ``ontology/``: speech acts, topics, states, organisations, forums, meetings,
places and related instruments.

These files are the lexicons of extraction (it finds acts, entities and topics only through their labels) and the
facts that declarations link to, so the tests check completeness and facts, not just syntax:

- every file parses, and every ``id/`` IRI used as an object is defined somewhere in ``ontology/``;
- each speech-act concept has exactly one kind class and surface forms, and the seed communiqué's acts are covered;
- each topic has English, Spanish and French labels and a definition, its hierarchy is consistent, its UNBIS and
  EuroVoc matches come from the shared reference tables, and every GCM objective and every subject of the seed is
  found through the topic labels;
- the 33 Latin American and Caribbean states have their ISO codes and the Wikidata items of the reference table;
- the GCM's 23 objectives are clauses with the tsv's numbers and titles; key dates and places are right.

The tables in ``../shared/reference/`` sit beside the repository; tests comparing against them skip, naming the
folder, when it is missing.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS

from kg.namespaces import DEC, ID_BASE, RESOURCE_TYPES, SCHEMA
from kg.paths import CORPUS_DIR, ONTOLOGY_DIR, PROJECT_DIR, REFERENCE_DIR

SHARED_REFERENCE = PROJECT_DIR.parent / "shared" / "reference"
SEED = CORPUS_DIR / "lac-2010-migration-communique.txt"

OWNED_FILES = [ONTOLOGY_DIR / "speech-acts.ttl", ONTOLOGY_DIR / "topics.ttl", *sorted(REFERENCE_DIR.glob("*.ttl"))]

SPEECH_ACT_SCHEME = URIRef(ID_BASE + "scheme/speech-acts")
TOPIC_SCHEME = URIRef(ID_BASE + "scheme/topics")
KIND_CLASSES = (DEC.CommissiveAct, DEC.DirectiveAct, DEC.AssertiveAct, DEC.SupportiveAct)
WIKIDATA = "http://www.wikidata.org/entity/"
GEONAMES = "http://sws.geonames.org/"
XSD_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")
XSD_INTEGER = URIRef("http://www.w3.org/2001/XMLSchema#integer")

# ISO 3166-1 alpha-3 codes of the 33 Latin American and Caribbean states (independent of the data under test).
LAC_ISO = {
    "antigua-and-barbuda": "ATG", "argentina": "ARG", "bahamas": "BHS", "barbados": "BRB", "belize": "BLZ",
    "bolivia": "BOL", "brazil": "BRA", "chile": "CHL", "colombia": "COL", "costa-rica": "CRI", "cuba": "CUB",
    "dominica": "DMA", "dominican-republic": "DOM", "ecuador": "ECU", "el-salvador": "SLV", "grenada": "GRD",
    "guatemala": "GTM", "guyana": "GUY", "haiti": "HTI", "honduras": "HND", "jamaica": "JAM", "mexico": "MEX",
    "nicaragua": "NIC", "panama": "PAN", "paraguay": "PRY", "peru": "PER", "saint-kitts-and-nevis": "KNA",
    "saint-lucia": "LCA", "saint-vincent-and-the-grenadines": "VCT", "suriname": "SUR", "trinidad-and-tobago": "TTO",
    "uruguay": "URY", "venezuela": "VEN",
}  # fmt: skip

# The acts named in issue 2, with the kind each must have.
REQUIRED_ACTS = {
    "commit": "CommissiveAct", "undertake": "CommissiveAct", "be-resolved": "CommissiveAct", "resolve": "CommissiveAct",
    "assume": "CommissiveAct", "pledge": "CommissiveAct", "agree": "CommissiveAct", "decide": "CommissiveAct",
    "adopt": "CommissiveAct",
    "call-for": "DirectiveAct", "call-upon": "DirectiveAct", "urge": "DirectiveAct", "demand": "DirectiveAct",
    "request": "DirectiveAct", "encourage": "DirectiveAct", "invite": "DirectiveAct", "instruct": "DirectiveAct",
    "note": "AssertiveAct", "recognise": "AssertiveAct", "acknowledge": "AssertiveAct", "understand": "AssertiveAct",
    "highlight": "AssertiveAct", "underscore": "AssertiveAct", "emphasise": "AssertiveAct", "stress": "AssertiveAct",
    "recall": "AssertiveAct", "bear-in-mind": "AssertiveAct", "consider": "AssertiveAct",
    "express-concern": "AssertiveAct", "condemn": "AssertiveAct", "deplore": "AssertiveAct", "affirm": "AssertiveAct",
    "believe": "AssertiveAct", "declare": "AssertiveAct", "take-note": "AssertiveAct",
    "express-support": "SupportiveAct", "support": "SupportiveAct", "endorse": "SupportiveAct",
    "welcome": "SupportiveAct", "reaffirm": "SupportiveAct", "appreciate": "SupportiveAct", "applaud": "SupportiveAct",
    "reiterate": "SupportiveAct",
}  # fmt: skip

# Each act of the seed communiqué: the words as they open it in the text, and the concept they must resolve to.
SEED_ACTS = [
    ("Highlight the solid historical", "highlight"),
    ("Demand the effective enjoyment", "demand"),
    ("note that the poverty", "note"),
    ("assume the responsibility and commitment", "assume"),
    ("acknowledge the importance", "acknowledge"),
    ("understand that the migration issue", "understand"),
    ("agree on the need", "agree"),
    ("recognise the need to promote mechanisms", "recognise"),
    ("highlight the promotion", "highlight"),
    ("Bearing in mind the need", "bear-in-mind"),
    ("call for an even more", "call-for"),
    ("call to promote a coordinated", "call-upon"),
    ("recognise the need to implement", "recognise"),
    ("underscore the need", "underscore"),
    ("emphasise particular attention", "emphasise"),
    ("underscoring our bi-regional dialogue", "underscore"),
    ("express our support", "express-support"),
    ("are also resolved", "be-resolved"),
]

# Each subject of the seed communiqué: a phrase of the text and the topic its labels must find in it.
SEED_SUBJECTS = [
    ("historical and cultural ties", "regional-unity"),
    ("the importance of the migration issue", "migration"),
    ("positive contribution made by migratory flows", "migrant-contributions"),
    ("protection of the human rights", "human-rights-of-migrants"),
    ("all migrants and their families", "migrant-families"),
    ("particularly children and women", "migrant-children"),
    ("particularly children and women", "gender-and-migration"),
    ("regardless of their migration status", "irregular-migration"),
    ("the poverty created by", "poverty-and-inequality"),
    ("an inequitable international order", "poverty-and-inequality"),
    ("one of the root causes of migration", "root-causes-of-migration"),
    ("so that migration can be an option and not a necessity", "root-causes-of-migration"),
    ("discourage brain-drain", "brain-drain"),
    ("contributions made by migrants to the development", "migrant-contributions"),
    ("joint but differentiated responsibility", "shared-responsibility"),
    ("giving consideration to its structural causes", "root-causes-of-migration"),
    ("strengthen migratory policies and practices", "migration-policy"),
    ("the fundamental rights of all migrants", "human-rights-of-migrants"),
    ("management of migratory flows", "migration-governance"),
    ("facilitate remittances", "remittances"),
    ("the dignified voluntary return of migrants", "return-and-reintegration"),
    ("facilitate the integration", "integration-and-social-cohesion"),
    ("reunification of the migrants' families", "family-reunification"),
    ("to combat racism", "racism"),
    ("racism, discrimination, xenophobia", "discrimination"),
    ("racism, discrimination, xenophobia", "xenophobia"),
    ("other forms of intolerance", "discrimination"),
    ("migrants established outside the region", "diaspora"),
    ("migrant community networks and associations", "diaspora"),
    ("contributing to innovation, technology", "knowledge-transfer"),
    ("the exchange of best practices", "exchange-of-best-practices"),
    ("an even more strengthened dialogue, reciprocal understanding", "migration-dialogue"),
    ("cooperation, knowledge transfer", "knowledge-transfer"),
    ("cooperation, knowledge transfer", "international-cooperation"),
    ("identification of common challenges", "exchange-of-best-practices"),
    ("promotion of voluntary return programs", "return-and-reintegration"),
    ("a coordinated regional position in all the multilateral forums", "regional-cooperation"),
    ("gender-sensitive national and regional migration policies", "gender-and-migration"),
    ("gender-sensitive national and regional migration policies", "migration-policy"),
    ("the situation of particular vulnerability", "vulnerability"),
    ("women and girl migrants", "gender-and-migration"),
    ("the illicit smuggling of migrants", "smuggling-of-migrants"),
    ("trafficking in human lives", "trafficking-in-persons"),
    ("strengthen the consular networks", "consular-protection"),
    ("the consular attention, protection and assistance", "consular-protection"),
    ("migrant communities that reside beyond the region", "diaspora"),
    ("our bi-regional dialogue with the European Union", "migration-dialogue"),
    ("regional cooperation programmes on migration", "regional-cooperation"),
    ("Global Forum on Migration and Development", "migration-and-development"),
]

# Names in the seed and the entity their labels must resolve to.
SEED_ENTITIES = [
    ("countries of Latin America and the Caribbean", "group/latin-america-and-the-caribbean"),
    ("Latin American and Caribbean governments", "group/latin-america-and-the-caribbean"),
    ("the region's countries", "group/latin-america-and-the-caribbean"),
    ("countries of origin", "group/countries-of-origin"),
    ("destination countries", "group/countries-of-destination"),
    ("all migrants", "population-group/migrants"),
    ("children", "population-group/children"),
    ("women", "population-group/women"),
    ("girl migrants", "population-group/girls"),
    ("migrants' families", "population-group/families"),
    ("migrant community networks", "population-group/diaspora"),
    ("human rights", "right/human-rights-of-migrants"),
    ("fundamental rights", "right/human-rights-of-migrants"),
    ("the European Union", "organisation/eu"),
    ("LAC-EU Migration Dialogue", "forum/eu-lac-migration-dialogue"),
    ("Declaration of the Fifth Summit", "declaration/lima-declaration-2008"),
    ("Lima", "place/lima"),
    ("Fourth Global Forum on Migration and Development", "meeting/gfmd-2010"),
    ("Mexico", "state/mexico"),
    ("Mayan Riviera", "place/mayan-riviera"),
]

# Facts about instruments and meetings, independent of the data under test.
DECLARATION_DATES = {
    "lima-declaration-2008": "2008-05-16",
    "udhr-1948": "1948-12-10",
    "icrmw-1990": "1990-12-18",
    "smuggling-protocol-2000": "2000-11-15",
    "trafficking-protocol-2000": "2000-11-15",
    "new-york-declaration-2016": "2016-09-19",
    "gcm-2018": "2018-12-19",
}
MEETINGS = {
    "gfmd-2010": ("gfmd", "puerto-vallarta", "2010-11-08", "2010-11-11"),
    "lac-unity-summit-2010": (None, "mayan-riviera", "2010-02-22", "2010-02-23"),
    "eu-lac-summit-2008": ("eu-lac-summit", "lima", "2008-05-16", None),
}


# ----------------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------------


def iri(path: str) -> URIRef:
    """The resource IRI ``id/{path}``."""
    return URIRef(ID_BASE + path)


def key(resource: URIRef) -> str:
    """The last path segment of a resource IRI."""
    return str(resource).rsplit("/", 1)[-1]


def read_tsv(name: str) -> list[dict[str, str]]:
    """Rows of a table of ``../shared/reference/``; skips the calling test when the folder is missing."""
    path = SHARED_REFERENCE / name
    if not path.is_file():
        pytest.skip(f"needs {path} (the shared reference tables beside the repository)")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def english_labels(graph: Graph, subject: URIRef) -> set[str]:
    """Lower-cased English (or untagged) preferred, alternative and hidden labels and rdfs:labels of ``subject``."""
    out: set[str] = set()
    for prop in (SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel, RDFS.label):
        for value in graph.objects(subject, prop):
            if isinstance(value, Literal) and value.language in ("en", None):
                out.add(str(value).lower())
    return out


def label_lexicon(graph: Graph, subjects: Iterable[URIRef]) -> dict[str, set[URIRef]]:
    """English label -> the subjects carrying it."""
    lexicon: dict[str, set[URIRef]] = {}
    for subject in subjects:
        for label in english_labels(graph, subject):
            lexicon.setdefault(label, set()).add(subject)
    return lexicon


def found_by_labels(lexicon: dict[str, set[URIRef]], text: str) -> set[URIRef]:
    """Subjects whose labels occur in ``text`` as whole words (case-insensitive, whitespace normalised)."""
    flat = " ".join(text.lower().split())
    found: set[URIRef] = set()
    for label, subjects in lexicon.items():
        if re.search(r"(?<!\w)" + re.escape(label) + r"(?!\w)", flat):
            found |= subjects
    return found


def longest_label_at(lexicon: dict[str, set[URIRef]], phrase: str) -> set[URIRef]:
    """Subjects of the longest label that matches the whole ``phrase`` or its start (whole words)."""
    flat = " ".join(phrase.lower().split())
    best = ""
    for label in lexicon:
        if re.match(re.escape(label) + r"(?!\w)", flat) and len(label) > len(best):
            best = label
    return lexicon.get(best, set())


# ----------------------------------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ontology() -> Graph:
    """Everything in ``ontology/`` (the OWL ontology, shapes, schemes and reference data) in one graph."""
    graph = Graph()
    for path in sorted(ONTOLOGY_DIR.rglob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@pytest.fixture(scope="module")
def acts(ontology: Graph) -> list[URIRef]:
    return sorted(s for s in ontology.subjects(RDF.type, DEC.SpeechActConcept) if isinstance(s, URIRef))


@pytest.fixture(scope="module")
def topics(ontology: Graph) -> list[URIRef]:
    return sorted(s for s in ontology.subjects(RDF.type, DEC.Topic) if isinstance(s, URIRef))


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------------------------------------------------
# Files and links
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", OWNED_FILES, ids=lambda p: str(p.relative_to(ONTOLOGY_DIR)))
def test_file_parses_and_is_not_empty(path: Path) -> None:
    graph = Graph().parse(path, format="turtle")
    assert len(graph) > 50, f"{path.name} holds only {len(graph)} triples"


def test_no_dangling_links(ontology: Graph) -> None:
    """Every id/ IRI used as an object is defined (has a type) somewhere in ontology/."""
    defined = {s for s in ontology.subjects(RDF.type, None)}
    dangling = sorted(
        {(str(s), str(p), str(o)) for s, p, o in ontology if isinstance(o, URIRef) and str(o).startswith(ID_BASE)}
        - {(str(s), str(p), str(o)) for s, p, o in ontology if o in defined}
    )
    assert not dangling, "objects not defined in ontology/:\n" + "\n".join(" ".join(t) for t in dangling[:20])


def test_resources_have_the_class_of_their_type_segment(ontology: Graph) -> None:
    """id/state/... is a dec:State, id/topic/... a dec:Topic, ... (the contract of kg.namespaces.RESOURCE_TYPES)."""
    wrong = []
    for subject in set(ontology.subjects(RDF.type, None)):
        if not isinstance(subject, URIRef) or not str(subject).startswith(ID_BASE):
            continue
        type_ = str(subject)[len(ID_BASE) :].split("/", 1)[0]
        assert type_ in RESOURCE_TYPES, f"{subject}: unknown resource type {type_!r}"
        expected = SKOS.ConceptScheme if type_ == "scheme" else DEC[RESOURCE_TYPES[type_]]
        if (subject, RDF.type, expected) not in ontology:
            wrong.append(f"{subject} is not a {expected}")
    assert not wrong, "\n".join(sorted(wrong))


def test_entity_labels_name_one_entity_each(ontology: Graph) -> None:
    """No label (any language, lower-cased) names two reference entities: extraction resolves names by label."""
    seen: dict[str, set[URIRef]] = {}
    for path in sorted(REFERENCE_DIR.glob("*.ttl")):
        graph = Graph().parse(path, format="turtle")
        for prop in (RDFS.label, SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel):
            for subject, value in graph.subject_objects(prop):
                if str(subject).startswith(ID_BASE) and "/clause/" not in str(subject):
                    seen.setdefault(str(value).lower(), set()).add(subject)
    shared = {label: sorted(map(str, s)) for label, s in seen.items() if len(s) > 1}
    assert not shared, shared


def test_seed_names_resolve_to_reference_entities(ontology: Graph, seed_text: str) -> None:
    entities = {s for s in ontology.subjects(RDF.type, None) if str(s).startswith(ID_BASE)}
    lexicon = label_lexicon(ontology, (e for e in entities if "/clause/" not in str(e) and "/topic/" not in str(e)))
    flat_seed = " ".join(seed_text.split())
    for phrase, expected in SEED_ENTITIES:
        assert phrase in flat_seed, f"{phrase!r} is not in the seed text"
        assert iri(expected) in longest_label_at(lexicon, phrase), f"{phrase!r} does not name {expected}"


# ----------------------------------------------------------------------------------------------------------------------
# Speech acts
# ----------------------------------------------------------------------------------------------------------------------


def test_speech_act_concepts_are_complete(ontology: Graph, acts: list[URIRef]) -> None:
    assert len(acts) >= len(REQUIRED_ACTS)
    for act in acts:
        kinds = [c for c in KIND_CLASSES if (act, RDF.type, c) in ontology]
        assert len(kinds) == 1, f"{act} has kinds {kinds}"
        assert (act, RDF.type, SKOS.Concept) in ontology
        assert (act, SKOS.inScheme, SPEECH_ACT_SCHEME) in ontology
        for lang in ("en", "es"):
            labels = [v for v in ontology.objects(act, SKOS.prefLabel) if v.language == lang]
            assert len(labels) == 1, f"{act}: {len(labels)} prefLabels @{lang}"
        assert any(v.language == "en" for v in ontology.objects(act, SKOS.definition)), f"{act}: no definition"
        forms = [str(f) for f in ontology.objects(act, DEC.surfaceForm)]
        assert forms, f"{act} has no surface form"
        assert all(f == f.lower() and f.strip() == f and f for f in forms), f"{act}: surface forms must be lower case"
        assert (SPEECH_ACT_SCHEME, SKOS.hasTopConcept, act) in ontology


def test_surface_forms_signal_one_act_each(ontology: Graph) -> None:
    owners: dict[str, set[str]] = {}
    for act, form in ontology.subject_objects(DEC.surfaceForm):
        owners.setdefault(str(form), set()).add(key(act))
    assert not {f: o for f, o in owners.items() if len(o) > 1}


@pytest.mark.parametrize(("slug", "kind"), sorted(REQUIRED_ACTS.items()))
def test_required_act_has_its_kind(ontology: Graph, slug: str, kind: str) -> None:
    assert (iri("speech-act/" + slug), RDF.type, DEC[kind]) in ontology


def test_spellings_and_preambular_participles(ontology: Graph) -> None:
    forms = {str(f): key(a) for a, f in ontology.subject_objects(DEC.surfaceForm)}
    expected = {
        "recognize": "recognise", "recognizing": "recognise", "recognised": "recognise", "emphasizes": "emphasise",
        "emphasising": "emphasise", "recalling": "recall", "noting with concern": "express-concern",
        "bearing in mind": "bear-in-mind", "reaffirming": "reaffirm", "welcoming": "welcome",
        "underscoring": "underscore", "expressing support": "express-support", "are resolved": "be-resolved",
        "we are also resolved": "be-resolved", "calls upon": "call-upon", "call to": "call-upon",
        "taking note": "take-note", "deeply concerned": "express-concern", "endeavor": "endeavour",
    }  # fmt: skip
    assert {f: forms.get(f) for f in expected} == expected


def test_seed_acts_are_covered(ontology: Graph, seed_text: str) -> None:
    """Each verb that opens an act of the seed resolves, by the longest surface form, to the expected concept."""
    forms: dict[str, set[URIRef]] = {}
    for act, form in ontology.subject_objects(DEC.surfaceForm):
        forms.setdefault(str(form), set()).add(act)
    flat_seed = " ".join(seed_text.split())
    for phrase, expected in SEED_ACTS:
        assert phrase in flat_seed, f"{phrase!r} is not in the seed text"
        assert longest_label_at(forms, phrase) == {iri("speech-act/" + expected)}, phrase


# ----------------------------------------------------------------------------------------------------------------------
# Topics
# ----------------------------------------------------------------------------------------------------------------------


def test_topics_have_labels_definitions_and_scheme(ontology: Graph, topics: list[URIRef]) -> None:
    assert len(topics) >= 40
    for topic in topics:
        assert (topic, RDF.type, SKOS.Concept) in ontology
        assert (topic, SKOS.inScheme, TOPIC_SCHEME) in ontology
        for lang in ("en", "es", "fr"):
            labels = [v for v in ontology.objects(topic, SKOS.prefLabel) if v.language == lang]
            assert len(labels) == 1, f"{topic}: {len(labels)} prefLabels @{lang}"
        assert any(v.language == "en" for v in ontology.objects(topic, SKOS.definition)), f"{topic}: no definition"


def test_topic_hierarchy_is_consistent(ontology: Graph, topics: list[URIRef]) -> None:
    tops = set(ontology.objects(TOPIC_SCHEME, SKOS.hasTopConcept))
    assert tops == set(ontology.subjects(SKOS.topConceptOf, TOPIC_SCHEME))
    for child, parent in ontology.subject_objects(SKOS.broader):
        assert (parent, SKOS.narrower, child) in ontology, f"{parent} lacks narrower {child}"
    for parent, child in ontology.subject_objects(SKOS.narrower):
        assert (child, SKOS.broader, parent) in ontology, f"{child} lacks broader {parent}"
    for topic in topics:
        assert (topic in tops) != any(ontology.objects(topic, SKOS.broader)), f"{topic}: top concept xor broader"
        ancestors = set(ontology.transitive_objects(topic, SKOS.broader)) - {topic}
        assert topic not in ancestors and ancestors <= set(topics), f"{topic}: cycle or foreign broader"
        assert tops & (ancestors | {topic}), f"{topic} does not reach a top concept"


def test_topic_english_labels_are_unambiguous(ontology: Graph, topics: list[URIRef]) -> None:
    lexicon = label_lexicon(ontology, topics)
    assert not {label: s for label, s in lexicon.items() if len(s) > 1}


def test_topic_matches_come_from_the_reference_tables(ontology: Graph, topics: list[URIRef]) -> None:
    known = {r["iri"] for r in read_tsv("unbis_migration_concepts.tsv")}
    known |= {r["iri"] for r in read_tsv("eurovoc_migration_concepts.tsv")}
    used = set()
    for prop in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch):
        for topic in topics:
            used |= {str(o) for o in ontology.objects(topic, prop)}
    assert used, "no topic is matched to UNBIS or EuroVoc"
    assert used <= known, sorted(used - known)
    assert any(u.startswith("http://metadata.un.org/thesaurus/") for u in used)
    assert any(u.startswith("http://eurovoc.europa.eu/") for u in used)


def test_seed_subjects_are_found_by_topic_labels(ontology: Graph, topics: list[URIRef], seed_text: str) -> None:
    lexicon = label_lexicon(ontology, topics)
    flat_seed = " ".join(seed_text.split())
    missing = []
    for phrase, expected in SEED_SUBJECTS:
        assert phrase in flat_seed, f"{phrase!r} is not in the seed text"
        if iri("topic/" + expected) not in found_by_labels(lexicon, phrase):
            missing.append(f"{phrase!r} -> {expected}")
    assert not missing, missing


# ----------------------------------------------------------------------------------------------------------------------
# The Global Compact for Migration and its objectives
# ----------------------------------------------------------------------------------------------------------------------


def test_gcm_objectives_are_its_clauses(ontology: Graph, topics: list[URIRef]) -> None:
    rows = read_tsv("gcm_objectives.tsv")
    assert len(rows) == 23
    gcm = iri("declaration/gcm-2018")
    clauses = set(ontology.subjects(DEC.partOf, gcm))
    assert clauses == set(ontology.objects(gcm, DEC.hasClause))
    assert len(clauses) == 23
    lexicon = label_lexicon(ontology, topics)
    for row in rows:
        n = int(row["n"])
        clause = iri(f"clause/gcm-2018/{n}")
        assert clause in clauses
        assert (clause, RDF.type, DEC.Clause) in ontology and (clause, RDF.type, DEC.Commitment) in ontology
        assert list(ontology.objects(clause, DEC.position)) == [Literal(n, datatype=XSD_INTEGER)]
        assert [str(t) for t in ontology.objects(clause, DEC.text)] == [row["title"]]
        assert str(ontology.value(clause, SKOS.altLabel)) == row["short_label(UN Network on Migration hub)"]
        assert list(ontology.objects(clause, DEC.speechAct)) == [iri("speech-act/commit")]
        subjects = set(ontology.objects(clause, DCTERMS.subject))
        assert subjects and subjects <= set(topics), f"objective {n}: subjects {subjects}"
        assert subjects & found_by_labels(lexicon, row["title"]), f"objective {n}: its title hits none of its topics"


# ----------------------------------------------------------------------------------------------------------------------
# States, places, meetings, declarations, rights
# ----------------------------------------------------------------------------------------------------------------------


def test_the_33_lac_states(ontology: Graph) -> None:
    lac = iri("group/latin-america-and-the-caribbean")
    members = set(ontology.objects(lac, DEC.hasMember))
    assert {key(m) for m in members} == set(LAC_ISO)
    for slug, code in LAC_ISO.items():
        state = iri("state/" + slug)
        assert (state, RDF.type, DEC.State) in ontology
        assert [str(c) for c in ontology.objects(state, DEC.isoCode)] == [code]
        for lang in ("en", "es"):
            assert any(v.language == lang for v in ontology.objects(state, SKOS.prefLabel)), f"{slug} @{lang}"


def test_iso_codes_are_unique_and_well_formed(ontology: Graph) -> None:
    states = set(ontology.subjects(RDF.type, DEC.State))
    codes = [str(c) for s in states for c in ontology.objects(s, DEC.isoCode)]
    assert len(codes) == len(states) == len(set(codes))
    assert all(re.fullmatch(r"[A-Z]{3}", c) for c in codes)


def test_wikidata_links_match_the_reference_table(ontology: Graph) -> None:
    rows = read_tsv("wikidata_qids.tsv")
    by_name = {r["entity"].replace(" (CELAC member)", ""): r["wikidata_iri"] for r in rows if r["qid"].startswith("Q")}
    for slug in LAC_ISO:
        state = iri("state/" + slug)
        name = str(next(v for v in ontology.objects(state, SKOS.prefLabel) if v.language == "en"))
        wikidata = {str(o) for o in ontology.objects(state, OWL.sameAs) if str(o).startswith(WIKIDATA)}
        assert wikidata == {by_name[name]}, slug
    # No owl:sameAs to Wikidata anywhere that the table does not give (its unsure row is only rdfs:seeAlso).
    verified = {r["wikidata_iri"] for r in rows if r["qid"].startswith("Q") and "unsure" not in r["source"]}
    used = {str(o) for o in ontology.objects(None, OWL.sameAs) if str(o).startswith(WIKIDATA)}
    assert used <= verified, sorted(used - verified)


def test_places_and_geonames(ontology: Graph) -> None:
    readme_ids = {"3531673", "3991328", "3936456", "3521342", "3530597", "3996063"}
    for place in ontology.subjects(RDF.type, DEC.Place):
        countries = list(ontology.objects(place, DEC.inCountry))
        assert len(countries) == 1 and (countries[0], RDF.type, DEC.State) in ontology, place
    used = {str(o) for o in ontology.objects(None, OWL.sameAs) if str(o).startswith(GEONAMES)}
    assert {u[len(GEONAMES) :].strip("/") for u in used} <= readme_ids
    expected = {"cancun": "3531673", "puerto-vallarta": "3991328", "lima": "3936456", "playa-del-carmen": "3521342"}
    for slug, geonames_id in expected.items():
        assert (iri("place/" + slug), OWL.sameAs, URIRef(f"{GEONAMES}{geonames_id}/")) in ontology
    assert (iri("place/mayan-riviera"), DEC.inCountry, iri("state/mexico")) in ontology


def test_meetings(ontology: Graph) -> None:
    for meeting in ontology.subjects(RDF.type, DEC.Meeting):
        assert len(list(ontology.objects(meeting, DEC.place))) == 1, meeting
        start, end = ontology.value(meeting, SCHEMA.startDate), ontology.value(meeting, SCHEMA.endDate)
        if start is not None and end is not None:
            assert start.toPython() <= end.toPython(), meeting
    for slug, (forum, place, start, end) in MEETINGS.items():
        meeting = iri("meeting/" + slug)
        if forum:
            assert (meeting, DEC.meetingOf, iri("forum/" + forum)) in ontology
        assert (meeting, DEC.place, iri("place/" + place)) in ontology
        assert ontology.value(meeting, SCHEMA.startDate).toPython() == dt.date.fromisoformat(start)
        if end:
            assert ontology.value(meeting, SCHEMA.endDate).toPython() == dt.date.fromisoformat(end)
    assert {key(f) for f in ontology.objects(iri("meeting/lac-unity-summit-2010"), DEC.meetingOf)} == {
        "rio-group-summit",
        "calc",
    }


def test_declarations_have_titles_and_dates(ontology: Graph) -> None:
    declarations = set(ontology.subjects(RDF.type, DEC.Declaration))
    assert {key(d) for d in declarations} >= set(DECLARATION_DATES)
    for declaration in declarations:
        assert any(ontology.objects(declaration, DCTERMS.title)), declaration
        dates = list(ontology.objects(declaration, DCTERMS.date))
        assert len(dates) == 1 and dates[0].datatype == XSD_DATE, declaration
    for slug, date in DECLARATION_DATES.items():
        assert ontology.value(iri("declaration/" + slug), DCTERMS.date).toPython() == dt.date.fromisoformat(date)
    lima = iri("declaration/lima-declaration-2008")
    assert (lima, DEC.adoptedAt, iri("meeting/eu-lac-summit-2008")) in ontology
    assert (lima, DEC.place, iri("place/lima")) in ontology


def test_rights_have_holders(ontology: Graph) -> None:
    rights = set(ontology.subjects(RDF.type, DEC.Right))
    assert {"human-rights-of-migrants", "labour-rights", "right-to-family-life", "rights-of-the-child"} <= {
        key(r) for r in rights
    }
    for right in rights:
        holders = list(ontology.objects(right, DEC.rightHolder))
        assert holders and all((h, RDF.type, DEC.PopulationGroup) in ontology for h in holders), right
