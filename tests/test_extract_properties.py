"""Properties of extraction on arbitrary text: it never fails but with our errors, every span is valid, and
normalisation is idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.errors import BadInput
from kg.extract import extract_declaration, load_lexicon, normalise

# Text made of declaration-like pieces and noise: words, markers, page furniture, odd whitespace.
PIECES = st.sampled_from(
    [
        "We", "we", "note", "the", "countries of origin", "migrants", "Lima", "2008", "February 23, 2010", "1.",
        "- ", "• ", "(a)", "* * *", "\n", "\n\n", "\f", "\r\n", "\u00a0", "-\n", "SPECIAL COMMUNIQUÉ", ":", ",", ".",
        "Recalling", "Decides", "call for", "and", "support", "Page 2", "Fifth Summit", "held in", "Mexico", "IOM",
        "human rights of", "all", "women and girl migrants", "We, the Ministers:", "The Assembly,", "resolved",
    ]
)
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=60).map(" ".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(TEXTS)
def test_extraction_fails_only_with_our_errors_and_spans_are_valid(text: str) -> None:
    lexicon = load_lexicon()
    try:
        declaration = extract_declaration(text, lexicon=lexicon)
    except BadInput:  # NotADeclaration is a BadInput
        return
    body = declaration.text
    spans = [c.span for c in declaration.clauses]
    for clause in declaration.clauses:
        assert body[clause.span.start : clause.span.end] == clause.text
        spans += [a.span for a in clause.speech_acts] + [m.span for m in clause.entities if m.span]
        spans += [t.span for t in clause.topics] + [d.span for d in clause.dates]
    spans += [s for s in (declaration.title_span, declaration.date_span, declaration.place_span) if s]
    for span in spans:
        assert 0 <= span.start < span.end <= len(body)


@FAST
@given(TEXTS)
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip()
    assert "\r" not in once and "\f" not in once and "\u00a0" not in once
