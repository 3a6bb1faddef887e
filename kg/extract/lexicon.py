"""The lexicons of extraction, read from ``ontology/`` (never written in Python).

- speech acts: ``ontology/speech-acts.ttl``: each concept's ``dec:surfaceForm`` strings, its lemma
  (``skos:prefLabel@en``) and its kind class (``dec:CommissiveAct`` ...); the clause kind each act class implies
  (``dec:Commitment`` ...) is read from the ``owl:equivalentClass`` definitions in ``ontology/declarations.ttl``.
- topics: ``ontology/topics.ttl``: concepts of the scheme ``id/scheme/topics`` with their pref/alt/hidden labels.
- entities: ``ontology/reference/*.ttl``: every resource under ``id/{type}/`` for the entity types, with
  ``rdfs:label``/``skos:prefLabel``/``skos:altLabel``/``skos:hiddenLabel`` in any language, and the facts used to
  resolve descriptions of meetings and declarations: dates, places, the forum a meeting is of, the meeting a
  declaration was adopted at, the holder of a right, the country of a place.

:func:`load_lexicon` parses once per folder and caches the result.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS

from kg.errors import ValidationFailed
from kg.extract.tokens import PhraseMatcher, is_acronym, tokenize
from kg.namespaces import DEC, ID_BASE, SCHEMA
from kg.paths import ONTOLOGY_DIR

log = logging.getLogger(__name__)

ENTITY_TYPES = ("state", "organisation", "group", "population-group", "right", "forum", "meeting", "declaration", "place")
LABEL_PROPERTIES = (RDFS.label, SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel)
ACT_CLASSES = (DEC.CommissiveAct, DEC.DirectiveAct, DEC.AssertiveAct, DEC.SupportiveAct)
# The documented correspondence (docs/architecture.md), used only where the ontology does not define it.
_DEFAULT_KIND_OF_ACT = {
    str(DEC.CommissiveAct): str(DEC.Commitment),
    str(DEC.DirectiveAct): str(DEC.Appeal),
    str(DEC.AssertiveAct): str(DEC.Recognition),
    str(DEC.SupportiveAct): str(DEC.Endorsement),
}
_DATE_PROPERTIES = (DCTERMS.date, SCHEMA.startDate, SCHEMA.endDate, DEC.date, DCTERMS.issued, SCHEMA.startTime)
_PLACE_PROPERTIES = (DEC.place, SCHEMA.location)
ORDINALS = {
    word: n
    for n, words in enumerate(
        [
            ("first", "1st"), ("second", "2nd"), ("third", "3rd"), ("fourth", "4th"), ("fifth", "5th"),
            ("sixth", "6th"), ("seventh", "7th"), ("eighth", "8th"), ("ninth", "9th"), ("tenth", "10th"),
            ("eleventh", "11th"), ("twelfth", "12th"), ("thirteenth", "13th"), ("fourteenth", "14th"),
            ("fifteenth", "15th"), ("sixteenth", "16th"), ("seventeenth", "17th"), ("eighteenth", "18th"),
            ("nineteenth", "19th"), ("twentieth", "20th"),
        ],
        start=1,
    )
    for word in words
}


@dataclass(slots=True)
class Entity:
    """A resource of the reference data that text can name."""

    iri: str
    kind: str
    labels: list[str] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    dates: set[dt.date] = field(default_factory=set)  # the days given (a meeting's start and end)
    places: set[str] = field(default_factory=set)  # place IRIs (meetings, declarations)
    countries: set[str] = field(default_factory=set)  # state IRIs: of a place, or of a meeting's place
    forums: set[str] = field(default_factory=set)  # the forum(s) a meeting is a meeting of
    meeting: str | None = None  # the meeting a declaration was adopted at
    holders: set[str] = field(default_factory=set)  # population groups holding a right
    ordinal: int | None = None  # "Fifth" in a meeting's label
    label_keys: set[str] = field(default_factory=set)  # stems of the words of its labels


@dataclass(slots=True)
class Lexicon:
    """Everything extraction knows about words, read from the ontology folder."""

    acts: PhraseMatcher  # surface forms (lower case, exact) -> speech-act concept IRI
    act_lemma: dict[str, str]
    act_class: dict[str, str]  # concept -> dec:CommissiveAct ...
    kind_of_act_class: dict[str, str]  # dec:CommissiveAct -> dec:Commitment ...
    act_heads: dict[str, set[str]]  # first word of a surface form -> concepts
    entities: dict[str, Entity]
    entity_matcher: PhraseMatcher  # labels -> entity IRIs
    topics: dict[str, list[str]]  # topic concept -> labels
    topic_matcher: PhraseMatcher
    acronyms: frozenset[str]
    words: frozenset[str]  # every word of every label and surface form, lower case (helps de-hyphenation)

    def kind(self, iri: str) -> str | None:
        entity = self.entities.get(iri)
        return entity.kind if entity else None

    def kinds_of_concept(self, concept: str) -> set[str]:
        """The clause kinds (``dec:Commitment`` ...) a speech-act concept implies."""
        act_class = self.act_class.get(concept)
        kind = self.kind_of_act_class.get(act_class) if act_class else None
        return {kind} if kind else set()


@functools.cache
def _load(ontology_dir: Path) -> Lexicon:
    graph = Graph()
    files = sorted(ontology_dir.glob("*.ttl")) + sorted((ontology_dir / "reference").glob("*.ttl"))
    files = [f for f in files if f.name != "shapes.ttl"]
    if not files:
        raise ValidationFailed(f"no Turtle files in {ontology_dir}: the lexicons cannot be loaded")
    for path in files:
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # noqa: BLE001 - rdflib raises many kinds; report which file
            raise ValidationFailed(f"{path}: cannot be parsed as Turtle ({exc})") from exc
    lexicon = _build(graph)
    log.info(
        "lexicon from %s: %d speech acts, %d entities, %d topics",
        ontology_dir,
        len(lexicon.act_lemma),
        len(lexicon.entities),
        len(lexicon.topics),
    )
    return lexicon


def load_lexicon(ontology_dir: Path | str = ONTOLOGY_DIR) -> Lexicon:
    """The lexicon read from ``ontology_dir`` (cached per folder; call ``load_lexicon.cache_clear()`` to re-read).

    Raises :class:`kg.errors.ValidationFailed` when the folder has no Turtle or a file does not parse.
    """
    return _load(Path(ontology_dir).resolve())


load_lexicon.cache_clear = _load.cache_clear  # type: ignore[attr-defined]


def _year(value: Literal) -> int | None:
    python = value.toPython()
    if isinstance(python, (dt.date, dt.datetime)):
        return python.year
    match = re.match(r"^(\d{4})", str(value))
    return int(match.group(1)) if match else None


def _build(graph: Graph) -> Lexicon:
    # Speech acts.
    acts = PhraseMatcher(exact_words=True)
    act_lemma: dict[str, str] = {}
    act_class: dict[str, str] = {}
    act_heads: dict[str, set[str]] = {}
    words: set[str] = set()
    for concept in set(graph.subjects(DEC.surfaceForm, None)):
        iri = str(concept)
        lemma = _english(graph, concept, SKOS.prefLabel) or iri.rsplit("/", 1)[-1].replace("-", " ")
        act_lemma[iri] = lemma
        for cls in ACT_CLASSES:
            if (concept, RDF.type, cls) in graph:
                act_class[iri] = str(cls)
        for form in graph.objects(concept, DEC.surfaceForm):
            text = str(form).lower()
            acts.add(text, iri)
            head = text.split()[0] if text.split() else ""
            if head and head != "we":
                act_heads.setdefault(head, set()).add(iri)
            words.update(re.findall(r"[\w-]+", text))
    kind_of_act_class = dict(_DEFAULT_KIND_OF_ACT)
    kind_of_act_class.update(_kinds_from_ontology(graph))

    # Entities.
    entities: dict[str, Entity] = {}
    subjects = {s for p in LABEL_PROPERTIES for s in graph.subjects(p, None) if isinstance(s, URIRef)}
    for subject in subjects:
        iri = str(subject)
        if not iri.startswith(ID_BASE):
            continue
        kind = iri[len(ID_BASE) :].split("/", 1)[0]
        if kind not in ENTITY_TYPES or iri.count("/") - ID_BASE.count("/") != 1:
            continue
        labels = sorted({str(o) for p in LABEL_PROPERTIES for o in graph.objects(subject, p) if isinstance(o, Literal)})
        entity = Entity(iri, kind, labels)
        for prop in _DATE_PROPERTIES:
            for value in graph.objects(subject, prop):
                if isinstance(value, Literal) and (year := _year(value)):
                    entity.years.add(year)
                    if isinstance(value.toPython(), dt.date):
                        entity.dates.add(value.toPython())
        for prop in _PLACE_PROPERTIES:
            entity.places.update(str(o) for o in graph.objects(subject, prop) if isinstance(o, URIRef))
        entity.countries.update(str(o) for o in graph.objects(subject, DEC.inCountry))
        entity.forums.update(str(o) for o in graph.objects(subject, DEC.meetingOf))
        entity.meeting = next((str(o) for o in graph.objects(subject, DEC.adoptedAt)), None)
        entity.holders.update(str(o) for o in graph.objects(subject, DEC.rightHolder))
        for label in labels:
            for token in tokenize(label):
                entity.label_keys.add(token.key)
                if entity.ordinal is None and token.key in ORDINALS:
                    entity.ordinal = ORDINALS[token.key]
        entities[iri] = entity
    # The country of a meeting or declaration is the country of its place; its places include the place's own.
    for entity in entities.values():
        for place in list(entity.places):
            if place in entities:
                entity.countries.update(entities[place].countries)
                if entities[place].kind == "state":
                    entity.countries.add(place)
        if entity.kind == "declaration" and entity.meeting in entities:
            meeting = entities[entity.meeting]
            entity.places.update(meeting.places)
            entity.countries.update(meeting.countries)
            entity.years.update(meeting.years)
            if entity.ordinal is None:
                entity.ordinal = meeting.ordinal
    entity_matcher = PhraseMatcher()
    acronyms: set[str] = set()
    for entity in entities.values():
        for label in entity.labels:
            entity_matcher.add(label, entity.iri)
            acronyms.update(t.text for t in tokenize(label) if is_acronym(t.text))
            words.update(w.lower() for w in re.findall(r"[\w-]+", label))

    # Topics: concepts in the topic scheme.
    topic_scheme = URIRef(ID_BASE + "scheme/topics")
    topics: dict[str, list[str]] = {}
    topic_matcher = PhraseMatcher()
    for concept in set(graph.subjects(SKOS.inScheme, topic_scheme)) | set(graph.subjects(SKOS.topConceptOf, topic_scheme)):
        labels = sorted({str(o) for p in LABEL_PROPERTIES for o in graph.objects(concept, p) if isinstance(o, Literal)})
        topics[str(concept)] = labels
        for label in labels:
            topic_matcher.add(label, str(concept))
            words.update(w.lower() for w in re.findall(r"[\w-]+", label))
    return Lexicon(
        acts=acts,
        act_lemma=act_lemma,
        act_class=act_class,
        kind_of_act_class=kind_of_act_class,
        act_heads=act_heads,
        entities=entities,
        entity_matcher=entity_matcher,
        topics=topics,
        topic_matcher=topic_matcher,
        acronyms=frozenset(acronyms),
        words=frozenset(words),
    )


def _english(graph: Graph, subject: URIRef, prop: URIRef) -> str | None:
    values = [o for o in graph.objects(subject, prop) if isinstance(o, Literal)]
    for value in sorted(values, key=str):
        if value.language in ("en", None):
            return str(value)
    return str(values[0]) if values else None


def _kinds_from_ontology(graph: Graph) -> dict[str, str]:
    """``dec:X ≡ dec:Clause ⊓ ∃dec:speechAct.A`` read as act class A -> clause kind X."""
    out: dict[str, str] = {}
    for kind, definition in graph.subject_objects(OWL.equivalentClass):
        for members in graph.objects(definition, OWL.intersectionOf):
            for member in graph.items(members):
                if (member, OWL.onProperty, DEC.speechAct) in graph:
                    act = graph.value(member, OWL.someValuesFrom)
                    if act is not None and str(act) in _DEFAULT_KIND_OF_ACT:
                        out[str(act)] = str(kind)
    return out
