"""Entities and topics named in a stretch of text, resolved to the reference data and the topic thesaurus.

- Labels (``rdfs:label``, ``skos:prefLabel``, ``altLabel``, ``hiddenLabel``) are matched longest first, without
  overlap, on stemmed words (plurals, possessives), acronyms only in capitals (see :mod:`kg.extract.tokens`).
- A label names what the data says it contains: the holder inside a right's label ("the human rights of migrants"
  also names migrants), the meeting inside a declaration's label ("the Declaration of the Fifth Summit" also names the
  Fifth Summit, the meeting it was adopted at).
- Coordinated phrases share their head: "countries of origin, transit and destination" names the three labels
  "countries of origin", "countries of transit", "countries of destination"; "women and girl migrants" names
  "women migrants" and "girl migrants" where those are labels.
- A right is also a rights phrase followed in the same sentence by "of" and the holder of a right in the data
  ("the rights ... of all migrant workers").
- A meeting described rather than named ("the Sixth Summit, held in Madrid in 2010"; "its next meeting in Puerto
  Vallarta") is resolved by its cues — an ordinal, name words, a forum named nearby, a place or country, a year — against
  each meeting's labels, forum, place, country and dates in the reference data; a declaration "of" or "adopted at"
  such a meeting is the one the data says was adopted there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kg.extract.dates import find_years
from kg.extract.lexicon import ORDINALS, Entity, Lexicon
from kg.extract.model import EntityMention, Span, TopicMention
from kg.extract.tokens import Match, Token, stem, tokenize

_COORDINATORS = frozenset({",", "and", "or"})
_DETERMINERS = frozenset({"the", "all", "their", "our", "its", "these", "those", "any", "of"})
# General English nouns for one sitting of a forum; the forum itself is found in the data.
_MEETING_NOUNS = frozenset(stem(w) for w in ("meeting", "summit", "forum", "conference", "session", "dialogue"))
_DECLARATION_NOUNS = frozenset(stem(w) for w in ("declaration", "communiqué", "communique", "statement", "compact"))
_RIGHT = stem("rights")
_CUE_WINDOW = 14  # tokens after a meeting phrase in which its place and year are looked for
_RIGHT_WINDOW = 16  # tokens between a rights phrase and "of <holder>"
_SENTENCE_BREAKS = frozenset({".", ";", "!", "?"})


def find_entities(
    text: str, start: int, end: int, lexicon: Lexicon, tokens: Sequence[Token] | None = None
) -> list[EntityMention]:
    """Entity mentions in ``text[start:end]``, in text order, each with the span of the words naming it.

    ``tokens``: the tokens of that range, if the caller has them already.
    """
    tokens = tokenize(text, start, end) if tokens is None else tokens
    matches = lexicon.entity_matcher.find_all(tokens)
    mentions: list[EntityMention] = []
    for match in matches:
        mentions.extend(_mentions(match.values, Span(match.start, match.end), lexicon))
        mentions.extend(_inner(tokens, match, lexicon))
    for match in matches:  # "the Declaration adopted at the Unity Summit": the declaration of a named meeting
        meetings = {v for v in match.values if lexicon.kind(v) == "meeting"}
        start_index = _declaration_before(tokens, match.first) if meetings else None
        if start_index is not None:
            adopted = sorted(
                e.iri for e in lexicon.entities.values() if e.kind == "declaration" and e.meeting in meetings
            )
            if adopted:
                mentions.append(EntityMention("declaration", adopted[0], Span(tokens[start_index].start, match.end)))
    mentions.extend(_coordinated(tokens, matches, lexicon))
    mentions.extend(_rights(tokens, matches, lexicon))
    mentions.extend(_described_meetings(text, tokens, matches, lexicon))
    return _dedupe(mentions)


def find_topics(
    text: str, start: int, end: int, lexicon: Lexicon, tokens: Sequence[Token] | None = None
) -> list[TopicMention]:
    """Topic mentions in ``text[start:end]``: thesaurus labels, longest first, no overlap."""
    tokens = tokenize(text, start, end) if tokens is None else tokens
    out = []
    for match in lexicon.topic_matcher.find_all(tokens):
        for concept in sorted(match.values):
            out.append(TopicMention(concept, Span(match.start, match.end)))
    return out


def _mentions(iris: frozenset[str] | set[str], span: Span, lexicon: Lexicon) -> list[EntityMention]:
    return [EntityMention(lexicon.entities[iri].kind, iri, span) for iri in sorted(iris)]  # type: ignore[arg-type]


def _dedupe(mentions: list[EntityMention]) -> list[EntityMention]:
    seen: set[tuple[str, int, int]] = set()
    out = []
    for mention in sorted(mentions, key=lambda m: (m.span.start, m.span.end, m.iri)):
        key = (mention.iri, mention.span.start, mention.span.end)
        if key not in seen:
            seen.add(key)
            out.append(mention)
    return out


def _inner(tokens: Sequence[Token], match: Match, lexicon: Lexicon) -> list[EntityMention]:
    """Entities inside a label that the data relates to the labelled one (a right's holder, a declaration's meeting)."""
    related: set[str] = set()
    for iri in match.values:
        entity = lexicon.entities[iri]
        related |= entity.holders
        if entity.meeting:
            related.add(entity.meeting)
    if not related:
        return []
    inside = tokens[match.first : match.last]
    out = []
    index = 1
    while index < len(inside):
        found = lexicon.entity_matcher.match_at(inside, index)
        if found is not None and found.values & related:
            out.extend(_mentions(found.values & related, Span(found.start, found.end), lexicon))
            index = found.last
        else:
            index += 1
    return out


def _coordinated(tokens: Sequence[Token], matches: list[Match], lexicon: Lexicon) -> list[EntityMention]:
    """Labels completed from a coordinated phrase around a matched label (see the module docstring)."""
    out: list[EntityMention] = []
    matcher = lexicon.entity_matcher
    for match in matches:
        size = match.last - match.first
        label_tokens = list(tokens[match.first : match.last])
        for split in range(1, size):
            # Left-factored: "<head> X, Y and Z" where "<head> X" is the label: try "<head> Y", "<head> Z".
            head, width = label_tokens[:split], size - split
            index = match.last
            while index < len(tokens) and tokens[index].text.lower() in _COORDINATORS:
                while index < len(tokens) and tokens[index].text.lower() in _COORDINATORS:
                    index += 1
                if index + width > len(tokens):
                    break
                candidate = head + list(tokens[index : index + width])
                found = matcher.match_at(candidate, 0)
                if found is None or found.last != len(candidate):
                    break
                out.extend(_mentions(found.values, Span(match.start, tokens[index + width - 1].end), lexicon))
                index += width
            # Right-factored: "X and Y <tail>" where "Y <tail>" is the label: try "X <tail>".
            tail, width = label_tokens[split:], split
            index = match.first - 1
            while index >= width and tokens[index].text.lower() in _COORDINATORS:
                first = index - width
                candidate = list(tokens[first:index]) + tail
                found = matcher.match_at(candidate, 0)
                if found is None or found.last != len(candidate):
                    break
                out.extend(_mentions(found.values, Span(tokens[first].start, match.end), lexicon))
                index = first - 1
    return out


@dataclass(frozen=True, slots=True)
class _Kinds:
    """The lexicon's rights by the population groups holding them, and its meetings (derived once per lexicon)."""

    entities: dict[str, Entity]
    size: int
    rights_by_holder: dict[str, list[Entity]]
    meetings: list[Entity]


_KINDS: dict[int, _Kinds] = {}


def _by_kind(lexicon: Lexicon) -> _Kinds:
    """:class:`_Kinds` of ``lexicon``, cached by the identity of its entity table (kept alive by the cache, so the
    identity is not reused) and rebuilt if that table changed size."""
    entities = lexicon.entities
    found = _KINDS.get(id(entities))
    if found is not None and found.entities is entities and found.size == len(entities):
        return found
    rights_by_holder: dict[str, list[Entity]] = {}
    for entity in entities.values():
        if entity.kind == "right":
            for holder in entity.holders:
                rights_by_holder.setdefault(holder, []).append(entity)
    meetings = [e for e in entities.values() if e.kind == "meeting"]
    if len(_KINDS) >= 8:
        _KINDS.clear()
    found = _KINDS[id(entities)] = _Kinds(entities, len(entities), rights_by_holder, meetings)
    return found


def _rights(tokens: Sequence[Token], matches: list[Match], lexicon: Lexicon) -> list[EntityMention]:
    """Rights named as "<rights phrase> ... of <holder>" where no right's label matched the phrase."""
    rights_by_holder = _by_kind(lexicon).rights_by_holder
    out: list[EntityMention] = []
    holder_matches = [m for m in matches if any(v in rights_by_holder for v in m.values)]
    for index, token in enumerate(tokens):
        if token.key != _RIGHT or any(m.first <= index < m.last for m in matches):
            continue
        first = index
        if index and tokens[index - 1].is_word and tokens[index - 1].text.lower() not in _DETERMINERS:
            first = index - 1
        for holder in holder_matches:
            if not index < holder.first <= index + _RIGHT_WINDOW:
                continue
            between = tokens[index + 1 : holder.first]
            if any(t.text in _SENTENCE_BREAKS for t in between) or not any(t.text.lower() == "of" for t in between[-3:]):
                continue
            for holder_iri in sorted(v for v in holder.values if v in rights_by_holder):
                best = _best_right(rights_by_holder[holder_iri], tokens[first : index + 1])
                out.append(EntityMention("right", best.iri, Span(tokens[first].start, holder.end)))
            break
    return out


def _best_right(candidates: list[Entity], phrase: Sequence[Token]) -> Entity:
    words = {t.key for t in phrase}
    return max(candidates, key=lambda e: (len(words & e.label_keys), -len(e.label_keys), e.iri))


def _described_meetings(text: str, tokens: Sequence[Token], matches: list[Match], lexicon: Lexicon) -> list[EntityMention]:
    """Meetings (and the declarations adopted at them) described by cues rather than named."""
    meetings = _by_kind(lexicon).meetings
    out: list[EntityMention] = []
    covered = {i for m in matches for i in range(m.first, m.last)}
    for index, token in enumerate(tokens):
        if index in covered:
            continue
        ordinal = ORDINALS.get(token.text.lower())
        noun = token.key in _MEETING_NOUNS
        if ordinal is None and not noun:
            continue
        # The phrase: an ordinal and the capitalised name words after it, or the meeting noun alone.
        last = index + 1
        if ordinal is not None:
            while last < len(tokens) and last not in covered and (
                tokens[last].text[:1].isupper()
                or (
                    tokens[last].text.lower() in ("of", "on", "and", "for")
                    and last + 1 < len(tokens)
                    and tokens[last + 1].text[:1].isupper()
                )
            ):
                last += 1
            if last == index + 1:
                continue
        sentence_start, sentence_end = _sentence(tokens, index)
        window_end = min(sentence_end, last + _CUE_WINDOW)
        cue_places = {
            v
            for m in matches
            if last <= m.first < window_end
            for v in m.values
            if lexicon.kind(v) in ("place", "state")
        }
        forums = {
            v for m in matches if sentence_start <= m.first < window_end for v in m.values if lexicon.kind(v) == "forum"
        }
        years = {y for y, _, _ in find_years(text, tokens[last - 1].end, tokens[window_end - 1].end)} if window_end > last else set()
        if ordinal is None and not (forums and (cue_places or years)):
            continue  # a bare "meeting" needs a forum and a place or year to say which
        name_keys = {t.key for t in tokens[index + 1 : last]} or {token.key}
        best = _best_meeting(meetings, ordinal, name_keys, forums, cue_places, years)
        if best is None:
            continue
        span = Span(tokens[index].start, tokens[last - 1].end)
        out.append(EntityMention("meeting", best.iri, span))
        declaration_start = _declaration_before(tokens, index)
        if declaration_start is not None:
            adopted = sorted(e.iri for e in lexicon.entities.values() if e.kind == "declaration" and e.meeting == best.iri)
            if adopted:
                out.append(EntityMention("declaration", adopted[0], Span(tokens[declaration_start].start, span.end)))
    return out


def _sentence(tokens: Sequence[Token], index: int) -> tuple[int, int]:
    start = index
    while start > 0 and tokens[start - 1].text not in _SENTENCE_BREAKS:
        start -= 1
    end = index
    while end < len(tokens) and tokens[end].text not in _SENTENCE_BREAKS:
        end += 1
    return start, end


def _declaration_before(tokens: Sequence[Token], index: int) -> int | None:
    """The index of "Declaration" in "Declaration of the <meeting>", if the meeting phrase at ``index`` follows one."""
    back = index - 1
    while back >= 0 and tokens[back].text.lower() in ("the", "of", "adopted", "at", "by", "its"):
        back -= 1
    if back >= 0 and tokens[back].key in _DECLARATION_NOUNS and back < index - 1:
        return back
    return None


def _best_meeting(
    meetings: list[Entity], ordinal: int | None, name_keys: set[str], forums: set[str], places: set[str], years: set[int]
) -> Entity | None:
    """The one meeting consistent with every cue given, preferring the most cues matched; ``None`` if none or a tie."""
    scored: list[tuple[int, str, Entity]] = []
    for meeting in meetings:
        score = 0
        if ordinal is not None:
            if meeting.ordinal != ordinal:
                continue
            score += 2
        if forums:
            if not meeting.forums & forums:
                continue
            score += 2
        if years:
            if not meeting.years & years:
                continue
            score += 2
        if places:
            if not (meeting.places | meeting.countries) & places:
                continue
            score += 2
        overlap = len(name_keys & meeting.label_keys)
        if ordinal is not None and overlap == 0:
            continue
        scored.append((score + overlap, meeting.iri, meeting))
    if not scored:
        return None
    scored.sort(key=lambda item: (-item[0], item[1]))
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None  # the cues do not say which
    return scored[0][2] if scored[0][0] >= 4 else None
