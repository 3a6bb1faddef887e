"""Precision and recall of the linker against hand-written gold links (``tests/corpus/links/gold_*.json``).

A gold file names the clause pairs that *should* be linked inside a scope: every pair of clauses between two
declarations of the scope (seed x GCM objectives; or every two of our own test declarations). A method's
prediction is the set of pairs in that scope whose score reaches the method's threshold.

Used by ``tests/test_link_quality.py`` and ``bench/link.py``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kg.link.data import CLAUSE_BASE, DECLARATION_BASE, Corpus
from kg.link.linker import ClausePair, Scorer

Pair = frozenset[str]

#: Thresholds of the single methods when reported on their own: each one's best mean F1 on the two gold sets
#: (tuned on the gold like the combined one, ``Settings.link_threshold``, so the comparison is fair).
METHOD_THRESHOLDS = {"topic": 0.35, "lexical": 0.16}


@dataclass(frozen=True, slots=True)
class Gold:
    """Gold clause pairs (unordered) and the declarations (IRIs) whose cross pairs are judged."""

    name: str
    declarations: tuple[str, ...]
    pairs: frozenset[Pair]


@dataclass(frozen=True, slots=True)
class Score:
    """Precision, recall and counts of one method on one gold set."""

    method: str
    gold: str
    threshold: float
    true_positives: int
    predicted: int
    expected: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _clause(key: str, position: int | str) -> str:
    return f"{CLAUSE_BASE}{key}/{position}"


def read_seed_gcm_gold(path: Path) -> Gold:
    """``gold_seed_gcm.json``: ``links`` maps each source clause position to the target positions it links to."""
    data = json.loads(path.read_text(encoding="utf-8"))
    source, target = data["source"], data["target"]
    pairs = {frozenset({_clause(source, s), _clause(target, t)}) for s, ts in data["links"].items() for t in ts}
    return Gold(path.stem, (DECLARATION_BASE + source, DECLARATION_BASE + target), frozenset(pairs))


def read_test_gold(path: Path) -> tuple[Gold, dict[str, object]]:
    """``gold_test_links.json``: ``related`` pairs of ``short/position`` among the test declarations (short names
    in ``declarations``). Returns the related-clause gold (scope: the test declarations other than ``seed``) and
    the raw file (for the citation and forum golds)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    keys: Mapping[str, str] = data["declarations"]

    def clause(ref: str) -> str:
        short, position = ref.split("/")
        return _clause(keys[short], position)

    pairs = {frozenset({clause(a), clause(b)}) for a, b in data["related"]}
    scope = tuple(DECLARATION_BASE + k for s, k in keys.items() if s != "seed")
    return Gold(path.stem, scope, frozenset(pairs)), data


def scoped_pairs(scorer: Scorer, gold: Gold) -> list[ClausePair]:
    """Every scored pair of clauses of two different declarations of ``gold``'s scope."""
    by_declaration: dict[str, list] = {}
    for clause in scorer.clauses:
        if clause.declaration in gold.declarations:
            by_declaration.setdefault(clause.declaration, []).append(clause)
    out = []
    for a, b in itertools.combinations(sorted(by_declaration), 2):
        for ca in by_declaration[a]:
            for cb in by_declaration[b]:
                out.append(scorer.pair(ca, cb))
    return out


def evaluate(pairs: Iterable[ClausePair], gold: Gold, method: str, threshold: float) -> Score:
    """Precision and recall of ``method`` at ``threshold`` over ``pairs`` (the scope's pairs)."""
    predicted = {frozenset({p.source, p.target}) for p in pairs if p.score(method) >= threshold}
    return Score(method, gold.name, threshold, len(predicted & gold.pairs), len(predicted), len(gold.pairs))


def best_threshold(pairs: list[ClausePair], golds: list[Gold], method: str) -> float:
    """The threshold (a step of 0.01) with the best mean F1 over ``golds`` (each with its scope's pairs)."""
    best, best_f1 = 0.0, -1.0
    for step in range(1, 100):
        threshold = step / 100
        f1 = sum(evaluate(pairs, g, method, threshold).f1 for g in golds) / len(golds)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = threshold, f1
    return best


def corpus_keys(corpus: Corpus) -> list[str]:
    """The declaration IRIs of a corpus that have clauses (sorted)."""
    return sorted({c.declaration for c in corpus.clauses.values()})


def format_table(rows: Iterable[Score]) -> str:
    """A plain-text table: gold, method, threshold, P, R, F1, TP/predicted/expected."""
    lines = [f"{'gold':<16} {'method':<10} {'thr':>5} {'P':>6} {'R':>6} {'F1':>6}   tp/pred/gold"]
    for s in rows:
        lines.append(
            f"{s.gold:<16} {s.method:<10} {s.threshold:>5.2f} {s.precision:>6.2f} {s.recall:>6.2f} {s.f1:>6.2f}"
            f"   {s.true_positives}/{s.predicted}/{s.expected}"
        )
    return "\n".join(lines)


def corpus_with_declarations(store_dir: Path, folder: Path) -> Corpus:
    """The linking corpus of the store at ``store_dir`` with every ``folder/*.txt`` declaration overlaid in memory,
    each prepared by the real ingestion pipeline (the store is opened read-only; nothing is written)."""
    from kg.ingest import Pipeline
    from kg.link import load_corpus, overlay
    from kg.store.oxigraph import OxigraphStore

    with OxigraphStore(store_dir, read_only=True) as store:
        corpus = load_corpus(store)
        pipeline = Pipeline()
        for path in sorted(folder.glob("*.txt")):
            prepared = pipeline.prepare_file(path, store=store)
            corpus = overlay(corpus, DECLARATION_BASE + prepared.key, prepared.quads)
    return corpus
