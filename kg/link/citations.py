"""Which declarations a clause cites.

Extraction resolves only the declarations of the reference data (``ontology/reference/instruments.ttl``); a text
ingested later is known only to the store. So a clause of declaration ``D`` cites declaration ``E`` (``E`` is not
``D``) when:

1. ``reference``: the clause already ``dec:refersTo`` ``E`` (extraction found it);
2. ``meeting``: the clause refers to a meeting ``E`` was adopted at (``dec:adoptedAt``) and names a kind of
   document ("the Communiqué adopted at the Unity Summit");
3. ``title``: the clause contains a title or label of ``E`` (stemmed words, acronyms in capitals, as extraction
   matches labels). A label of one or two ordinary words ("Joint Statement") counts only when a year or a place of
   ``E`` is named in the same clause; when several declarations share the label, the year and place decide, and a tie
   cites none;
4. ``place-year``: the clause names a kind of document, a place ``E`` was adopted at (``dec:mentions``) and the
   year ``E`` was adopted in ("the communiqué adopted at the Mayan Riviera in 2010"), and no other declaration
   fits.

Everything is read from the corpus snapshot (titles, labels, dates, places and meetings of every
``dec:Declaration`` in the store): nothing about particular declarations is written here.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from kg.extract.dates import find_years
from kg.extract.tokens import PhraseMatcher, is_acronym, stem, tokenize
from kg.link.data import ClauseInfo, Corpus

log = logging.getLogger(__name__)

#: The nouns that name a kind of document (compared by their stems, :func:`kg.extract.tokens.stem`).
DOCUMENT_NOUNS = (
    "declaration", "communiqué", "communique", "statement", "compact", "resolution", "convention", "protocol"
)


@dataclass(frozen=True, slots=True, order=True)
class Citation:
    """Clause ``clause`` of declaration ``source`` cites declaration ``target``; ``via`` says how it was found
    (``reference``, ``meeting``, ``title``, ``place-year``)."""

    source: str
    target: str
    clause: str
    via: str

    @property
    def new_reference(self) -> bool:
        """Whether the clause-level ``dec:refersTo`` is new (not already in the declaration's graph)."""
        return self.via != "reference"


def _deaccent(text: str) -> str:
    """``text`` without diacritics ("Communiqué" -> "Communique"), case kept (acronyms are matched by case)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _fold(text: str) -> str:
    return _deaccent(text).casefold()


def _strong(label: str) -> bool:
    """A label specific enough to cite by alone: three words or more, or an acronym."""
    words = [t for t in tokenize(label) if t.is_word]
    return len(words) >= 3 or (len(words) == 1 and is_acronym(words[0].text))


class CitationFinder:
    """Resolves the citations of clauses against the declarations of one corpus snapshot."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._document_nouns = frozenset(stem(w) for w in DOCUMENT_NOUNS)
        entries = [
            (_deaccent(label), iri) for iri, d in corpus.declarations.items() for label in d.labels if label.strip()
        ]
        self._matcher = PhraseMatcher(entries)
        self._adopted_at: dict[str, set[str]] = {}
        for iri, d in corpus.declarations.items():
            for meeting in d.meetings:
                self._adopted_at.setdefault(meeting, set()).add(iri)
        self._folded_words: dict[str, set[str]] = {
            iri: {w for label in d.labels for w in _fold(label).split() if len(w) >= 4}
            for iri, d in corpus.declarations.items()
        }

    def of_clause(self, clause: ClauseInfo) -> list[Citation]:
        """The citations of one clause, sorted, one per cited declaration (the first rule that finds it wins)."""
        source = clause.declaration
        found: dict[str, str] = {}

        def add(target: str, via: str) -> None:
            if target != source and target in self.corpus.declarations:
                found.setdefault(target, via)

        for target in sorted(clause.refers_to):
            add(target, "reference")
        if not clause.text:
            return [Citation(source, t, clause.iri, v) for t, v in sorted(found.items())]
        tokens = tokenize(_deaccent(clause.text))
        names_document = any(t.key in self._document_nouns for t in tokens)
        years = {y for y, _, _ in find_years(clause.text)}
        places = clause.mentions | clause.refers_to
        if names_document:
            for meeting in sorted(clause.refers_to):
                adopted = self._adopted_at.get(meeting, set()) - {source}
                if len(adopted) == 1:
                    add(next(iter(adopted)), "meeting")
        for match in self._matcher.find_all(tokens):
            candidates = sorted(v for v in match.values if v != source)
            if not candidates:
                continue
            fitting = [c for c in candidates if self._fits(c, years, places)]
            if len(candidates) == 1:
                target = candidates[0]
                if fitting or _strong(match.label):
                    add(target, "title")
            elif len(fitting) == 1:
                add(fitting[0], "title")
            else:
                log.info("%s: %r names %d declarations; not cited", clause.iri, match.label, len(candidates))
        if names_document and years:
            fitting = [
                iri for iri, d in self.corpus.declarations.items()
                if iri != source and d.places & places and d.years & years
            ]
            if len(fitting) == 1:
                add(fitting[0], "place-year")
        return [Citation(source, t, clause.iri, v) for t, v in sorted(found.items())]

    def _fits(self, declaration: str, years: set[int], places: set[str]) -> bool:
        d = self.corpus.declarations[declaration]
        return bool(d.years & years or d.places & places)

    def may_cite(self, clause: ClauseInfo, declaration: str) -> bool:
        """A cheap test that ``clause`` might cite ``declaration`` (used to look only at likely clauses)."""
        d = self.corpus.declarations.get(declaration)
        if d is None:
            return False
        if declaration in clause.refers_to or d.meetings & clause.refers_to or d.places & clause.mentions:
            return True
        folded = _fold(clause.text)
        return any(word in folded for word in self._folded_words.get(declaration, ()))

    def find(self, clauses: Iterable[ClauseInfo], *, target: str | None = None) -> list[Citation]:
        """The citations of ``clauses`` (sorted); with ``target``, only those of that declaration."""
        out: list[Citation] = []
        for clause in clauses:
            if target is not None and not self.may_cite(clause, target):
                continue
            out.extend(c for c in self.of_clause(clause) if target is None or c.target == target)
        return sorted(out)
