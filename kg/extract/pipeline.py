"""From a document's text to a :class:`kg.extract.model.Declaration`: normalise, segment, recognise, resolve."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

from kg.errors import BadInput, NotADeclaration
from kg.extract.dates import find_dates
from kg.extract.entities import find_entities, find_topics
from kg.extract.lexicon import Lexicon, load_lexicon
from kg.extract.model import Clause, DateMention, Declaration, EntityMention, Span
from kg.extract.normalise import normalise
from kg.extract.readers import HTML, html_to_text, looks_like_html
from kg.extract.speech_acts import find_speech_acts
from kg.extract.structure import Layout, segment
from kg.extract.tokens import tokenize
from kg.namespaces import ID_BASE, slugify

log = logging.getLogger(__name__)

_ADOPTER_KINDS = ("group", "state", "organisation")
_NAME_NOT_TOPIC = ("organisation",)
_SMALL_WORDS = frozenset("a an and as at by for in of on or the to with from into upon via de del la las los le les et".split())
_KEY_MAX_LENGTH = 80
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9\-\.]*$")  # as kg.namespaces requires of a key segment


def extract_declaration(
    text: str,
    *,
    media_type: str = "text/plain",
    source_name: str | None = None,
    key: str | None = None,
    title: str | None = None,
    date: dt.date | None = None,
    place: str | None = None,
    adopters: list[str] | None = None,
    lexicon: Lexicon | None = None,
) -> Declaration:
    """Extract a declaration from its text.

    ``text`` is the document as read by :func:`kg.extract.read_document` (HTML markup is converted if it is still
    there). The keyword arguments give metadata the text lacks and override what it says: ``key`` (else the
    slugified title and the year, see :func:`default_key`), ``title``, ``date``, ``place`` (IRI of a place in the
    reference data, or its short form "place/lima") and ``adopters`` (IRIs or short forms of actors). Returns the
    declaration with every fact's span in its normalised text; a stated value the text does not contain has no
    span. Unknown verbs in governing position are kept as acts without a concept and listed in ``warnings``.

    Raises :class:`kg.errors.NotADeclaration` when no clause or no title is found, and :class:`kg.errors.BadInput`
    when the text is empty or ``key`` is not a slug.
    """
    name = source_name or "document"
    if media_type == HTML and looks_like_html(text):
        text = html_to_text(text)
    lexicon = lexicon or load_lexicon()
    normalised = normalise(text, known_words=lexicon.words)
    if not normalised.strip():
        raise BadInput(f"{name}: the document has no text", file=name)
    layout = segment(normalised)
    if not layout.clauses:
        raise NotADeclaration(
            f"{name}: no clauses found (expected paragraphs of declaration text after a title or opening formula)",
            file=name,
        )
    warnings: list[str] = []
    clauses = _clauses(normalised, layout, lexicon, warnings)
    declaration = Declaration(
        key="",
        text=normalised,
        title="",
        title_span=None,
        clauses=clauses,
        source_name=source_name,
        media_type=media_type,
        warnings=warnings,
    )
    _metadata(declaration, layout, lexicon)
    if title:
        declaration.title, declaration.title_span = title, _find_span(normalised, title)
    if not declaration.title:
        raise NotADeclaration(f"{name}: no title found; give one with title=", file=name)
    if date and date != declaration.date:
        declaration.date, declaration.date_span = date, None
    if place:
        place = _iri(place)
        if declaration.place != place:  # the text's place line names another place, or none
            spans = [m.span for c in declaration.clauses for m in c.entities if m.iri == place]
            declaration.place, declaration.place_span = place, spans[0] if spans else None
        countries = lexicon.entities[place].countries if place in lexicon.entities else set()
        declaration.country = sorted(countries)[0] if countries else None
    if adopters:
        declaration.adopters = [_stated_adopter(declaration, _iri(iri), lexicon) for iri in adopters]
    if declaration.meeting is None:
        declaration.meeting = _meeting_held(declaration, lexicon)
    if declaration.date is None:
        warnings.append("no date found in the text (state it with date=)")
    if declaration.place is None:
        warnings.append("no place of the reference data found in the text (state it with place=)")
    if key is not None and not _KEY_RE.match(key):
        raise BadInput(f"{name}: key {key!r} must be a lower-case slug (letters, digits, '-', '.')", file=name)
    declaration.key = key or default_key(declaration.title, declaration.date)
    for message in warnings:
        log.info("%s: %s", name, message)
    return declaration


def _stated_adopter(declaration: Declaration, iri: str, lexicon: Lexicon) -> EntityMention:
    """An adopter given by the caller, with the span of its first mention in the opening or the text, if any."""
    kind = lexicon.kind(iri) or "group"
    for mention in declaration.adopters:
        if mention.iri == iri:
            return mention
    for clause in declaration.clauses:
        for mention in clause.entities:
            if mention.iri == iri:
                return EntityMention(mention.kind, iri, mention.span)
    return EntityMention(kind, iri, None)  # type: ignore[arg-type]


def _meeting_held(declaration: Declaration, lexicon: Lexicon) -> str | None:
    """The one meeting of the reference data held at the declaration's place on its date, if there is one."""
    if declaration.place is None or declaration.date is None:
        return None
    found = []
    for entity in lexicon.entities.values():
        if entity.kind != "meeting" or declaration.place not in entity.places or not entity.dates:
            continue
        if min(entity.dates) <= declaration.date <= max(entity.dates):
            found.append(entity.iri)
    return found[0] if len(found) == 1 else None


def default_key(title: str, date: dt.date | None) -> str:
    """The key of a declaration without one: its slugified title (at most 80 characters, cut between words), then
    its year.

    >>> default_key("Special Communiqué on Migration", dt.date(2010, 2, 23))
    'special-communique-on-migration-2010'
    """
    slug = slugify(title)
    if len(slug) > _KEY_MAX_LENGTH:  # cut between words
        slug = slug[: _KEY_MAX_LENGTH + 1].rsplit("-", 1)[0]
    slug = slug.strip("-") or "declaration"
    if date and not slug.endswith(str(date.year)):
        slug = f"{slug}-{date.year}"
    return slug


def _clauses(text: str, layout: Layout, lexicon: Lexicon, warnings: list[str]) -> list[Clause]:
    opening_is_colon = layout.opening is not None and layout.opening.text.endswith(":")
    out = []
    for position, block in enumerate(layout.clauses, start=1):
        start_is_verb = opening_is_colon or block.section is not None or block.label is not None
        tokens = tokenize(text, block.start, block.end)
        acts, act_warnings = find_speech_acts(
            text, block.start, block.end, lexicon, clause_start_is_verb=start_is_verb, tokens=tokens
        )
        warnings.extend(f"clause {position}: {w}" for w in act_warnings)
        entities = find_entities(text, block.start, block.end, lexicon, tokens)
        # The words of an organisation's name are not a subject of the clause ("Organization for Migration").
        names = [m.span for m in entities if m.kind in _NAME_NOT_TOPIC]
        topics = [
            t
            for t in find_topics(text, block.start, block.end, lexicon, tokens)
            if not any(n.start <= t.span.start and t.span.end <= n.end for n in names)
        ]
        clause = Clause(
            position=position,
            text=block.text,
            span=Span(block.start, block.end),
            label=block.label,
            section=block.section,
            speech_acts=acts,
            entities=entities,
            topics=topics,
            dates=[DateMention(value, Span(s, e)) for value, s, e in find_dates(text, block.start, block.end)],
        )
        out.append(clause)
    return out


def _metadata(declaration: Declaration, layout: Layout, lexicon: Lexicon) -> None:
    text = declaration.text
    if layout.title is not None:
        declaration.title = readable_title(layout.title.text, lexicon.acronyms)
        declaration.title_span = Span(layout.title.start, layout.title.end)
    if layout.opening is not None:
        declaration.opening = layout.opening.text
        declaration.opening_span = Span(layout.opening.start, layout.opening.end)
        mentions = find_entities(text, layout.opening.start, layout.opening.end, lexicon)
        declaration.adopters = [m for m in mentions if m.kind in _ADOPTER_KINDS]
    line = layout.date_line
    if line is not None:
        dates = find_dates(text, line.start, line.end)
        if dates:
            value, s, e = dates[0]
            declaration.date, declaration.date_span = value, Span(s, e)
        mentions = find_entities(text, line.start, line.end, lexicon)
        places = [m for m in mentions if m.kind == "place"]
        states = [m for m in mentions if m.kind == "state"]
        if places:
            declaration.place, declaration.place_span = places[0].iri, places[0].span
            countries = lexicon.entities[places[0].iri].countries
            declaration.country = sorted(countries)[0] if countries else (states[0].iri if states else None)
        elif states:
            declaration.country = states[0].iri
    if line is None and layout.opening is not None and declaration.place is None:
        # No date line: the place the opening formula says they met in ("meeting in Lima").
        opening_places = [
            m for m in find_entities(text, layout.opening.start, layout.opening.end, lexicon) if m.kind == "place"
        ]
        if opening_places:
            declaration.place, declaration.place_span = opening_places[0].iri, opening_places[0].span
            countries = lexicon.entities[opening_places[0].iri].countries
            declaration.country = sorted(countries)[0] if countries else None
    if declaration.date is None:
        # No date line: the first full date before the first clause (a dateline in the heading), if any.
        first = layout.clauses[0].start if layout.clauses else len(text)
        dates = find_dates(text, 0, first)
        if dates:
            value, s, e = dates[0]
            declaration.date, declaration.date_span = value, Span(s, e)


def readable_title(title: str, acronyms: frozenset[str] = frozenset()) -> str:
    """A heading written in capitals, in title case; other headings as written. Acronyms stay in capitals.

    >>> readable_title("SPECIAL COMMUNIQUÉ ON COOPERATION ON MIGRATION ISSUES")
    'Special Communiqué on Cooperation on Migration Issues'
    >>> readable_title("JOINT STATEMENT OF THE EU AND CELAC", frozenset({"EU", "CELAC"}))
    'Joint Statement of the EU and CELAC'
    """
    letters = [c for c in title if c.isalpha()]
    if not letters or not all(c.isupper() for c in letters):
        return title

    def word(match: re.Match[str]) -> str:
        w = match.group()
        if w in acronyms:
            return w
        if w.lower() in _SMALL_WORDS and match.start() > 0:
            return w.lower()
        return w[:1] + w[1:].lower()

    return re.sub(r"[^\W\d_]+", word, title)


def _find_span(text: str, phrase: str) -> Span | None:
    """Where ``phrase`` is written in ``text`` as whole words, in any case (a title given by the caller)."""
    match = re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text, re.IGNORECASE)
    return Span(match.start(), match.end()) if match else None


def _iri(value: str) -> str:
    """An IRI from an IRI or a short ``type/key`` ("place/lima")."""
    return value if "://" in value else ID_BASE + value.strip("/")


def extract_file(path: Path | str, **kwargs: object) -> Declaration:
    """Read and extract one file (see :func:`extract_declaration` for the keyword arguments)."""
    from kg.extract.readers import read_document

    text, media_type = read_document(path)
    return extract_declaration(text, media_type=media_type, source_name=str(path), **kwargs)  # type: ignore[arg-type]


def kinds_of(clause: Clause, lexicon: Lexicon | None = None) -> set[str]:
    """The kinds of a clause (IRIs of ``dec:Commitment``, ``dec:Appeal``...), from its acts' classes in the scheme."""
    lexicon = lexicon or load_lexicon()
    kinds: set[str] = set()
    for act in clause.speech_acts:
        if act.concept:
            kinds |= lexicon.kinds_of_concept(act.concept)
    return kinds

