"""Structure: title, opening formula, clauses (plain, numbered, bullets, UN style) and the place-and-date line."""

from __future__ import annotations

from pathlib import Path

from kg.extract.normalise import normalise
from kg.extract.structure import is_date_line, is_heading, is_opening, segment
from kg.paths import CORPUS_DIR

CORPUS = Path(__file__).parent / "corpus"


def layout_of(path: Path):  # noqa: ANN201 - a Layout
    text = normalise(path.read_text(encoding="utf-8"))
    return text, segment(text)


def test_seed_layout() -> None:
    text, layout = layout_of(CORPUS_DIR / "lac-2010-migration-communique.txt")
    assert layout.title.text == "SPECIAL COMMUNIQUÉ ON COOPERATION ON MIGRATION ISSUES"
    assert layout.opening.text.startswith("We, the Heads of State and Government")
    assert layout.date_line.text == "Mayan Riviera, Mexico, February 23, 2010"
    assert len(layout.clauses) == 13
    assert layout.clauses[0].text.startswith("Highlight the solid historical")
    assert layout.clauses[-1].text.endswith("to be held in Mexico in 2010.")
    for clause in layout.clauses:
        assert text[clause.start : clause.end] == clause.text
        assert clause.label is None and clause.section is None


def test_un_style_sections_and_labels() -> None:
    _, layout = layout_of(CORPUS / "un-resolution-migrants-in-transit.txt")
    assert layout.title.text == "RESOLUTION ON THE PROTECTION OF MIGRANTS IN TRANSIT"
    assert layout.opening.text == "The Regional Conference,"
    assert [c.section for c in layout.clauses] == ["preamble"] * 4 + ["operative"] * 5
    assert [c.label for c in layout.clauses] == [None] * 4 + ["1.", "2.", "3.", "4.", "5."]
    assert layout.clauses[4].text.startswith("Calls upon all States")
    assert layout.date_line.text == "Mexico City, 14 May 2010"


def test_place_and_date_at_the_top() -> None:
    _, layout = layout_of(CORPUS / "numbered-ministerial-declaration.txt")
    assert layout.date_line.text == "Lima, 12 March 2009"
    assert layout.title.text == "DECLARATION OF THE MINISTERS ON MIGRATION AND DEVELOPMENT"
    assert [c.label for c in layout.clauses] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert all(c.section is None for c in layout.clauses)


def test_bullets() -> None:
    _, layout = layout_of(CORPUS / "bullet-joint-statement.txt")
    assert layout.opening.text.startswith("The Governments of Guatemala")
    assert [c.label for c in layout.clauses] == ["-"] * 6
    assert layout.clauses[0].text.startswith("We condemn")


def test_classifiers() -> None:
    assert is_heading("JOINT STATEMENT")
    assert is_heading("Declaration of Lima")
    assert not is_heading("We agree.")
    assert not is_heading("- a bullet")
    assert is_date_line("Done at Lima on 3 May 2015.")
    assert is_date_line("Mayan Riviera, Mexico, February 23, 2010")
    assert not is_date_line("We welcome the agreement reached on 3 May 2015 by the ministers of the region.")
    assert is_opening("We, the Ministers of Labour:")
    assert is_opening("The General Assembly,")
    assert not is_opening("We note the report. We agree:")


def test_no_title_no_opening_every_paragraph_is_a_clause() -> None:
    layout = segment("We note the report.\n\nWe agree on the plan.")
    assert layout.title is None and layout.opening is None
    assert [c.text for c in layout.clauses] == ["We note the report.", "We agree on the plan."]


def test_stacked_heading_lines_and_the_title() -> None:
    raw = (
        "Joint Press Statement\nEU–CELAC Ministerial Meeting on Migration\nBrussels, 26 January 2013\n\n"
        "The Ministers welcomed the progress.\n"
    )
    text = normalise(raw)
    layout = segment(text)
    assert layout.title.text == "Joint Press Statement"  # names the kind of document
    assert [h.text for h in layout.headings] == ["EU–CELAC Ministerial Meeting on Migration"]
    assert layout.date_line.text == "Brussels, 26 January 2013"
    # A title wrapped over two lines in capitals stays one heading.
    assert normalise("SPECIAL COMMUNIQUÉ ON MIGRATION\nISSUES\n\nWe note.") == "SPECIAL COMMUNIQUÉ ON MIGRATION ISSUES\n\nWe note."


def test_un_front_matter_in_sentence_case() -> None:
    raw = (
        "United Nations\nGeneral Assembly\n\nResolution adopted by the General Assembly on 19 December 2016\n\n"
        "71/237. International migration and development\n\nThe General Assembly,\n\n"
        "Recalling its resolutions,\n\n1. Decides to convene a dialogue;\n\n2. Also decides that the dialogue shall address:\n\n"
        "(a) The protection of the human rights of all migrants;\n\n65th plenary meeting\n19 December 2016\n"
    )
    layout = segment(normalise(raw))
    assert layout.title.text == "71/237. International migration and development"
    assert layout.opening.text == "The General Assembly,"
    assert [(c.label, c.section) for c in layout.clauses] == [
        (None, "preamble"),
        ("1.", "operative"),
        ("2.", "operative"),
        ("(a)", "operative"),
    ]
    assert layout.date_line.text == "Resolution adopted by the General Assembly on 19 December 2016"
