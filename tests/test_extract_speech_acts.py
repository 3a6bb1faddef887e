"""Speech acts: every act of a clause in governing position, from the scheme; unknown verbs kept with a warning."""

from __future__ import annotations

import pytest

from kg.extract import extract_declaration, kinds_of, load_lexicon
from kg.extract.speech_acts import find_speech_acts
from kg.namespaces import DEC, ID_BASE

SA = ID_BASE + "speech-act/"


def acts(text: str, *, start_is_verb: bool = True) -> list[tuple[str, str]]:
    """(concept key or '?lemma', quoted words) of the acts of ``text`` taken as one clause."""
    found, _ = find_speech_acts(text, 0, len(text), load_lexicon(), clause_start_is_verb=start_is_verb)
    return [(a.concept.removeprefix(SA) if a.concept else "?" + a.lemma, text[a.span.start : a.span.end]) for a in found]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("Highlight the solid ties.", [("highlight", "Highlight")]),
        (
            "We also note that poverty is a root cause. We therefore assume the responsibility and commitment to act.",
            [("note", "note that"), ("assume", "assume the responsibility and commitment")],
        ),
        (
            "Bearing in mind the need to step up exchanges, we call for dialogue. Likewise, we call to promote a position.",
            [("bear-in-mind", "Bearing in mind"), ("call-for", "call for"), ("call-upon", "call to")],
        ),
        (
            "We therefore underscoring our dialogue with the European Union, we express our support for it.",
            [("underscore", "underscoring"), ("express-support", "express our support")],
        ),
        ("We are also resolved to progress.", [("be-resolved", "We are also resolved")]),
        ("Noting with concern the report,", [("express-concern", "Noting with concern")]),
        ("Also decides to remain seized of the matter.", [("decide", "decides")]),
        ("We deplore the loss of lives and support search and rescue.", [("deplore", "deplore"), ("support", "support")]),
    ],
)
def test_every_act_in_governing_position(clause: str, expected: list[tuple[str, str]]) -> None:
    found = acts(clause)
    assert [(k, q.lower()) for k, q in found] == [(k, q.lower()) for k, q in expected]


@pytest.mark.parametrize(
    "clause",
    [
        "We underscore the need to promote coordinated actions and to strengthen the consular networks.",
        "We call for dialogue, cooperation and support for migrants.",  # "support" is a noun here
        "We recognise the challenges we face.",  # "we face" is subordinate
        "We note that we have agreed before.",  # after "that"
    ],
)
def test_no_acts_from_subordinate_verbs(clause: str) -> None:
    assert len(acts(clause)) == 1


def test_unknown_verb_is_kept_with_a_warning() -> None:
    text = "We deem it necessary to act. We also recognise the need."
    found, warnings = find_speech_acts(text, 0, len(text), load_lexicon())
    assert [(a.concept, a.lemma) for a in found] == [(None, "deem"), (SA + "recognise", "recognise")]
    assert len(warnings) == 1 and "'deem'" in warnings[0]


def test_unknown_clause_opening_verb_only_where_a_verb_is_expected() -> None:
    assert acts("Deem the report useful.") == [("?Deem", "Deem")]
    assert acts("Deem the report useful.", start_is_verb=False) == []
    assert acts("At the same time, we highlight the promotion.") == [("highlight", "highlight")]
    assert acts("Those policies will also contribute to return.") == []


def test_unknown_act_warning_reaches_the_declaration() -> None:
    declaration = extract_declaration("A TITLE\n\nWe, the Ministers:\n\nProclaim the year of the migrant.")
    [clause] = declaration.clauses
    assert [(a.concept, a.lemma) for a in clause.speech_acts] == [(None, "Proclaim")]
    assert declaration.warnings and "Proclaim" in declaration.warnings[0] and "clause 1" in declaration.warnings[0]


def test_kinds_come_from_the_scheme() -> None:
    declaration = extract_declaration(
        "A TITLE\n\nWe note the report. We commit to act. We call upon all States to help. We welcome the offer."
    )
    [clause] = declaration.clauses
    assert kinds_of(clause) == {str(DEC.Recognition), str(DEC.Commitment), str(DEC.Appeal), str(DEC.Endorsement)}
    assert kinds_of(extract_declaration("A TITLE\n\nWe deem it so.").clauses[0]) == set()


def test_third_person_statements() -> None:
    assert acts("The Ministers welcomed the progress. They agreed to deepen cooperation.") == [
        ("welcome", "welcomed"),
        ("agree", "agreed"),
    ]
    assert acts("Ministers underlined the importance of remittances and encouraged measures.") == [
        ("underscore", "underlined"),
        ("encourage", "encouraged"),
    ]
    assert acts("The next meeting will take place in Santiago.", start_is_verb=False) == []


def test_acts_in_any_order_of_discovery() -> None:
    assert acts("At the same time, we highlight the work. The Ministers welcomed the progress.") == [
        ("highlight", "highlight"),
        ("welcome", "welcomed"),
    ]
