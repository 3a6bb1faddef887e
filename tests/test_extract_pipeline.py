"""extract_declaration: metadata, keyword overrides, keys, determinism and errors (the API kg.rdf and ingest use)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kg.errors import BadInput, NotADeclaration
from kg.extract import default_key, extract_declaration, read_document
from kg.extract.model import Declaration
from kg.extract.pipeline import readable_title
from kg.namespaces import ID_BASE
from kg.paths import CORPUS_DIR

SEED = CORPUS_DIR / "lac-2010-migration-communique.txt"
CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def seed() -> Declaration:
    text, media_type = read_document(SEED)
    return extract_declaration(text, media_type=media_type, source_name=SEED.name)


def test_seed_metadata(seed: Declaration) -> None:
    assert seed.title == "Special Communiqué on Cooperation on Migration Issues"
    assert seed.text[seed.title_span.start : seed.title_span.end] == "SPECIAL COMMUNIQUÉ ON COOPERATION ON MIGRATION ISSUES"
    assert seed.date == dt.date(2010, 2, 23)
    assert seed.text[seed.date_span.start : seed.date_span.end] == "February 23, 2010"
    assert seed.place == ID_BASE + "place/mayan-riviera"
    assert seed.country == ID_BASE + "state/mexico"
    assert seed.meeting == ID_BASE + "meeting/lac-unity-summit-2010"  # held there on that day, says the data
    assert [a.iri for a in seed.adopters] == [ID_BASE + "group/latin-america-and-the-caribbean"]
    assert seed.opening.startswith("We, the Heads of State and Government")
    assert len(seed.clauses) == 13
    assert [c.position for c in seed.clauses] == list(range(1, 14))
    assert seed.source_name == SEED.name and seed.media_type == "text/plain"
    assert seed.warnings == []


def test_default_key_is_deterministic(seed: Declaration) -> None:
    assert seed.key == "special-communique-on-cooperation-on-migration-issues-2010"
    assert default_key("Lima Declaration", None) == "lima-declaration"
    assert default_key("Declaration 2010", dt.date(2010, 1, 1)) == "declaration-2010"


def test_same_text_same_declaration() -> None:
    text = SEED.read_text(encoding="utf-8")
    first, second = extract_declaration(text), extract_declaration(text)
    assert first == second
    crlf = extract_declaration(text.replace("\n", "\r\n").replace(" ", "\u00a0", 3))
    assert crlf.text == first.text


def test_keyword_arguments_fill_and_override() -> None:
    text = (CORPUS / "bullet-joint-statement.txt").read_text(encoding="utf-8")
    declaration = extract_declaration(
        text,
        key="my-key",
        title="Joint Statement on the Rights of Migrant Children",
        date=dt.date(2011, 6, 21),
        place="place/lima",
        adopters=["state/mexico", ID_BASE + "state/guatemala"],
    )
    assert declaration.key == "my-key"
    assert declaration.title_span is not None  # the given title is written in the text
    assert declaration.date == dt.date(2011, 6, 21) and declaration.date_span is None
    assert declaration.place == ID_BASE + "place/lima" and declaration.place_span is None
    assert declaration.country == ID_BASE + "state/peru"
    assert [(a.iri, a.span is None) for a in declaration.adopters] == [
        (ID_BASE + "state/mexico", True),  # not named in the text: no evidence
        (ID_BASE + "state/guatemala", False),
    ]


def test_text_without_metadata_needs_a_title() -> None:
    declaration = extract_declaration("We note the report.\n\nWe agree on the plan.", title="Untitled notes")
    assert declaration.key == "untitled-notes" and declaration.date is None and declaration.place is None
    with pytest.raises(NotADeclaration, match="notes.txt: no title"):
        extract_declaration("We note the report.", source_name="notes.txt")


def test_date_line_at_the_top_and_country_of_the_place() -> None:
    text, _ = read_document(CORPUS / "numbered-ministerial-declaration.txt")
    declaration = extract_declaration(text)
    assert declaration.date == dt.date(2009, 3, 12)
    assert declaration.place == ID_BASE + "place/lima" and declaration.country == ID_BASE + "state/peru"
    assert {a.iri.removeprefix(ID_BASE) for a in declaration.adopters} == {"state/peru", "state/chile", "state/ecuador"}


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_text(text: str) -> None:
    with pytest.raises(BadInput, match="empty.txt"):
        extract_declaration(text, source_name="empty.txt")


def test_only_headings_is_not_a_declaration() -> None:
    with pytest.raises(NotADeclaration, match="menu.html: no clauses"):
        extract_declaration("<html><body><h1>Menu</h1><h2>Soup</h2></body></html>", media_type="text/html", source_name="menu.html")


def test_readable_title() -> None:
    assert readable_title("JOINT STATEMENT OF THE EU AND CELAC", frozenset({"EU", "CELAC"})) == "Joint Statement of the EU and CELAC"
    assert readable_title("Lima Declaration") == "Lima Declaration"


def test_place_and_date_from_the_opening_formula() -> None:
    declaration = extract_declaration(
        "LIMA DECLARATION ON MIGRANTS\n\nWe, the Ministers, meeting in Lima on 3 May 2015:\n\n1. Reaffirm our commitment."
    )
    assert declaration.opening == "We, the Ministers, meeting in Lima on 3 May 2015:"
    assert declaration.date == dt.date(2015, 5, 3)
    assert declaration.place == ID_BASE + "place/lima" and declaration.country == ID_BASE + "state/peru"
    assert declaration.text[declaration.place_span.start : declaration.place_span.end] == "Lima"
    assert len(declaration.clauses) == 1


def test_bad_key_is_refused() -> None:
    with pytest.raises(BadInput, match="x.txt: key 'Not A Slug'"):
        extract_declaration("A TITLE\n\nWe note.", key="Not A Slug", source_name="x.txt")


def test_missing_date_and_place_are_warned_about() -> None:
    declaration = extract_declaration("A TITLE\n\nWe note the report.")
    assert any("no date" in w for w in declaration.warnings)
    assert any("no place" in w for w in declaration.warnings)
    stated = extract_declaration("A TITLE\n\nWe note the report.", date=dt.date(2020, 1, 1), place="place/lima")
    assert stated.warnings == []
