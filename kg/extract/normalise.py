"""Normalisation: the one canonical text of a document, which every extracted span points into.

What documents carry and this module removes or repairs, deterministically:

- line endings (CRLF, CR), no-break and other odd spaces, soft hyphens, zero-width characters, tabs, NFC;
- separator lines (``* * *``, ``---``), page numbers ("3", "Page 3 of 7", "- 3 -") and form feeds;
- running headers and footers (short lines repeated on several pages);
- words hyphenated across lines ("migra-" / "tion"), keeping real compounds ("gender-sensitive");
- paragraphs split by a page break: a paragraph that ends without sentence-final punctuation and is followed by one
  that starts in lower case, or that continues a name, is joined to it;
- hard-wrapped lines inside a paragraph (joined with a space), list items on consecutive lines (split),
  paragraphs on consecutive lines, Markdown heading marks ("## ").

The result has one paragraph per line, paragraphs separated by one blank line, no leading or trailing blank lines.

>>> normalise("TITLE\\r\\n\\r\\nWe note the need for safe\\n\\n12\\n\\nmigration.\\n\\n* * *\\n")
'TITLE\\n\\nWe note the need for safe migration.'
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

# Characters that are spaces in all but name.
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t\v"), " ")
_DELETE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)

_SEPARATOR_RE = re.compile(r"^(?:[*\-_=~•·#]\s*){3,}$")
_PAGE_NUMBER_RE = re.compile(
    r"^(?:(?:page|p\.|pág\.?|página)\s*)?[-–—]?\s*\d{1,3}\s*[-–—]?(?:\s*(?:/|of|de|sur)\s*\d{1,3})?$", re.IGNORECASE
)
# A list marker at the start of a line: "1.", "12)", "(a)", "a)", "iv.", "-", "•", "–", "*".
LIST_MARKER_RE = re.compile(r"^(?:\d{1,3}[.)]|\(\d{1,3}\)|\([a-z]{1,4}\)|[a-z][.)]|[ivxlc]{1,6}[.)]|[-•–—*▪◦·])\s+")
_SENTENCE_END_RE = re.compile(r"[.!?:;][\"'”’)\]]*$")
_WORD_END_HYPHEN_RE = re.compile(r"(\w+(?:-\w+)*)-$")
_LEADING_WORD_RE = re.compile(r"^(\w+)")
# Endings that are never words of their own: a line-end hyphen before them is a soft (typesetting) hyphen.
_SUFFIXES = (
    "tion", "tions", "sion", "sions", "ment", "ments", "ness", "ity", "ities", "ing", "ings", "ance", "ances",
    "ence", "ences", "ation", "ations", "ated", "ive", "ives", "ous", "ism", "isms", "ist", "ists", "ible",
    "able", "ure", "ures", "ary", "ory", "ies", "ed", "al", "ally", "ly", "ial", "ian", "ians", "ise", "ize",
    "ised", "ized", "ising", "izing", "ship", "ships", "ful", "less", "ward", "wards", "cy", "cies", "ty",
    "ties", "ic", "ics", "ical", "tive", "tives", "ment", "lity", "lities", "tory", "grants", "grant",
)
_MAX_HEADER_WORDS = 12
_MAX_HEADING_WORDS = 16
_MIN_PARAGRAPH_ENDS = 2
_MARKDOWN_HEADING_RE = re.compile(r"^#{1,6}\s+")  # "## Title" in a Markdown file
_SMALL_WORDS = frozenset("a an and as at by for in of on or the to with de del la y et".split())
_SENTENCE_OR_CLAUSE_END_RE = re.compile(r"[.;:,!?][\"'”’)\]]*$")
_MAX_EDGE_WORDS = 25
_EDGE_LINES = 2
_PAGE_BREAK = "\f"
_MIN_WRAPPED_LINES = 8
_FULL_LINE_SHARE = 0.85
_PROSE_MIN_WORDS = 8


def clean_characters(text: str) -> str:
    """Unicode NFC, LF line endings, odd spaces to plain spaces, invisible characters removed."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    return text.translate(_SPACES).translate(_DELETE)


def normalise(text: str, *, known_words: Iterable[str] = ()) -> str:
    """The canonical form of a document's raw text (see the module docstring for what is repaired).

    ``known_words`` (lower case, may contain hyphenated compounds) help decide whether a hyphen at a line end is
    part of the word; the document's own words are used first. Deterministic and idempotent.
    """
    text = clean_characters(text)
    lines = [
        _MARKDOWN_HEADING_RE.sub("", " ".join(line.split())) if line != _PAGE_BREAK else line
        for line in text.replace("\f", "\n\f\n").split("\n")
    ]
    lines = _drop_page_furniture(lines)
    full_line = _full_line_length(lines)
    vocabulary = _vocabulary(text, known_words)
    paragraphs: list[str] = []
    previous_last_line = ""
    for block, after_page_break in _blocks(lines):
        for index, line in enumerate(block):
            if index == 0:  # a new block: a paragraph of its own unless it continues the one before the gap
                join = bool(paragraphs) and (
                    continues(paragraphs[-1], line)
                    or (after_page_break and _runs_on(previous_last_line, paragraphs[-1], line, full_line))
                )
            else:  # a line of the block: a wrapped line unless it starts a list item, another heading or paragraph
                join = not (
                    LIST_MARKER_RE.match(line)
                    or _stacked_heading(paragraphs[-1], block[index - 1], line, full_line)
                    or _new_paragraph(paragraphs[-1], block, index, full_line)
                )
            if join:
                paragraphs[-1] = join_lines(paragraphs[-1], line, vocabulary)
            else:
                paragraphs.append(line)
        previous_last_line = block[-1]
    return "\n\n".join(p for p in paragraphs if p)


def _full_line_length(lines: list[str]) -> int | None:
    """The width of a full line when the text is hard-wrapped (as a PDF's text layer is), else ``None``."""
    lengths = sorted(len(line) for line in lines if line and line != _PAGE_BREAK)
    if len(lengths) < _MIN_WRAPPED_LINES:
        return None
    width = lengths[int(len(lengths) * 0.9)]
    near_full = sum(1 for n in lengths if n >= width * _FULL_LINE_SHARE)
    return width if near_full * 10 >= len(lengths) * 3 else None


def _runs_on(last_line: str, previous: str, following: str, full_line: int | None) -> bool:
    """A paragraph whose last line before a page break is a full line goes on after the break."""
    return (
        full_line is not None
        and len(last_line) >= full_line * _FULL_LINE_SHARE
        and not LIST_MARKER_RE.match(following)
        and not previous.endswith(":")
    )


def _drop_page_furniture(lines: list[str]) -> list[str]:
    """Blank out separators, page numbers and running headers/footers (kept as blank lines; form feeds stay)."""
    out = []
    for line in lines:
        if _SEPARATOR_RE.match(line) or _PAGE_NUMBER_RE.match(line):
            out.append("")
        else:
            out.append(line)
    # Running headers and footers: lines repeated (digits aside) on several pages, either at a page's edge (first
    # or last lines next to a form feed) or short anywhere (text without form feeds), never list items.
    def shape(line: str) -> str:
        return re.sub(r"\d+", "#", line.lower())

    edges = _page_edges(out)
    candidates = {i for i, line in enumerate(out) if _header_candidate(line) or (i in edges and _edge_candidate(line))}
    counts = Counter(shape(out[i]) for i in candidates)
    repeated = {s for s, n in counts.items() if n >= 2}
    if not repeated:
        return out
    first_content = next((i for i, line in enumerate(out) if line and line != _PAGE_BREAK), -1)
    return [
        "" if i in candidates and shape(line) in repeated and i != first_content else line
        for i, line in enumerate(out)
    ]


def _page_edges(lines: list[str]) -> set[int]:
    """Indexes of the first and last :data:`_EDGE_LINES` non-blank lines of every page (pages end at form feeds)."""
    if _PAGE_BREAK not in lines:
        return set()
    edges: set[int] = set()
    page: list[int] = []
    for index, line in enumerate([*lines, _PAGE_BREAK]):
        if line == _PAGE_BREAK:
            edges.update(page[:_EDGE_LINES] + page[-_EDGE_LINES:])
            page = []
        elif line:
            page.append(index)
    return edges


def _edge_candidate(line: str) -> bool:
    return line != _PAGE_BREAK and len(line.split()) <= _MAX_EDGE_WORDS and not LIST_MARKER_RE.match(line)


def _header_candidate(line: str) -> bool:
    return (
        bool(line)
        and line != _PAGE_BREAK
        and len(line.split()) <= _MAX_HEADER_WORDS
        and not LIST_MARKER_RE.match(line)
        and not _SENTENCE_END_RE.search(line)
    )


def _blocks(lines: list[str]) -> list[tuple[list[str], bool]]:
    """Groups of consecutive non-blank lines, each with whether a page break comes before it."""
    blocks: list[tuple[list[str], bool]] = []
    current: list[str] = []
    page_break = False
    current_after_break = False
    for line in lines:
        if line and line != _PAGE_BREAK:
            if not current:
                current_after_break, page_break = page_break, False
            current.append(line)
            continue
        if current:
            blocks.append((current, current_after_break))
            current = []
        if line == _PAGE_BREAK:
            page_break = True
    if current:
        blocks.append((current, current_after_break))
    return blocks


def _vocabulary(text: str, known_words: Iterable[str]) -> tuple[Counter[str], frozenset[str]]:
    # Words broken at a line end are not evidence for themselves: leave them out of the count.
    unbroken = re.sub(r"[\w-]*\w-[ \t]*\n\s*\w[\w-]*", " ", text)
    words = Counter(w.lower() for w in re.findall(r"\w+(?:-\w+)*", unbroken))
    known = known_words if isinstance(known_words, frozenset) else frozenset(w.lower() for w in known_words)
    return words, known


def _new_paragraph(paragraph: str, block: list[str], index: int, full_line: int | None) -> bool:
    """Whether line ``index`` of a block starts a paragraph although no blank line comes before it.

    Text with one paragraph per line (not hard-wrapped): after a line ending in sentence or clause punctuation, or
    after a heading. Hard-wrapped text: after a short line (the last of its paragraph) ending a sentence, or a short
    heading. Either way only when several lines of the block end so (a wrapped paragraph seldom has two), or after a
    heading, and never before a line in lower case (which continues a sentence).
    """
    line, previous = block[index], block[index - 1]
    if line[0].islower():
        return False
    short = full_line is None or len(previous) < full_line * _FULL_LINE_SHARE
    if short and heading_like(paragraph) and not heading_like(line):
        return True  # a title over the first paragraph
    ends = _SENTENCE_OR_CLAUSE_END_RE if full_line is None else _SENTENCE_END_RE
    if not short or not ends.search(previous):
        return False
    return sum(1 for other in block[:-1] if ends.search(other)) >= _MIN_PARAGRAPH_ENDS


def _stacked_heading(paragraph: str, previous: str, line: str, full_line: int | None) -> bool:
    """Whether ``line`` is a heading of its own under the heading ``paragraph`` (a title over a place-and-date line)
    rather than the same heading wrapped: it is not when the line above fills the line, the lower one opens with a
    small word ("... COOPERATION / ON MIGRATION ISSUES"), or both are in capitals without a date below ("... ON
    MIGRATION / ISSUES")."""
    return (
        heading_like(paragraph)
        and heading_like(line)
        and not (full_line and len(previous) >= full_line * _FULL_LINE_SHARE)
        and not line[0].islower()
        and line.split()[0].lower() not in _SMALL_WORDS
        and not (_capitals(previous) and _capitals(line) and not re.search(r"\d", line))
    )


def _capitals(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def heading_like(line: str) -> bool:
    """A line that could be a heading on its own: short, no sentence punctuation at its end, mostly capitalised."""
    words = line.split()
    if not words or len(words) > _MAX_HEADING_WORDS or LIST_MARKER_RE.match(line) or _SENTENCE_OR_CLAUSE_END_RE.search(line):
        return False
    capitalised = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
    return capitalised * 2 >= len(words)


def join_lines(left: str, right: str, vocabulary: tuple[Counter[str], frozenset[str]]) -> str:
    """Join two pieces of one paragraph, repairing a word hyphenated across the break."""
    hyphen = _WORD_END_HYPHEN_RE.search(left)
    following = _LEADING_WORD_RE.match(right)
    if hyphen and following and right[0].islower():
        head, tail = hyphen.group(1), following.group(1)
        last_part = head.rsplit("-", 1)[-1]
        if _keep_hyphen(last_part, tail, vocabulary):
            return left + right
        return left[:-1] + right
    return left + " " + right


def _keep_hyphen(head: str, tail: str, vocabulary: tuple[Counter[str], frozenset[str]]) -> bool:
    words, known = vocabulary
    compound, joined = f"{head}-{tail}".lower(), f"{head}{tail}".lower()
    if words[compound] or compound in known:
        return True
    if words[joined] or joined in known:
        return False
    if tail.lower() in _SUFFIXES or head[-1:].isdigit() or len(head) < 2:
        return False
    # Both halves are words in their own right (seen elsewhere in the document): a compound.
    return bool((words[head.lower()] or head.lower() in known) and (words[tail.lower()] or tail.lower() in known))


def continues(previous: str, following: str) -> bool:
    """Whether ``following`` continues ``previous`` across a page break rather than starting a new paragraph.

    >>> continues("We agree on the need for an informed and safe", "management of migratory flows.")
    True
    >>> continues("SPECIAL COMMUNIQUÉ ON MIGRATION", "We, the Heads of State:")
    False
    """
    if not previous or not following or LIST_MARKER_RE.match(following):
        return False
    if _SENTENCE_END_RE.search(previous):
        return False
    if previous.endswith("-") and following[0].islower():
        return True
    if following[0].islower():
        return True
    if previous.endswith(","):
        return False  # UN preambular paragraphs end with a comma
    if LIST_MARKER_RE.match(previous) or heading_like(previous):
        return False
    # A long prose paragraph cut off mid-sentence, before a capitalised word (a name that continues).
    words = previous.split()
    is_prose = len(words) >= _PROSE_MIN_WORDS and sum(w[:1].islower() for w in words) >= len(words) // 3
    return is_prose and bool(re.search(r"\w$", previous))
