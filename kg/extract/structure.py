"""Structure of a normalised declaration: title, opening formula, clauses, place-and-date line.

Works on the output of :func:`kg.extract.normalise.normalise` (one paragraph per line, paragraphs separated by a
blank line) and only on layout: what a paragraph *says* is for the other modules.

>>> layout = segment("A TITLE\\n\\nWe, the Ministers:\\n\\n1. Note the report.\\n\\n2. Decide to act.\\n\\nLima, 3 May 2015")
>>> layout.title.text, layout.opening.text, [(c.label, c.text) for c in layout.clauses], layout.date_line.text
('A TITLE', 'We, the Ministers:', [('1.', 'Note the report.'), ('2.', 'Decide to act.')], 'Lima, 3 May 2015')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from kg.extract.dates import find_dates
from kg.extract.normalise import LIST_MARKER_RE

_SENTENCE_PUNCT_END_RE = re.compile(r"[.;:,!?][\"'”’)\]]*$")
_OPENING_RE = re.compile(r"^(?:We\b|The\b|Nous\b|Nosotros\b|Los\b|Las\b|Les\b)")
_MAX_HEADING_WORDS = 16
_MAX_DATE_LINE_WORDS = 16
_NUMBERED_RE = re.compile(r"^\(?\d{1,3}[.)]")
# Names of the kinds of document this project reads (general words of the genre, in en/es/fr).
_GENRE_RE = re.compile(
    r"\b(?:declarations?|communiqu[ée]s?|statements?|resolutions?|compacts?|conclusions|charters?|agreements?"
    r"|plan of action|action plan|programme of action|declaraci[óo]n|comunicado|resoluci[óo]n|d[ée]claration)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph of the normalised text: ``text == document[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class ClauseBlock:
    """A clause as laid out: its paragraph without the list marker, the marker, and the UN section if any."""

    start: int
    end: int
    text: str
    label: str | None
    section: Literal["preamble", "operative"] | None
    paragraph: Paragraph


@dataclass(slots=True)
class Layout:
    paragraphs: list[Paragraph]
    title: Paragraph | None = None
    opening: Paragraph | None = None
    date_line: Paragraph | None = None
    clauses: list[ClauseBlock] = field(default_factory=list)
    headings: list[Paragraph] = field(default_factory=list)  # headings other than the title; not clauses


def paragraphs(text: str) -> list[Paragraph]:
    """The paragraphs of a normalised text with their offsets."""
    out = []
    for match in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]+)*", text):
        body = match.group()
        stripped = body.strip()
        if stripped:
            start = match.start() + (len(body) - len(body.lstrip()))
            out.append(Paragraph(start, start + len(stripped), stripped))
    return out


def is_heading(text: str) -> bool:
    """A heading: short, no sentence punctuation at the end, not a list item; all capitals or mostly capitalised."""
    if LIST_MARKER_RE.match(text) or _SENTENCE_PUNCT_END_RE.search(text):
        return False
    words = text.split()
    if not words or len(words) > _MAX_HEADING_WORDS:
        return False
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return True
    capitalised = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
    return capitalised * 2 >= len(words)


def is_date_line(text: str) -> bool:
    """A place-and-date line ("Mayan Riviera, Mexico, February 23, 2010"; "Done at Lima on 3 May 2015.")."""
    dates = find_dates(text)
    if not dates or len(text.split()) > _MAX_DATE_LINE_WORDS:
        return False
    rest = text[: dates[0][1]] + " " + text[dates[-1][2] :]
    rest_words = re.findall(r"\w+", rest)
    if len(rest_words) > 10:
        return False
    # The rest is names and linking words: no lower-case word longer than a preposition or a participle of place.
    lower = [w for w in rest_words if w[:1].islower()]
    return len(lower) <= 4


def is_opening(text: str) -> bool:
    """An opening formula: "We, the Heads of State ...:" or "The General Assembly,"."""
    return bool(_OPENING_RE.match(text)) and text.endswith((":", ",")) and not re.search(r"[.;!?]\s", text)


def segment(text: str) -> Layout:
    """Classify the paragraphs of a normalised text.

    Leading headings come before the clauses (before an opening formula, any short line without final punctuation
    is one); the title is chosen among them by :func:`_title`. The opening formula is the first paragraph, before any
    clause, that starts with "We" or "The" and ends with a colon or a comma. The place-and-date line is the first such line at the top or the last at the end. Every other paragraph
    after the title and opening is a clause, except headings. In UN style (unnumbered paragraphs ending with a comma
    followed by numbered ones) clauses get sections "preamble" and "operative".
    """
    layout = Layout(paragraphs(text))
    leading_headings: list[Paragraph] = []
    date_lines: list[Paragraph] = []
    blocks: list[Paragraph] = []
    opening_index = _opening_index(layout.paragraphs)
    for index, paragraph in enumerate(layout.paragraphs):
        body = paragraph.text
        if index == opening_index:
            layout.opening = paragraph  # may carry the place and date ("We, the Ministers, meeting in Lima on ...:")
        elif is_date_line(body):
            date_lines.append(paragraph)
        elif opening_index is not None and index < opening_index:
            leading_headings.append(paragraph)  # front matter: whatever its case ("71/237. International migration")
        elif is_heading(body):
            if not blocks and layout.opening is None:
                leading_headings.append(paragraph)
            else:
                layout.headings.append(paragraph)
        else:
            blocks.append(paragraph)
    if leading_headings:
        layout.title = _title(leading_headings)
        layout.headings[:0] = [p for p in leading_headings if p is not layout.title]
    if date_lines:
        first_clause = blocks[0].start if blocks else len(text)
        top = [p for p in date_lines if p.start < first_clause]
        layout.date_line = top[0] if top else date_lines[-1]
        # Date lines that are neither at the top nor the closing line are ordinary clauses after all.
        for p in date_lines:
            if p is not layout.date_line and p.start > first_clause and p is not date_lines[-1]:
                blocks.append(p)
        blocks.sort(key=lambda p: p.start)
    layout.clauses = _clauses(blocks)
    return layout


def _opening_index(items: list[Paragraph]) -> int | None:
    """The index of the opening formula: the first paragraph that is one and has only front matter before it
    (headings, place-and-date lines, short lines without final punctuation such as "71/237. International migration
    and development")."""
    for index, paragraph in enumerate(items):
        if is_opening(paragraph.text):
            return index
        if not (is_heading(paragraph.text) or is_date_line(paragraph.text) or _front_matter(paragraph.text)):
            return None
    return None


def _front_matter(text: str) -> bool:
    return (
        not LIST_MARKER_RE.match(text)
        and len(text.split()) <= _MAX_HEADING_WORDS
        and not _SENTENCE_PUNCT_END_RE.search(text)
    )


def _title(headings: list[Paragraph]) -> Paragraph:
    """The title among the leading headings: the first naming a kind of document ("Declaration", "Joint
    Statement"), else the first in capitals, else the longest."""
    for heading in headings:
        if _GENRE_RE.search(heading.text):
            return heading
    for heading in headings:
        letters = [c for c in heading.text if c.isalpha()]
        if letters and all(c.isupper() for c in letters) and len(heading.text.split()) > 2:
            return heading
    return max(headings, key=lambda p: (len(p.text.split()), -p.start))


def _clauses(blocks: list[Paragraph]) -> list[ClauseBlock]:
    labelled = []
    for paragraph in blocks:
        marker = LIST_MARKER_RE.match(paragraph.text)
        if marker:
            label = marker.group().strip()
            offset = marker.end()
        else:
            label, offset = None, 0
        labelled.append((paragraph, label, offset))
    first_numbered = next((i for i, (_, label, _) in enumerate(labelled) if label and _NUMBERED_RE.match(label)), None)
    un_style = first_numbered is not None and any(
        label is None and p.text.endswith(",") for p, label, _ in labelled[:first_numbered]
    )
    out = []
    for index, (paragraph, label, offset) in enumerate(labelled):
        section: Literal["preamble", "operative"] | None = None
        if un_style and first_numbered is not None:
            section = "preamble" if index < first_numbered else "operative"
        out.append(
            ClauseBlock(
                paragraph.start + offset,
                paragraph.end,
                paragraph.text[offset:],
                label,
                section,
                paragraph,
            )
        )
    return out
