"""Entities and topics named in a stretch of text, resolved to the reference data and the topic thesaurus.

- Labels (``rdfs:label``, ``skos:prefLabel``, ``altLabel``, ``hiddenLabel``) are matched longest first, without
  overlap, on stemmed words (plurals, possessives), acronyms only in capitals (see :mod:`kg.extract.tokens`).
- Coordinated phrases share their head: "countries of origin, transit and destination" names the three labels
  "countries of origin", "countries of transit", "countries of destination"; "women and girl migrants" names
  "women migrants" and "girl migrants" where those are labels.
- A right is a rights phrase ("human rights", "fundamental rights") followed in the same sentence by "of" and a
  population group that holds a right of the reference data: "the human rights ... of all migrants".
- A meeting or declaration described rather than named ("the Declaration of the Fifth Summit, held in Lima in
  2008"; "the Fourth Global Forum on Migration and Development, to be held in Mexico in 2010") is resolved by its
  cues — an ordinal, the forum's or meeting's name words, a place or country, a year — against each meeting's and
  declaration's labels, forum, place, country and dates in the reference data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kg.extract.dates import find_years
from kg.extract.lexicon import ORDINALS, Entity, Lexicon
from kg.extract.model import EntityMention, Span, TopicMention
from kg.extract.tokens import Match, Token, tokenize

_COORDINATORS = frozenset({",", "and", "or", "as well as"})
_DETERMINERS = frozenset({"the", "all", "their", "our", "its", "of", "these", "those", "any"})
_CUE_WINDOW = 18  # tokens after a meeting phrase in which its place and year are looked for
_RIGHT_WINDOW = 16  # tokens between a rights phrase and "of <holder>"


def find_entities(text: str, start: int, end: int, lexicon: Lexicon) -> list[EntityMention]:
    """Entity mentions in ``text[start:end]``, in text order, each with the span of the words naming it."""
    tokens = tokenize(text, start, end)
    matches = lexicon.entity_matcher.find_all(tokens)
    mentions: list[EntityMention] = []
    used: set[int] = set()  # token indexes consumed by a description
    for match in matches:
        for iri in sorted(match.values):
            mentions.append(EntityMention(lexicon.entities[iri].kind, iri, Span(match.start, match.end)))  # type: ignore[arg-type]
    mentions.extend(_coordinated(tokens, matches, lexicon))
    mentions.extend(_rights(text, tokens, matches, lexicon))
    mentions.extend(_descriptions(text, tokens, matches, lexicon, used))
    return _dedupe(mentions)


def find_topics(text: str, start: int, end: int, lexicon: Lexicon) -> list[TopicMention]:
    """Topic mentions in ``text[start:end]``: thesaurus labels, longest first, no overlap."""
    tokens = tokenize(text, start, end)
    out = []
    for match in lexicon.topic_matcher.find_all(tokens):
        for concept in sorted(match.values):
            out.append(TopicMention(concept, Span(match.start, match.end)))
    return out


def _dedupe(mentions: list[EntityMention]) -> list[EntityMention]:
    seen: set[tuple[str, int, int]] = set()
    out = []
    for mention in sorted(mentions, key=lambda m: (m.span.start, m.span.end, m.iri)):
        key = (mention.iri, mention.span.start, mention.span.end)
        if key not in seen:
            seen.add(key)
            out.append(mention)
    return out


def _coordinated(tokens: Sequence[Token], matches: list[Match], lexicon: Lexicon) -> list[EntityMention]:
    """Labels completed from a coordinated phrase around a matched label (see the module docstring)."""
    out: list[EntityMention] = []
    matcher = lexicon.entity_matcher
    for match in matches:
        label_tokens = tokens[match.first : match.last]
        # Left-factored: "<head ... of> X, Y and Z" where "<head of> X" matched: try "<head of> Y", "<head of> Z".
        for split in range(1, len(label_tokens)):
            head = list(label_tokens[:split])
            index = match.last
            while index < len(tokens) and tokens[index].text.lower() in _COORDINATORS:
                index += 1
                if index < len(tokens) and tokens[index].text.lower() in _COORDINATORS:
                    continue
                candidate = head + list(tokens[index : index + (len(label_tokens) - split)])
                found = matcher.match_at(candidate, 0)
                if found is None or found.last != len(candidate):
                    break
                last = index + len(label_tokens) - split
                for iri in sorted(found.values):
                    span = Span(match.start, tokens[last - 1].end)
                    out.append(EntityMention(lexicon.entities[iri].kind, iri, span))  # type: ignore[arg-type]
                index = last
        # Right-factored: "X and Y <tail>" where "Y <tail>" matched: try "X <tail>".
        for split in range(1, len(label_tokens)):
            tail = list(label_tokens[split:])
            index = match.first + split - 1  # the last token of the first part of the label
            index = match.first - 1
            while index >= 1 and tokens[index].text.lower() in _COORDINATORS:
                word = tokens[index - 1]
                candidate = list(tokens[index - split : index]) + tail
                if index - split < 0:
                    break
                found = matcher.match_at(candidate, 0)
                if found is None or found.last != len(candidate):
                    break
                for iri in sorted(found.values):
                    span = Span(tokens[index - split].start, match.end)
                    out.append(EntityMention(lexicon.entities[iri].kind, iri, span))  # type: ignore[arg-type]
                index = index - split - 1
                del word
    return out


def _rights(text: str, tokens: Sequence[Token], matches: list[Match], lexicon: Lexicon) -> list[EntityMention]:
    """Rights named as "<rights phrase> ... of <holder>"; resolved to the right held by that population group."""
    rights_by_holder: dict[str, list[Entity]] = {}
    for entity in lexicon.entities.values():
        if entity.kind == "right":
            for holder in entity.holders:
                rights_by_holder.setdefault(holder, []).append(entity)
    if not rights_by_holder:
        return []
    out: list[EntityMention] = []
    holder_matches = [m for m in matches if any(v in rights_by_holder for v in m.values)]
    for index, token in enumerate(tokens):
        if token.key != "right":
            continue
        # Already part of a matched right label? Then the label said it.
        if any(m.first <= index < m.last and any(lexicon.kind(v) == "right" for v in m.values) for m in matches):
            continue
        first = index - 1 if index and tokens[index - 1].is_word and tokens[index - 1].text.lower() not in _DETERMINERS else index
        for holder in holder_matches:
            if not index < holder.first <= index + _RIGHT_WINDOW:
                continue
            between = tokens[index + 1 : holder.first]
            if any(t.text in (".", ";") for t in between):
                continue
            if not any(t.text.lower() == "of" for t in between[-3:]):
                continue
            for holder_iri in sorted(v for v in holder.values if v in rights_by_holder):
                candidates = rights_by_holder[holder_iri]
                best = _best_right(candidates, tokens[first : index + 1])
                out.append(EntityMention("right", best.iri, Span(tokens[first].start, holder.end)))
            break
    return out


def _best_right(candidates: list[Entity], phrase: Sequence[Token]) -> Entity:
    words = {t.key for t in phrase}
    return max(candidates, key=lambda e: (len(words & e.label_keys), -len(e.label_keys), e.iri))


def _descriptions(
    text: str, tokens: Sequence[Token], matches: list[Match], lexicon: Lexicon, used: set[int]
) -> list[EntityMention]:
    """Meetings and declarations described by an ordinal, name words, a place and a year (module docstring)."""
    meetings = [e for e in lexicon.entities.values() if e.kind == "meeting"]
    declarations = [e for e in lexicon.entities.values() if e.kind == "declaration"]
    if not meetings:
        return []
    out: list[EntityMention] = []
    matched_at = {m.first: m for m in matches}
    for index, token in enumerate(tokens):
        ordinal = ORDINALS.get(token.text.lower())
        if ordinal is None:
            continue
        # The phrase: ordinal + capitalised name words (and the "of/on/and" between them).
        last = index + 1
        while last < len(tokens) and (
            tokens[last].text[:1].isupper() or (tokens[last].text.lower() in ("of", "on", "and", "for") and last + 1 < len(tokens) and tokens[last + 1].text[:1].isupper())
        ):
            last += 1
        name_keys = {t.key for t in tokens[index + 1 : last]}
        if not name_keys:
            continue
        window_end = min(len(tokens), last + _CUE_WINDOW)
        for stop in range(last, window_end):
            if tokens[stop].text in (".", ";"):
                window_end = stop
                break
        cue_places = {
            v for m in matches if last <= m.first < window_end for v in m.values if lexicon.kind(v) in ("place", "state")
        }
        forums = {v for m in matches if index < m.first < last for v in m.values if lexicon.kind(v) == "forum"}
        cue_end = tokens[window_end - 1].end if window_end > last else tokens[last - 1].end
        years = {y for y, _, _ in find_years(text, tokens[index].start, cue_end)}
        best = _best_meeting(meetings, ordinal, name_keys, forums, cue_places, years)
        if best is None:
            continue
        span_end = tokens[last - 1].end
        year_ends = [e for _, _, e in find_years(text, tokens[last - 1].end, cue_end)]
        if year_ends:
            span_end = year_ends[0]
        # "the Declaration of the Fifth Summit": the declaration adopted at that meeting.
        declaration_start = _declaration_before(tokens, index)
        if declaration_start is not None:
            adopted = [d for d in declarations if d.meeting == best.iri]
            if adopted:
                out.append(EntityMention("declaration", adopted[0].iri, Span(tokens[declaration_start].start, span_end)))
        out.append(EntityMention("meeting", best.iri, Span(tokens[index].start, span_end)))
        del matched_at
        matched_at = {}
    return out


def _declaration_before(tokens: Sequence[Token], index: int) -> int | None:
    """The index of "Declaration" in "Declaration of the <ordinal>", if the ordinal at ``index`` follows one."""
    back = index - 1
    while back >= 0 and tokens[back].text.lower() in ("the", "of", "adopted", "at", "by"):
        back -= 1
    if back >= 0 and tokens[back].key in ("declaration", "communiqué", "communique", "statement") and tokens[back].text[:1].isupper():
        return back
    return None


def _best_meeting(
    meetings: list[Entity], ordinal: int, name_keys: set[str], forums: set[str], places: set[str], years: set[int]
) -> Entity | None:
    best: tuple[int, str] | None = None
    chosen = None
    for meeting in meetings:
        score = 0
        if meeting.ordinal is not None:
            if meeting.ordinal != ordinal:
                continue
            score += 2
        if forums:
            if meeting.forum not in forums:
                continue
            score += 3
        if years:
            if meeting.years and not meeting.years & years:
                continue
            score += 2 if meeting.years & years else 0
        if places:
            if not (meeting.places | meeting.countries) & places:
                continue
            score += 2
        overlap = len(name_keys & meeting.label_keys)
        if overlap == 0:
            continue
        score += overlap
        if best is None or (score, meeting.iri) > best:
            best = (score, meeting.iri)
            chosen = meeting
    if chosen is None or best is None or best[0] < 4:
        return None
    return chosen


_ = re  # kept for future patterns
