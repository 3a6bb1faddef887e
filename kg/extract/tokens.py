"""Tokens and phrase matching: the shared machinery of speech-act, entity and topic recognition.

A token is a word (letters and digits, with inner apostrophes) or one punctuation character; hyphens and
apostrophes between words are not tokens, so "LAC-EU" matches the label "LAC EU" and "brain-drain" the label
"brain drain". Matching compares *keys*: lower case, possessive removed, a light plural stem ("countries" ->
"country", "migrants'" -> "migrant"). A label token written in capitals (an acronym such as "IOM") matches only the
same capitals, so "US" never matches "us".

>>> [t.text for t in tokenize("the migrants' families, LAC-EU")]
['the', "migrants'", 'families', ',', 'LAC', 'EU']
>>> [t.key for t in tokenize("the migrants' families, LAC-EU")]
['the', 'migrant', 'family', ',', 'lac', 'eu']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Hyphens and dashes (U+2010..U+2013) are not tokens: "EU–CELAC" reads as "EU CELAC".
_TOKEN_RE = re.compile(r"\w+(?:['’]\w+)*['’]?|[^\w\s\-'’\u2010-\u2013]")
_NO_STEM_ENDINGS = ("ss", "us", "is", "os", "as", "ous", "ics")
_MIN_VERB_STEMMED = 6
_MIN_STEM = 4


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Lower case, possessive removed, plural and verb endings reduced to a stem (English rules, for matching).

    >>> [stem(w) for w in ["Countries", "migrants'", "Mexico's", "status", "policies", "crosses", "women"]]
    ['country', 'migrant', 'mexico', 'status', 'policy', 'cross', 'women']
    >>> [stem(w) for w in ["smuggling", "smuggled", "smuggle", "smuggles", "need", "during"]]
    ['smuggl', 'smuggl', 'smuggl', 'smuggl', 'need', 'during']
    """
    w = singular(word)
    # Verb forms: "smuggling", "smuggled" and "smuggle" share "smuggl" (long words only, the stem kept long).
    for ending in ("ing", "ed", "e"):
        if len(w) >= _MIN_VERB_STEMMED and w.endswith(ending) and len(w) - len(ending) >= _MIN_STEM:
            return w[: -len(ending)]
    return w


@functools.lru_cache(maxsize=65536)
def singular(word: str) -> str:
    """Lower case, possessive removed, a regular plural made singular ("countries" -> "country")."""
    w = _bare(word)
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(_NO_STEM_ENDINGS):
        return w[:-1]
    return w


def _bare(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    return w.rstrip("'")


def is_acronym(word: str) -> bool:
    """A word written in capitals with at least two letters ("IOM", "EU", "GFMD")."""
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters) and len(word) <= 6


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int
    key: str

    @property
    def is_word(self) -> bool:
        return self.text[:1].isalnum() or self.text[:1] == "_"


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """The tokens of ``text[start:end]`` with offsets into ``text``."""
    end = len(text) if end is None else end
    return [Token(m.group(), m.start(), m.end(), stem(m.group())) for m in _TOKEN_RE.finditer(text, start, end)]


def _lower(word: str) -> str:
    return word.lower().replace("’", "'")


# Possessive determiners say who speaks, not what act it is: "express our concern" = "express their concern".
_POSSESSIVES = frozenset({"our", "their", "its", "his", "her", "my", "your"})


def _exact_key(word: str) -> str:
    lower = _lower(word)
    return "<possessive>" if lower in _POSSESSIVES else lower


def label_keys(label: str) -> tuple[tuple[str, str | None], ...]:
    """A label as a sequence of ``(key, exact)``: ``exact`` is the acronym the text must show, else ``None``."""
    return tuple((t.key, t.text if is_acronym(t.text) else None) for t in tokenize(label))


@dataclass(slots=True)
class _Node:
    children: dict[str, list[tuple[str | None, _Node]]] = field(default_factory=dict)
    # values of the labels ending here, by the grammatical number of the label's last word (True: plural)
    values: dict[bool, set[str]] = field(default_factory=dict)


def is_plural(token: Token) -> bool:
    """Whether a word is a regular plural: its stem differs from the word ("countries", "migrants'")."""
    return singular(token.text) != _bare(token.text)


# Words a text may add inside a label: "the human rights of all migrants" still names "human rights of migrants".
INSERTABLE = frozenset({"all", "the", "our", "their", "its"})


@dataclass(frozen=True, slots=True)
class Match:
    """A phrase of the text matched by a label: tokens ``[first, last)`` and the value(s) it names."""

    first: int
    last: int
    start: int
    end: int
    values: frozenset[str]
    label: str


class PhraseMatcher:
    """Longest-match-first recognition of labelled phrases in a token sequence.

    Words compare by their stem, but a label ending in a plural needs a plural in the text, so the label "all
    migrants" does not swallow the modifier in "all migrant workers" (a label listing the singular, as hidden
    labels do, matches it). Determiners may be inserted inside a label (:data:`INSERTABLE`).
    """

    def __init__(self, entries: Iterable[tuple[str, str]] = (), *, exact_words: bool = False) -> None:
        """``exact_words``: compare words in lower case but unstemmed (for inflected forms listed one by one)."""
        self._exact_words = exact_words
        self._root = _Node()
        for label, value in entries:
            self.add(label, value)

    def add(self, label: str, value: str) -> None:
        """Add a label (any case) naming ``value``; labels without a word are ignored."""
        label_tokens = tokenize(label)
        if self._exact_words:
            keys = tuple((_exact_key(t.text), None) for t in label_tokens)
        else:
            keys = tuple((t.key, t.text if is_acronym(t.text) else None) for t in label_tokens)
        if not any(k[:1].isalnum() for k, _ in keys):
            return
        node = self._root
        for key, exact in keys:
            branches = node.children.setdefault(key, [])
            for branch_exact, child in branches:
                if branch_exact == exact:
                    node = child
                    break
            else:
                child = _Node()
                branches.append((exact, child))
                node = child
        plural = False if self._exact_words else is_plural(label_tokens[-1])
        node.values.setdefault(plural, set()).add(value)

    def match_at(self, tokens: Sequence[Token], index: int) -> Match | None:
        """The longest labelled phrase starting at token ``index``, if any."""
        if index >= len(tokens):
            return None
        first = _exact_key(tokens[index].text) if self._exact_words else tokens[index].key
        if first not in self._root.children:
            return None
        best: tuple[int, frozenset[str]] | None = None
        stack: list[tuple[int, _Node, bool]] = [(index, self._root, False)]
        while stack:
            position, node, skipped = stack.pop()
            if node.values and position > index and (best is None or position > best[0]):
                values = set(node.values.get(False, ()))
                if not self._exact_words and is_plural(tokens[position - 1]):
                    values |= node.values.get(True, set())
                if values:
                    best = (position, frozenset(values))
            if position >= len(tokens):
                continue
            token = tokens[position]
            key = _exact_key(token.text) if self._exact_words else token.key
            for exact, child in node.children.get(key, ()):
                if exact is None or exact == token.text:
                    stack.append((position + 1, child, skipped))
            if (
                not self._exact_words
                and not skipped
                and position > index
                and key in INSERTABLE
                and key not in node.children
                and position + 1 < len(tokens)
            ):
                stack.append((position + 1, node, True))  # skip one inserted determiner, then match on
        if best is None:
            return None
        last, values = best
        return Match(
            index,
            last,
            tokens[index].start,
            tokens[last - 1].end,
            values,
            " ".join(t.text for t in tokens[index:last]),
        )

    def find_all(self, tokens: Sequence[Token]) -> list[Match]:
        """Non-overlapping matches, scanning left to right and taking the longest at each position."""
        out = []
        index = 0
        heads = self._root.children
        while index < len(tokens):
            token = tokens[index]
            if (_exact_key(token.text) if self._exact_words else token.key) not in heads:
                index += 1
                continue
            match = self.match_at(tokens, index)
            if match is None:
                index += 1
            else:
                out.append(match)
                index = match.last
        return out
