"""Speech acts: the verbs in governing position of a clause, mapped to the speech-act scheme.

A governing position is the start of the clause (after its number or bullet; "Highlight ...", "Recalling ...",
"Also decides ..."), the word after a governing "we" or "they" ("We also note ...", "..., we call for ...", "We
therefore underscoring ..."), or the verb after a capitalised subject opening a sentence in a third-person
statement ("The Ministers welcomed ..."). A pronoun governs at the start of a sentence or after a comma, semicolon,
colon, "and" or "but" — not after "that" or a noun ("the challenges we face"). Adverbs between ("also", "thus",
"therefore", "-ly" words) are skipped. A verb coordinated with a governing one ("We deplore X and support Y") is an
act too. Verbs elsewhere ("the need to promote", "to strengthen") are not acts.

The longest surface form of the scheme wins ("are also resolved" over "resolved"). A word in governing position
that the scheme does not know becomes an unknown act (``concept=None``, the word as ``lemma``) with a warning —
unless it is a function word, which means the position was not a verb's after all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kg.extract.lexicon import Lexicon
from kg.extract.model import Span, SpeechAct
from kg.extract.tokens import Match, Token, tokenize

# General English: words that are never the governing verb. Not a lexicon of acts or entities.
FUNCTION_WORDS = frozenset(
    """a an the this that these those it its their our his her my your we us they them he she i you there here
    at in on of for to from by with without within into onto upon over under about across after before during
    since until between among amongst through throughout towards toward against beyond despite per via as like
    and or but nor so yet if whether while although though because unless where when which who whom whose what
    all any both each every either neither no not some such other another same more most many much few several
    be is are was were been being have has had do does did will would shall should may might can could must
    also thus therefore further furthermore hence moreover likewise however again once still now then indeed
    consequently accordingly finally lastly firstly secondly thirdly meanwhile together only even just very""".split()
)
# Adverbs and connectives skipped between "we" and its verb (general English, plus the "-ly" rule below).
_SKIPPABLE = frozenset(
    """also thus therefore further furthermore hereby again once still now hence moreover likewise jointly
    collectively together both all moreover accordingly consequently however indeed""".split()
)
_AUXILIARIES = frozenset("are have will shall do remain must should would can hereby".split())
_PRONOUNS = frozenset({"we", "they"})
# Words that may join the capitalised words of a named subject ("The Ministers of the European Union and of ...").
_SUBJECT_LINKS = frozenset({"of", "and", "the", "for", "on", "in", "(", ")", "'"})
_MAX_SUBJECT_TOKENS = 20
_GOVERNING_BEFORE_WE = frozenset({",", ";", ":", "and", "but", "(", "—", "–"})
_SENTENCE_END = frozenset({".", "!", "?"})


def is_adverb(token: Token) -> bool:
    """A skippable adverb or connective: "also", "therefore", "firmly" ("apply", "rely" are not)."""
    word = token.text.lower()
    if word in _SKIPPABLE:
        return True
    return len(word) >= 5 and word.endswith("ly") and not word.endswith("ply")


def find_speech_acts(
    text: str,
    start: int,
    end: int,
    lexicon: Lexicon,
    *,
    clause_start_is_verb: bool = True,
    tokens: Sequence[Token] | None = None,
) -> tuple[list[SpeechAct], list[str]]:
    """The speech acts of the clause ``text[start:end]``, in order, and warnings for unknown verbs.

    ``clause_start_is_verb``: whether the clause's first word is in governing position when the scheme does not
    know it (true after an opening formula ending in a colon, for UN-style paragraphs and for list items); a
    known surface form at the clause start is always an act.
    """
    tokens = tokenize(text, start, end) if tokens is None else tokens
    acts: list[SpeechAct] = []
    warnings: list[str] = []

    def taken(start: int, end: int) -> bool:
        return any(a.span.start < end and start < a.span.end for a in acts)

    def take(position: int, *, unknown_allowed: bool, after_we: bool = False) -> None:
        if position >= len(tokens) or taken(tokens[position].start, tokens[position].end):
            return
        act = _act_at(tokens, position, lexicon, unknown_allowed=unknown_allowed, after_we=after_we)
        if act is not None and not taken(act.span.start, act.span.end):
            acts.append(act)
            if act.concept is None:
                warnings.append(
                    f"unrecognised speech act {act.lemma!r} at {act.span.start}..{act.span.end}: "
                    f"not a surface form of the speech-act scheme"
                )

    subject_acts = []
    for index in _sentence_starts(tokens):
        subject_end = _named_subject(tokens, index)
        if subject_end is not None:
            match = _match_skipping_adverbs(tokens, _skip_adverbs(tokens, subject_end), lexicon)
            if match is not None:
                subject_acts.append((index, _known(match, tokens, lexicon)))
    if tokens and not any(index == 0 for index, _ in subject_acts):
        take(0, unknown_allowed=clause_start_is_verb and tokens[0].text[:1].isupper())
    for _, act in subject_acts:
        if not taken(act.span.start, act.span.end):
            acts.append(act)
    for index, token in enumerate(tokens):
        if token.text.lower() not in _PRONOUNS:
            continue
        before = tokens[index - 1].text.lower() if index else None
        if index and before not in _GOVERNING_BEFORE_WE and before not in _SENTENCE_END:
            continue
        if index == 0 and acts and acts[0].span.start == token.start:
            continue  # "We are resolved": the clause start already took it
        take(index, unknown_allowed=True, after_we=True)
    acts.extend(_coordinated(tokens, acts, lexicon))
    acts.sort(key=lambda act: act.span.start)
    return acts, warnings


_NOT_AFTER_COORDINATED = frozenset({"of", "for", "from", "is", "are", "was", "were", ",", ".", ";", ":", "and", "or"})


def _inflection(word: str) -> str:
    word = word.lower()
    if word.endswith("ing"):
        return "ing"
    if word.endswith("ed"):
        return "ed"
    if word.endswith("s") and not word.endswith("ss"):
        return "s"
    return "base"


def _coordinated(tokens: Sequence[Token], acts: list[SpeechAct], lexicon: Lexicon) -> list[SpeechAct]:
    """Acts coordinated with a governing one in its sentence: "We deplore X and support Y".

    The verb after "and" must be a surface form of the scheme in the same inflection as the governing verb
    ("Reaffirm ... and reject", "Recognizing ... and noting") and not read as a noun ("and support for").
    """
    out: list[SpeechAct] = []
    known = [act for act in acts if act.concept is not None]
    starts = {act.span.start for act in acts}
    for act in known:
        governing = next((t for t in tokens if t.start >= act.span.start and t.text.lower() != "we"), None)
        if governing is None:
            continue
        index = next((i for i, t in enumerate(tokens) if t.start >= act.span.end), len(tokens))
        while index < len(tokens) and tokens[index].text not in _SENTENCE_END:
            token = tokens[index]
            if token.text.lower() in _PRONOUNS or token.start in starts:
                break  # the next governed act takes over
            if token.text.lower() != "and":
                index += 1
                continue
            verb = _skip_adverbs(tokens, index + 1)
            match = _match_skipping_adverbs(tokens, verb, lexicon) if verb < len(tokens) else None
            if (
                match is not None
                and tokens[verb].text[:1].islower()
                and _inflection(tokens[verb].text) == _inflection(governing.text)
                and (match.last >= len(tokens) or tokens[match.last].text.lower() not in _NOT_AFTER_COORDINATED)
            ):
                out.append(_known(match, tokens, lexicon))
                index = match.last
            else:
                index += 1
    return out


def _sentence_starts(tokens: Sequence[Token]) -> list[int]:
    return [0] + [i + 1 for i, t in enumerate(tokens[:-1]) if t.text in _SENTENCE_END]


def _named_subject(tokens: Sequence[Token], index: int) -> int | None:
    """Where the verb would be after a capitalised subject opening a sentence ("The Ministers welcomed ..."):
    capitalised words and the small words joining them; ``None`` unless the subject is followed by a lower-case
    word and is not "We"/"They" (handled as pronouns) or a known act itself ("Recalling ...")."""
    first = tokens[index] if index < len(tokens) else None
    if first is None or not first.text[:1].isupper() or first.text.lower() in _PRONOUNS | FUNCTION_WORDS - {"the"}:
        return None
    end = index
    while end < len(tokens) and end - index < _MAX_SUBJECT_TOKENS and (
        tokens[end].text[:1].isupper() or tokens[end].text.lower() in _SUBJECT_LINKS
    ):
        end += 1
    if end == index or end >= len(tokens) or not tokens[end].text[:1].islower():
        return None
    if tokens[end - 1].text.lower() in _SUBJECT_LINKS - {")"}:
        return None
    return end


def _act_at(
    tokens: Sequence[Token], position: int, lexicon: Lexicon, *, unknown_allowed: bool, after_we: bool
) -> SpeechAct | None:
    """The act whose verb is at ``position`` (after skipping "we", adverbs and auxiliaries), if any.

    ``after_we``: the position is a governing "we", so the next word is a verb; at a clause start a word followed
    by a comma is an adverb ("Likewise, ...").
    """
    # A surface form may begin with "we" itself ("we are resolved").
    match = lexicon.acts.match_at(tokens, position)
    if match is not None:
        return _known(match, tokens, lexicon)
    index = position
    if tokens[index].text.lower() in _PRONOUNS:
        index += 1
    index = _skip_adverbs(tokens, index)
    if index >= len(tokens):
        return None
    match = _match_skipping_adverbs(tokens, index, lexicon)
    if match is not None:
        return _known(match, tokens, lexicon)
    token = tokens[index]
    word = token.text.lower()
    # An auxiliary: the verb follows ("we will continue", "we have decided").
    if word in _AUXILIARIES and index + 1 < len(tokens):
        after = _skip_adverbs(tokens, index + 1)
        if after < len(tokens):
            match = _match_skipping_adverbs(tokens, after, lexicon)
            if match is not None:
                return _known(match, tokens, lexicon, start_token=index)
            if tokens[after].is_word and tokens[after].text.lower() not in FUNCTION_WORDS:
                index, token, word = after, tokens[after], tokens[after].text.lower()
    # A known head word with an unknown continuation ("call" of "call to"): the one concept it heads.
    heads = lexicon.act_heads.get(word, set())
    if len(heads) == 1:
        concept = next(iter(heads))
        return SpeechAct(lexicon.act_lemma[concept], concept, Span(token.start, token.end))
    if not unknown_allowed or not token.is_word or word in FUNCTION_WORDS or not re.match(r"^[^\W\d_]+$", token.text):
        return None
    if index + 1 < len(tokens) and tokens[index + 1].text == "," and not after_we:
        return None  # "Likewise, ..." - an adverb, not a verb
    return SpeechAct(token.text, None, Span(token.start, token.end))


def _skip_adverbs(tokens: Sequence[Token], index: int) -> int:
    while index < len(tokens) and is_adverb(tokens[index]):
        index += 1
    return index


def _match_skipping_adverbs(tokens: Sequence[Token], index: int, lexicon: Lexicon) -> Match | None:
    """A surface form at ``index``; adverbs inside the phrase ("are therefore resolved") are skipped."""
    match = lexicon.acts.match_at(tokens, index)
    filtered = [i for i in range(index, min(len(tokens), index + 8)) if i == index or not is_adverb(tokens[i])]
    if len(filtered) < min(len(tokens), index + 8) - index:
        sub = [tokens[i] for i in filtered]
        alt = lexicon.acts.match_at(sub, 0)
        if alt is not None and (match is None or alt.last > match.last - index):
            last = filtered[alt.last - 1] + 1
            return Match(index, last, tokens[index].start, tokens[last - 1].end, alt.values, alt.label)
    return match


def _known(match: Match, tokens: Sequence[Token], lexicon: Lexicon, start_token: int | None = None) -> SpeechAct:
    concept = sorted(match.values)[0]
    first = tokens[start_token if start_token is not None else match.first]
    return SpeechAct(lexicon.act_lemma[concept], concept, Span(first.start, match.end))
