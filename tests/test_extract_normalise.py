"""Normalisation: page furniture removed, split paragraphs and hyphenated words repaired, deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.extract.normalise import continues, normalise
from kg.paths import CORPUS_DIR

SEED = CORPUS_DIR / "lac-2010-migration-communique.txt"


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def test_seed_page_breaks_inside_paragraphs_are_joined() -> None:
    text = normalise(SEED.read_text(encoding="utf-8"))
    joined = [p for p in paragraphs(text) if "as an informed and safe management of migratory flows" in p]
    assert len(joined) == 1
    assert any("the LAC-EU Migration Dialogue established in the framework" in p for p in paragraphs(text))
    assert "* * *" not in text
    assert text == text.strip()
    assert len(paragraphs(text)) == 16  # title, opening, 13 clauses, date line


def test_seed_keeps_real_hyphens() -> None:
    text = normalise(SEED.read_text(encoding="utf-8"))
    for word in ("brain-drain", "gender-sensitive", "bi-regional", "LAC-EU"):
        assert word in text


def test_line_endings_spaces_and_invisible_characters() -> None:
    raw = "\ufeffTITLE\r\n\r\nWe\u00a0note\tthe   need\u200b for safe mi\u00adgration.\r\n\r\n"
    assert normalise(raw) == "TITLE\n\nWe note the need for safe migration."


def test_words_hyphenated_across_lines() -> None:
    raw = "We stress the inte-\ngration of migrants and their contri-\nbution.\n\nWe support gender-\nsensitive policies."
    assert normalise(raw, known_words={"gender-sensitive"}) == (
        "We stress the integration of migrants and their contribution.\n\nWe support gender-sensitive policies."
    )


def test_hyphen_kept_when_the_document_uses_the_compound_elsewhere() -> None:
    raw = "We value the bi-regional dialogue.\n\nThe bi-\nregional dialogue is useful."
    assert "The bi-regional dialogue is useful." in normalise(raw)


def test_running_headers_page_numbers_and_form_feeds() -> None:
    raw = (
        "REPORT TITLE\n\nWe note the first point.\n\nThe Report   page 1\n\f"
        "The Report   page 2\n\nWe note the second point,\nwhich continues here.\n\n- 2 -\n\nPage 3 of 9\n"
    )
    assert normalise(raw) == "REPORT TITLE\n\nWe note the first point.\n\nWe note the second point, which continues here."


def test_separators_and_blank_lines() -> None:
    raw = "\n\n\nTITLE\n\n***\n\nWe agree.\n\n---\n\n* * *\n\n\n"
    assert normalise(raw) == "TITLE\n\nWe agree."


def test_list_items_on_consecutive_lines_are_split() -> None:
    raw = "We agree:\n1. To act.\n2. To report,\nin time.\n- A bullet\n• Another"
    assert paragraphs(normalise(raw)) == ["We agree:", "1. To act.", "2. To report, in time.", "- A bullet", "• Another"]


@pytest.mark.parametrize(
    ("previous", "following", "expected"),
    [
        ("we express our support for the implementation of the LAC-EU", "Migration Dialogue established in 2009.", True),
        ("as an informed and safe", "management of migratory flows.", True),
        ("We agree on this point.", "Migration is a fact.", False),
        ("Recalling its resolution on migration,", "Noting with concern the report,", False),
        ("TITLE IN CAPITALS", "We, the Ministers:", False),
        ("Mayan Riviera, Mexico, February 23, 2010", "Annex", False),
        ("- a bullet without a full stop", "- another bullet", False),
    ],
)
def test_continues(previous: str, following: str, expected: bool) -> None:
    assert continues(previous, following) is expected


def test_deterministic_and_idempotent() -> None:
    for path in [SEED, *sorted((Path(__file__).parent / "corpus").glob("*.txt"))]:
        raw = path.read_text(encoding="utf-8")
        once = normalise(raw)
        assert normalise(raw) == once
        assert normalise(once) == once, path.name


def test_pdf_page_edges_and_full_lines() -> None:
    line = "the text of a justified paragraph fills the whole width of the page"
    body = "\n".join([line] * 6)
    raw = (
        f"A TITLE\n\nWe note the opening point,\n{body}\n{line}.\n\n- 1 -\n\f"
        f"Header of the document naming the meeting in more than twelve words, with a date 2010\n\n"
        f"Consequently, we agree.\n{body}\nshort end.\n\n- 2 -\n\f"
        f"Header of the document naming the meeting in more than twelve words, with a date 2010\n\nWe close.\n"
    )
    paragraphs = normalise(raw).split("\n\n")
    assert paragraphs[0] == "A TITLE"
    # The first page ends on a full line: its paragraph runs on after the break, headers and numbers gone.
    assert paragraphs[1].startswith("We note the opening point,") and "Consequently, we agree." in paragraphs[1]
    assert paragraphs[2] == "We close."
    assert "Header" not in normalise(raw)


def test_one_paragraph_per_line_without_blank_lines() -> None:
    raw = SEED.read_text(encoding="utf-8")
    assert normalise(raw.replace("\n\n", "\n")) == normalise(raw)
    un_style = "The Assembly,\nRecalling its resolution,\nNoting the report,\n1. Decides to act;\n2. Requests a report."
    assert normalise(un_style).split("\n\n") == [
        "The Assembly,",
        "Recalling its resolution,",
        "Noting the report,",
        "1. Decides to act;",
        "2. Requests a report.",
    ]


def test_markdown_heading_marks() -> None:
    assert normalise("# JOINT STATEMENT\n\n## Preamble\n\nWe note.") == "JOINT STATEMENT\n\nPreamble\n\nWe note."
