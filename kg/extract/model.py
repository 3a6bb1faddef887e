"""What extraction produces: plain Python objects, no RDF. :mod:`kg.rdf` turns them into triples.

Every extracted fact carries a :class:`Span`: character offsets into :attr:`Declaration.text`, the *normalised*
text (the same string that is stored as ``dec:sourceText``), so ``text[span.start:span.end]`` is the evidence.
Entities are referred to by their canonical IRI in the reference data (see :mod:`kg.namespaces`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

EntityKind = Literal[
    "state",
    "organisation",
    "group",
    "population-group",
    "right",
    "forum",
    "meeting",
    "declaration",
    "place",
]


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` in the normalised text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span {self.start}..{self.end}")


@dataclass(frozen=True, slots=True)
class SpeechAct:
    """One speech act of a clause ("We recognise ...").

    ``concept`` is the IRI of the act in the speech-act scheme, or ``None`` for a verb the scheme does not know
    (kept, with ``lemma`` the verb as written, and a warning on the declaration).
    """

    lemma: str
    concept: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class EntityMention:
    """A named actor, place, right, forum, meeting or other declaration, resolved to the reference data.

    ``span`` is ``None`` only for an adopter stated by the caller (``extract_declaration(adopters=...)``) that the
    text does not name: there are no words to point at.
    """

    kind: EntityKind
    iri: str
    span: Span | None


@dataclass(frozen=True, slots=True)
class TopicMention:
    """A topic of the thesaurus signalled by a word or phrase of the clause."""

    concept: str
    span: Span


@dataclass(frozen=True, slots=True)
class DateMention:
    value: dt.date
    span: Span


@dataclass(slots=True)
class Clause:
    """One paragraph of a declaration. ``position`` is 1-based, in document order."""

    position: int
    text: str
    span: Span
    label: str | None = None  # the number or bullet as printed ("1.", "(a)", "-"), if any
    section: Literal["preamble", "operative"] | None = None  # UN style only
    speech_acts: list[SpeechAct] = field(default_factory=list)
    entities: list[EntityMention] = field(default_factory=list)
    topics: list[TopicMention] = field(default_factory=list)
    dates: list[DateMention] = field(default_factory=list)


@dataclass(slots=True)
class Declaration:
    """A declaration as read from one document."""

    key: str  # stable, readable key of its IRI: id/declaration/{key}
    text: str  # the normalised text every span points into
    title: str
    title_span: Span | None
    clauses: list[Clause]
    date: dt.date | None = None
    date_span: Span | None = None
    place: str | None = None  # IRI of a dec:Place in the reference data
    place_span: Span | None = None
    country: str | None = None  # IRI of the dec:State the place lies in
    adopters: list[EntityMention] = field(default_factory=list)  # who speaks in the opening formula
    opening: str | None = None  # "We, the Heads of State and Government of ..."
    opening_span: Span | None = None
    meeting: str | None = None  # IRI of the dec:Meeting it was adopted at, if known
    source_name: str | None = None  # file name or URL it was read from
    media_type: str = "text/plain"
    language: str = "en"
    warnings: list[str] = field(default_factory=list)
