"""Quality of the linker against our hand-written gold (tests/corpus/links/): precision and recall per method and
for the combination, printed as a table (``pytest -s`` shows it). Targets: the combination at least 0.8 for both,
pooled over the two gold sets; citations and shared forums among the test declarations exactly as in the gold.

The corpus is the built store (ontology, reference data with the 23 GCM objectives, the seed) plus our three test
declarations, prepared by the real ingestion pipeline and overlaid in memory (nothing is written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.link import Linker, default_threshold
from kg.link.data import DECLARATION_BASE, Corpus
from kg.link.linker import Scorer
from kg.link.quality import (
    corpus_with_declarations,
    METHOD_THRESHOLDS,
    Score,
    evaluate,
    format_table,
    read_seed_gcm_gold,
    read_test_gold,
    scoped_pairs,
)

LINKS_DIR = Path(__file__).parent / "corpus" / "links"
TARGET = 0.8


@pytest.fixture(scope="module")
def corpus(built_store: Path) -> Corpus:
    return corpus_with_declarations(built_store, LINKS_DIR)


def pooled(scores: list[Score]) -> tuple[float, float]:
    tp = sum(s.true_positives for s in scores)
    return tp / sum(s.predicted for s in scores), tp / sum(s.expected for s in scores)


def test_related_clauses_precision_and_recall(corpus: Corpus) -> None:
    golds = [
        read_seed_gcm_gold(LINKS_DIR / "gold_seed_gcm.json"),
        read_test_gold(LINKS_DIR / "gold_test_links.json")[0],
    ]
    scorer = Scorer(corpus)
    thresholds = {**METHOD_THRESHOLDS, "combined": default_threshold()}
    rows: dict[str, list[Score]] = {}
    for method, threshold in thresholds.items():
        rows[method] = [evaluate(scoped_pairs(scorer, g), g, method, threshold) for g in golds]
    print("\n" + format_table([s for scores in rows.values() for s in scores]))
    for method, scores in rows.items():
        p, r = pooled(scores)
        print(f"pooled {method:<10} P={p:.2f} R={r:.2f}")
    precision, recall = pooled(rows["combined"])
    assert precision >= TARGET and recall >= TARGET, (precision, recall)
    # the combination is at least as good as either method alone (F1, pooled)
    f1 = {m: 2 * p * r / (p + r) for m, (p, r) in ((m, pooled(s)) for m, s in rows.items())}
    assert f1["combined"] >= max(f1["topic"], f1["lexical"]), f1


def test_seed_links_to_the_objectives_it_anticipates(corpus: Corpus) -> None:
    """A few links any reader would expect, through the store-facing API (threshold = the setting)."""
    seed = DECLARATION_BASE + "lac-2010-migration-communique"
    links = Linker(threshold=default_threshold()).links(corpus, involving=seed)
    found = {(p.source.rsplit("/", 1)[-1], p.target.rsplit("/", 1)[-1]) for p in links.pairs if "gcm-2018" in p.target}
    for pair in [("10", "9"), ("10", "10"), ("10", "14"), ("5", "20"), ("5", "21"), ("7", "19"), ("3", "2")]:
        assert pair in found, pair


def test_citations_and_shared_forums_match_the_gold(corpus: Corpus) -> None:
    _, data = read_test_gold(LINKS_DIR / "gold_test_links.json")
    names = {DECLARATION_BASE + key: short for short, key in data["declarations"].items()}  # type: ignore[union-attr]
    links = Linker(threshold=default_threshold()).links(corpus)
    cites = {(names[c.source], names[c.target]) for c in links.citations if c.source in names and c.target in names}
    assert cites == {tuple(pair) for pair in data["cites"]}  # type: ignore[union-attr]
    shared = {
        frozenset({names[a], names[b]}) for a, b in links.shared_forums if a in names and b in names
    }
    assert shared == {frozenset(t[:2]) for t in data["shared_forums"]}  # type: ignore[union-attr]
    via = {names[a] + "+" + names[b]: {f.rsplit("/", 1)[-1] for f in fs} for (a, b), fs in links.shared_forums.items()
           if a in names and b in names}
    assert all("gfmd" in forums for forums in via.values()), via
    # the seed still cites the Lima Declaration (found by extraction)
    assert any(c.target.endswith("/lima-declaration-2008") and names.get(c.source) == "seed" for c in links.citations)


def test_the_cap_on_links_per_clause_keeps_the_quality(corpus: Corpus) -> None:
    """The links the store gets (threshold and the default cap of KG_LINK_MAX_PER_CLAUSE, from the linker over the
    whole corpus) still reach the target against the gold."""
    from kg.link import default_max_per_clause, make_linker

    golds = [
        read_seed_gcm_gold(LINKS_DIR / "gold_seed_gcm.json"),
        read_test_gold(LINKS_DIR / "gold_test_links.json")[0],
    ]
    linker = make_linker()
    assert linker.max_per_clause == default_max_per_clause()
    capped = linker.links(corpus).pairs
    uncapped = Linker(threshold=default_threshold()).links(corpus).pairs
    assert set(capped) <= set(uncapped)
    scores = []
    for gold in golds:
        scope = [p for p in capped if corpus.clauses[p.source].declaration in gold.declarations
                 and corpus.clauses[p.target].declaration in gold.declarations]
        scores.append(evaluate(scope, gold, "combined", default_threshold()))
    print("\n" + format_table(scores))
    precision, recall = pooled(scores)
    assert precision >= TARGET and recall >= TARGET, (precision, recall)
