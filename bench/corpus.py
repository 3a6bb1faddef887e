"""Generated declarations in the genre, for benchmarks: ``generate(folder, n, seed)``.

Each text is assembled from the project's lexicons (``kg.extract.load_lexicon``: speech-act lemmas, the labels of
states, groups, organisations, population groups, rights, forums and places of the reference data, topic labels) in
one of three layouts: a communiqué (title, opening formula, plain paragraphs, closing place and date line), numbered
paragraphs with the place and date at the top, and a bullet-point joint statement. Clauses (3 to 14) combine one or
two speech acts with topics and entities, so declarations differ in length, verbs, entities and topics. The same
seed gives the same corpus.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from kg.extract.lexicon import Lexicon, load_lexicon
from kg.namespaces import slugify

MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
]
GENRES = ["DECLARATION", "JOINT DECLARATION", "SPECIAL COMMUNIQUÉ", "JOINT STATEMENT", "PLAN OF ACTION"]
SPEAKERS = [
    "We, the Heads of State and Government of {group}",
    "We, the Ministers responsible for migration of {states}",
    "We, the representatives of {states}",
    "We, the Heads of Delegation of {group}",
]
LINKS = [
    "the need to {verb2} {topic}",
    "the importance of {topic} for {people}",
    "the contribution of {people} to {topic}",
    "the situation of {people} in {state}",
    "{topic} and {topic2}",
    "cooperation with {org} on {topic}",
    "the work of the {forum} on {topic}",
    "the protection of the {right}",
]
VERBS2 = ["strengthen", "promote", "improve", "support", "expand", "review", "coordinate"]


@dataclass(frozen=True, slots=True)
class Lexicons:
    """The pools of words the generator draws from."""

    lemmas: list[str]
    states: list[str]
    groups: list[str]
    orgs: list[str]
    people: list[str]
    rights: list[str]
    forums: list[str]
    places: list[str]
    topics: list[str]


def _english(labels: list[str], key: str = "") -> str:
    """The English short name (the label whose slug is the IRI's key), else the first ASCII label, else the first."""
    for label in labels:
        if key and slugify(label) == key:
            return label
    for label in labels:
        if label.isascii() and not label.isupper():
            return label
    return labels[0]


def pools(lexicon: Lexicon | None = None) -> Lexicons:
    """Word pools from the lexicon (read from ``ontology/``)."""
    lx = lexicon or load_lexicon()
    by_kind: dict[str, list[str]] = {}
    for entity in sorted(lx.entities.values(), key=lambda e: e.iri):
        if entity.labels:
            by_kind.setdefault(entity.kind, []).append(_english(entity.labels, entity.iri.rsplit("/", 1)[-1]))
    lemmas = sorted({lemma for lemma in lx.act_lemma.values() if lemma and lemma.isascii()})
    topics = sorted({_english(labels, iri.rsplit("/", 1)[-1]) for iri, labels in lx.topics.items() if labels})
    return Lexicons(
        lemmas=lemmas,
        states=by_kind.get("state", ["Mexico"]),
        groups=by_kind.get("group", ["the countries of Latin America and the Caribbean"]),
        orgs=by_kind.get("organisation", ["the International Organization for Migration"]),
        people=by_kind.get("population-group", ["migrants"]),
        rights=by_kind.get("right", ["human rights of migrants"]),
        forums=by_kind.get("forum", ["Global Forum on Migration and Development"]),
        places=by_kind.get("place", ["Mexico City"]),
        topics=topics or ["remittances"],
    )


def _we(lemma: str) -> str:
    """First person plural of a lemma ("be resolved" -> "are resolved")."""
    return "are " + lemma[3:] if lemma.startswith("be ") else lemma


def _clause(rng: random.Random, lx: Lexicons) -> str:
    def phrase() -> str:
        return rng.choice(LINKS).format(
            verb2=rng.choice(VERBS2), topic=rng.choice(lx.topics), topic2=rng.choice(lx.topics),
            people=rng.choice(lx.people), state=rng.choice(lx.states), org=rng.choice(lx.orgs),
            forum=rng.choice(lx.forums), right=rng.choice(lx.rights),
        )

    lemma = rng.choice(lx.lemmas)
    opening = f"{_we(lemma).capitalize()} " if rng.random() < 0.5 else f"We {_we(lemma)} "
    sentence = opening + phrase()
    if rng.random() < 0.5:
        sentence += f", in particular {phrase()}"
    sentence += "."
    if rng.random() < 0.35:
        sentence += f" We also {_we(rng.choice(lx.lemmas))} {phrase()}."
    return sentence


def declaration_text(rng: random.Random, lx: Lexicons, number: int = 1) -> str:
    """One generated declaration; ``number`` goes into the title, so each has its own key."""
    topic = rng.choice(lx.topics)
    title = f"{rng.choice(GENRES)} OF MEETING {number} ON {topic.upper()}"
    day = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(30 * 365))
    place = rng.choice(lx.places)
    states = rng.sample(lx.states, k=min(len(lx.states), rng.randint(2, 4)))
    speaker = rng.choice(SPEAKERS).format(group=rng.choice(lx.groups), states=", ".join(states[:-1]) + " and " + states[-1])
    n = rng.randint(3, 14)
    layout = rng.randrange(3)
    clauses = [_clause(rng, lx) for _ in range(n)]
    date_line = f"{place}, {MONTHS[day.month - 1]} {day.day}, {day.year}"
    if layout == 0:  # communiqué: opening formula, plain paragraphs, closing place and date
        body = [title, f"{speaker}:", *clauses, date_line]
    elif layout == 1:  # numbered paragraphs, place and date at the top
        body = [title, f"{place}, {day.day} {MONTHS[day.month - 1]} {day.year}", f"{speaker},",
                *[f"{i}. {c}" for i, c in enumerate(clauses, start=1)]]
    else:  # bullet-point joint statement
        body = [title, f"{speaker}:", *[f"- {c}" for c in clauses], date_line]
    return "\n\n".join(body) + "\n"


def generate(folder: Path, n: int, seed: int = 2010) -> list[Path]:
    """Write ``n`` generated declarations as ``folder/decl-00001.txt`` ... and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    lx = pools()
    paths = []
    for i in range(1, n + 1):
        path = folder / f"decl-{i:05d}.txt"
        path.write_text(declaration_text(rng, lx, i), encoding="utf-8")
        paths.append(path)
    return paths
