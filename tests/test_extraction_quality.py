"""Extraction quality against hand-written gold annotations (``tests/corpus/gold/*.json``).

Per document and field: precision, recall and F1 of (clause position, value) pairs; the table is printed (``pytest
-s``) and is the assertion message when a target is missed. Targets (issue 3): clause boundaries exact on every
document; speech acts and kinds at least 0.95; every other field F1 at least 0.9 on the seed and 0.85 on the others.
A gold file marked ``"heldout": true`` was never tuned on: its scores are shown but only its clause boundaries are
asserted. Also: every span of every document points at the words it came from.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg.extract import extract_declaration, kinds_of, load_lexicon, read_document
from kg.extract.dates import find_dates
from kg.extract.model import Declaration
from kg.namespaces import DEC, ID_BASE
from kg.paths import PROJECT_DIR

try:  # the tests folder as a package (python -m pytest from the project) or as a path entry (pytest's prepend mode)
    from tests.test_extract_readers import make_pdf
except ImportError:
    from test_extract_readers import make_pdf  # type: ignore[no-redef]

GOLD_DIR = Path(__file__).parent / "corpus" / "gold"
SEED = "lac-2010-migration-communique"
FIELDS = ("clauses", "speech_acts", "kinds", "topics", "actors", "rights", "forums", "places", "dates", "metadata")
ACTOR_KINDS = {"state", "organisation", "group", "population-group"}
FORUM_KINDS = {"forum", "meeting", "declaration"}
STRICT = {"clauses": 1.0, "speech_acts": 0.95, "kinds": 0.95}  # clause boundaries: exact


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(gold: set, found: set) -> Score:
    return Score(len(gold & found), len(found - gold), len(gold - found))


def gold_cases() -> list[Path]:
    return sorted(GOLD_DIR.glob("*.json"))


def load_case(path: Path, tmp_path: Path) -> tuple[dict, Declaration]:
    """The gold of one case and the declaration extracted from its document."""
    case = json.loads(path.read_text(encoding="utf-8"))
    gold = case
    if "gold" in case:
        gold = json.loads((GOLD_DIR / case["gold"]).read_text(encoding="utf-8"))
    source = PROJECT_DIR / case["document"]
    if case.get("render") == "pdf":
        options = dict(case.get("pdf", {}))
        if "page_format" in options and isinstance(options["page_format"], list):
            options["page_format"] = tuple(options["page_format"])
        source = make_pdf(tmp_path / (source.stem + ".pdf"), source.read_text(encoding="utf-8"), **options)
    text, media_type = read_document(source)
    assert media_type == case["media_type"], f"{source.name} read as {media_type}"
    key = SEED if path.stem.startswith(SEED) else None
    return gold, extract_declaration(text, media_type=media_type, source_name=source.name, key=key)


def _short(iri: str) -> str:
    return iri[len(ID_BASE) :] if iri.startswith(ID_BASE) else iri


def found_values(declaration: Declaration) -> dict[str, set[tuple[int, str]]]:
    """The extracted facts as (position, value) pairs, in the gold's vocabulary."""
    lexicon = load_lexicon()
    out: dict[str, set[tuple[int, str]]] = {f: set() for f in FIELDS}
    for clause in declaration.clauses:
        p = clause.position
        out["clauses"].add((p, f"{clause.span.start}:{clause.text}"))
        for act in clause.speech_acts:
            out["speech_acts"].add((p, _short(act.concept).split("/", 1)[1] if act.concept else "?" + act.lemma.lower()))
        out["kinds"] |= {(p, kind.removeprefix(str(DEC))) for kind in kinds_of(clause, lexicon)}
        out["topics"] |= {(p, _short(t.concept).split("/", 1)[1]) for t in clause.topics}
        for mention in clause.entities:
            field = (
                "actors" if mention.kind in ACTOR_KINDS
                else "rights" if mention.kind == "right"
                else "forums" if mention.kind in FORUM_KINDS
                else "places"
            )
            out[field].add((p, _short(mention.iri)))
        out["dates"] |= {(p, d.value.isoformat()) for d in clause.dates}
    meta = out["metadata"]
    meta.add((0, "title=" + declaration.title))
    if declaration.date:
        meta.add((0, "date=" + declaration.date.isoformat()))
    if declaration.place:
        meta.add((0, "place=" + _short(declaration.place)))
    if declaration.country:
        meta.add((0, "country=" + _short(declaration.country)))
    meta |= {(0, "adopter=" + _short(m.iri)) for m in declaration.adopters}
    return out


def _offset(text: str, clause_text: str) -> int:
    """Where a gold clause's text stands in the normalised text (-1 if nowhere: a boundary error)."""
    return text.find(clause_text)


def gold_values(gold: dict, text: str) -> dict[str, set[tuple[int, str]]]:
    out: dict[str, set[tuple[int, str]]] = {f: set() for f in FIELDS}
    for clause in gold["clauses"]:
        out["clauses"].add((clause["position"], f"{_offset(text, clause['text'])}:{clause['text']}"))
        for field in FIELDS[1:-1]:
            out[field] |= {(clause["position"], value) for value in clause.get(field, [])}
    meta = gold["metadata"]
    out["metadata"].add((0, "title=" + meta["title"]))
    for name in ("date", "place", "country"):
        if meta.get(name):
            out["metadata"].add((0, f"{name}={meta[name]}"))
    out["metadata"] |= {(0, "adopter=" + a) for a in meta.get("adopters", [])}
    return out


def table(rows: Iterable[tuple[str, str, Score, float]]) -> str:
    lines = [f"{'document':<52} {'field':<12} {'P':>6} {'R':>6} {'F1':>6} {'target':>7}  tp/fp/fn"]
    for doc, field, s, target in rows:
        flag = "" if s.f1 >= target else "  <-- below target"
        lines.append(
            f"{doc:<52} {field:<12} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {target:7.2f}  "
            f"{s.tp}/{s.fp}/{s.fn}{flag}"
        )
    return "\n".join(lines)


def differences(gold: dict[str, set], found: dict[str, set]) -> str:
    lines = []
    for field in FIELDS:
        missing, extra = sorted(gold[field] - found[field]), sorted(found[field] - gold[field])
        if missing or extra:
            lines.append(f"  {field}: missing {missing} extra {extra}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Declaration]]:
    tmp = tmp_path_factory.mktemp("quality")
    return {path.stem: load_case(path, tmp) for path in gold_cases()}


def test_there_are_enough_gold_documents() -> None:
    names = {p.stem for p in gold_cases()}
    assert SEED in names and len(names) >= 5


@pytest.mark.parametrize("case", [p.stem for p in gold_cases()])
def test_clause_boundaries_exact(results: dict, case: str) -> None:
    gold, declaration = results[case]
    expected = [(c["position"], c["text"], c.get("label"), c.get("section")) for c in gold["clauses"]]
    actual = [(c.position, c.text, c.label, c.section) for c in declaration.clauses]
    assert actual == expected
    assert len(declaration.clauses) == gold["metadata"]["clause_count"]


def test_field_scores_meet_the_targets(results: dict) -> None:
    rows = []
    details = []
    failed = False
    for case, (gold, declaration) in sorted(results.items()):
        g, f = gold_values(gold, declaration.text), found_values(declaration)
        heldout = bool(gold.get("heldout"))
        for field in FIELDS:
            target = STRICT.get(field, 0.9 if case.startswith(SEED) else 0.85)
            s = score(g[field], f[field])
            rows.append((case + (" (held out)" if heldout else ""), field, s, target))
            failed |= s.f1 < target and not heldout  # a held-out document is measured, not a gate
        diff = differences(g, f)
        if diff:
            details.append(f"{case}:\n{diff}")
    report = table(rows)
    totals = {field: Score(*(sum(getattr(r[2], a) for r in rows if r[1] == field) for a in ("tp", "fp", "fn"))) for field in FIELDS}
    report += "\n" + "\n".join(
        f"{'ALL (micro, held out included)':<52} {field:<12} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}" for field, s in totals.items()
    )
    print("\n" + report + "\n\nDifferences from gold:\n" + "\n".join(details))
    assert not failed, "extraction quality below target:\n" + report + "\n\n" + "\n".join(details)


@pytest.mark.parametrize("case", [p.stem for p in gold_cases()])
def test_every_span_points_at_its_words(results: dict, case: str) -> None:
    _, declaration = results[case]
    text = declaration.text
    lexicon = load_lexicon()

    def check(start: int, end: int, what: str, within: tuple[int, int] = (0, len(text))) -> str:
        assert within[0] <= start < end <= within[1], f"{what}: span {start}..{end} outside {within}"
        quote = text[start:end]
        assert quote == quote.strip() and quote, f"{what}: {quote!r}"
        assert start == 0 or not (text[start - 1].isalnum() and text[start].isalnum()), f"{what} starts mid-word"
        assert end == len(text) or not (text[end].isalnum() and text[end - 1].isalnum()), f"{what} ends mid-word"
        return quote

    for clause in declaration.clauses:
        bounds = (clause.span.start, clause.span.end)
        assert text[clause.span.start : clause.span.end] == clause.text
        for act in clause.speech_acts:
            quote = check(act.span.start, act.span.end, f"clause {clause.position} act {act.lemma}", bounds)
            if act.concept is None:
                assert quote == act.lemma
        for mention in [*clause.entities, *clause.topics]:
            check(mention.span.start, mention.span.end, f"clause {clause.position} {mention}", bounds)
        for date in clause.dates:
            quote = check(date.span.start, date.span.end, f"clause {clause.position} date", bounds)
            assert [d for d, _, _ in find_dates(quote)] == [date.value]
    if declaration.title_span:
        assert text[declaration.title_span.start : declaration.title_span.end].lower() == declaration.title.lower()
    if declaration.date_span:
        quote = check(declaration.date_span.start, declaration.date_span.end, "date")
        assert isinstance(declaration.date, dt.date)
        assert [d for d, _, _ in find_dates(quote)] == [declaration.date]
    if declaration.place_span:
        quote = check(declaration.place_span.start, declaration.place_span.end, "place")
        labels = {label.lower() for label in lexicon.entities[declaration.place].labels}
        assert quote.lower() in labels
    for adopter in declaration.adopters:
        assert declaration.opening_span is not None
        check(adopter.span.start, adopter.span.end, "adopter", (declaration.opening_span.start, declaration.opening_span.end))
