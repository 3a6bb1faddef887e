"""Compute the links of a corpus snapshot and render them as the triples of ``graph/links``.

The links graph holds, for the declarations of the store:

- ``D cito:cites E`` for every :class:`kg.link.citations.Citation`, and ``clause dec:refersTo E`` where the
  citation was found by the linker rather than by extraction (so the clause-level reference is always there);
- ``D dec:sharesForumWith E`` (both ways) when a clause of each refers to the same ``dec:Forum`` or
  ``dec:Meeting``; a meeting also stands for its forum (``dec:meetingOf``);
- one ``dec:ClauseLink`` ``id/clause-link/{hash}`` per pair of clauses of two different declarations whose score
  reaches the threshold: ``dec:source`` (the clause of the earlier declaration), ``dec:target``, ``dec:score``
  (xsd:double in [0, 1], four decimals), ``dec:method`` (``"combined"`` by default), and ``dec:relatedClause``
  both ways between the two clauses.

Incremental updates (:meth:`Linker.update`): the triples that touch a declaration (its IRI, its clauses, or a clause
link of one of its clauses) are dropped and recomputed against the rest of the store; every other triple of the
links graph stays as it was. Word and topic frequencies are those of the store at the time, so after many
ingests ``kg link`` (a full rebuild) may score older pairs slightly differently.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.link.citations import Citation, CitationFinder
from kg.link.data import CLAUSE_BASE, DECLARATION_BASE, ClauseInfo, Corpus, declaration_key, load_corpus, overlay
from kg.link.similarity import (
    DEFAULT_TOPIC_WEIGHT,
    METHODS,
    TOPIC_IDF_POWER,
    Vector,
    combine,
    content_words,
    dot,
    expand_topics,
    idf,
    tfidf_vector,
    topic_vector,
)
from kg.namespaces import CITO, DEC, ID_BASE, LINKS_GRAPH, PREFIXES
from kg.store.base import Store

log = logging.getLogger(__name__)

CLAUSE_LINK_BASE = ID_BASE + "clause-link/"
#: A feature found in more than max(FREQUENT_FEATURE_MIN, clauses / FREQUENT_FEATURE_SHARE) clauses is not walked
#: through the index (see :meth:`Scorer.pairs`): only speed depends on these, not the result.
FREQUENT_FEATURE_MIN = 200
FREQUENT_FEATURE_SHARE = 20
#: Scores are rounded to 6 decimals; bounds compared with them allow for that.
_ROUNDING = 1e-6

_RDF_TYPE = ox.NamedNode(PREFIXES["rdf"] + "type")
_XSD_DOUBLE = ox.NamedNode(PREFIXES["xsd"] + "double")
_CITES = ox.NamedNode(str(CITO.cites))
_REFERS_TO = ox.NamedNode(str(DEC.refersTo))
_SHARES_FORUM = ox.NamedNode(str(DEC.sharesForumWith))
_CLAUSE_LINK = ox.NamedNode(str(DEC.ClauseLink))
_SOURCE = ox.NamedNode(str(DEC.source))
_TARGET = ox.NamedNode(str(DEC.target))
_SCORE = ox.NamedNode(str(DEC.score))
_METHOD = ox.NamedNode(str(DEC.method))
_RELATED = ox.NamedNode(str(DEC.relatedClause))

#: An optional embedding function: texts -> one normalised vector per text (see bench/link.py).
Embedder = Callable[[Sequence[str]], list[Sequence[float]]]


@dataclass(frozen=True, slots=True, order=True)
class ClausePair:
    """Two clauses of different declarations and their scores by each method."""

    source: str
    target: str
    topic: float
    lexical: float
    combined: float
    embedding: float | None = None

    def score(self, method: str) -> float:
        """The score of ``method`` (``topic``, ``lexical``, ``combined``, ``embedding``)."""
        value = getattr(self, method)
        if value is None:
            raise ValueError(f"no {method} score: the linker was not given an embedder")
        return float(value)

    @property
    def iri(self) -> str:
        """``id/clause-link/{first 16 hex digits of sha1(source target)}``: stable for the pair."""
        digest = hashlib.sha1(f"{self.source} {self.target}".encode()).hexdigest()[:16]
        return CLAUSE_LINK_BASE + digest


@dataclass(slots=True)
class LinkSet:
    """The links found in one run: citations, shared forums (pairs of declaration IRIs, each pair once, sorted,
    with the forums or meetings they share) and scored clause pairs at or above the threshold."""

    citations: list[Citation] = field(default_factory=list)
    shared_forums: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    pairs: list[ClausePair] = field(default_factory=list)
    method: str = "combined"

    def triples(self) -> list[ox.Triple]:
        """The links as triples, in a fixed order (no blank nodes: the same links give the same triples)."""
        out: set[ox.Triple] = set()
        nodes: dict[str, ox.NamedNode] = {}

        def node(iri: str) -> ox.NamedNode:
            found = nodes.get(iri)
            if found is None:
                found = nodes[iri] = ox.NamedNode(iri)
            return found

        method = ox.Literal(self.method)
        for c in self.citations:
            out.add(ox.Triple(ox.NamedNode(c.source), _CITES, ox.NamedNode(c.target)))
            if c.new_reference:
                out.add(ox.Triple(ox.NamedNode(c.clause), _REFERS_TO, ox.NamedNode(c.target)))
        for a, b in self.shared_forums:
            out.add(ox.Triple(ox.NamedNode(a), _SHARES_FORUM, ox.NamedNode(b)))
            out.add(ox.Triple(ox.NamedNode(b), _SHARES_FORUM, ox.NamedNode(a)))
        for p in self.pairs:
            link, source, target = ox.NamedNode(p.iri), node(p.source), node(p.target)
            out.update(
                [
                    ox.Triple(link, _RDF_TYPE, _CLAUSE_LINK),
                    ox.Triple(link, _SOURCE, source),
                    ox.Triple(link, _TARGET, target),
                    ox.Triple(link, _SCORE, ox.Literal(f"{p.score(self.method):.4f}", datatype=_XSD_DOUBLE)),
                    ox.Triple(link, _METHOD, method),
                    ox.Triple(source, _RELATED, target),
                    ox.Triple(target, _RELATED, source),
                ]
            )
        return sorted(out, key=_sort_key)


def _sort_key(t: ox.Triple) -> tuple[str, str, str]:
    return (t.subject.value, t.predicate.value, t.object.value)  # type: ignore[union-attr]


def touches(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple, key: str) -> bool:
    """Whether ``term`` is declaration ``key`` or one of its clauses."""
    if not isinstance(term, ox.NamedNode):
        return False
    return term.value == DECLARATION_BASE + key or term.value.startswith(f"{CLAUSE_BASE}{key}/")


class Scorer:
    """Topic, lexical (and optionally embedding) vectors of every clause of a corpus, and pair scores.

    Frequencies (IDF of words and topics) are those of all clauses of the corpus that have a text.
    """

    def __init__(
        self,
        corpus: Corpus,
        *,
        topic_weight: float = DEFAULT_TOPIC_WEIGHT,
        embedder: Embedder | None = None,
        words_cache: dict[str, tuple[str, list[str]]] | None = None,
    ):
        self.corpus = corpus
        self.topic_weight = topic_weight
        clauses = sorted((c for c in corpus.clauses.values() if c.text or c.topics), key=lambda c: c.iri)
        self.clauses = clauses
        words = {c.iri: _content_words(c, words_cache) for c in clauses}
        # (words_cache: IRI -> (text, content words), kept by the caller between scorers of similar corpora)
        word_idf = idf(words.values())
        self.lexical: dict[str, Vector] = {c.iri: tfidf_vector(words[c.iri], word_idf) for c in clauses}
        topic_idf = {
            t: w**TOPIC_IDF_POWER for t, w in idf(expand_topics(c.topics, corpus.broader) for c in clauses).items()
        }
        self.topic: dict[str, Vector] = {c.iri: topic_vector(c.topics, corpus.broader, topic_idf) for c in clauses}
        self.embedding: dict[str, Sequence[float]] | None = None
        if embedder is not None:
            vectors = embedder([c.text for c in clauses])
            self.embedding = {c.iri: v for c, v in zip(clauses, vectors, strict=True)}
        self._rank = {c.iri: self._rank_of(c) for c in clauses}
        # Inverted indexes: feature -> [(clause number, weight)], to score only pairs that share something.
        self._postings: tuple[dict[str, list[tuple[int, float]]], ...] = ({}, {})
        for n, c in enumerate(clauses):
            for index, vectors_ in zip(self._postings, (self.topic, self.lexical), strict=True):
                for feature, weight in vectors_[c.iri].items():
                    index.setdefault(feature, []).append((n, weight))

    def _rank_of(self, c: ClauseInfo) -> tuple[str, str]:
        d = self.corpus.declarations.get(c.declaration)
        day = d.first_date if d is not None else None
        return (day.isoformat() if day else "9999", c.iri)

    def _order(self, a: ClauseInfo, b: ClauseInfo) -> tuple[ClauseInfo, ClauseInfo]:
        """Earlier declaration first (by date, then IRI), then by clause IRI."""
        ra = self._rank.get(a.iri) or self._rank_of(a)
        rb = self._rank.get(b.iri) or self._rank_of(b)
        return (a, b) if ra <= rb else (b, a)

    def pair(self, a: ClauseInfo, b: ClauseInfo) -> ClausePair:
        """The scores of two clauses (in link order: the earlier declaration's clause is the source)."""
        a, b = self._order(a, b)
        topic = dot(self.topic.get(a.iri, {}), self.topic.get(b.iri, {}))
        lexical = dot(self.lexical.get(a.iri, {}), self.lexical.get(b.iri, {}))
        embedding = None
        if self.embedding is not None:
            va, vb = self.embedding.get(a.iri), self.embedding.get(b.iri)
            if va is not None and vb is not None:
                embedding = max(0.0, min(1.0, float(sum(x * y for x, y in zip(va, vb, strict=True)))))
        return ClausePair(a.iri, b.iri, round(topic, 6), round(lexical, 6),
                          round(combine(topic, lexical, self.topic_weight), 6), embedding)

    def pairs(
        self, involving: str | None = None, *, method: str = "combined", threshold: float = 0.0,
        max_per_clause: int | None = None,
    ) -> list[ClausePair]:
        """Pairs of clauses of two different declarations (with ``involving``: where one clause is of that
        declaration) whose ``method`` score reaches ``threshold``, sorted.

        ``max_per_clause`` (k): without ``involving``, a pair is kept only when it is among the k best-scoring
        pairs of at least one of its two clauses; with ``involving``, among the k best of its clause in that
        declaration (the other clause may then have more than k links, each chosen by a newer declaration).
        Ties are broken by the other clause's IRI, so the result is deterministic.

        With a positive threshold and no embeddings, only pairs that share a word or a (broader) topic are looked
        at, through inverted indexes; the scores are the same as :meth:`pair` gives. Then, with a cap, at most
        k pairs per clause are held at any time (memory bounded by k x clauses).
        """
        if max_per_clause is not None and max_per_clause < 1:
            raise ValueError(f"max_per_clause must be at least 1, not {max_per_clause}")
        clauses = self.clauses
        if threshold <= 0.0 or method == "embedding":
            out = []
            for i, a in enumerate(clauses):
                for b in clauses[i + 1:]:
                    if a.declaration == b.declaration:
                        continue
                    if involving is not None and involving not in (a.declaration, b.declaration):
                        continue
                    pair = self.pair(a, b)
                    if pair.score(method) >= threshold:
                        out.append(pair)
            if max_per_clause is not None:
                out = cap_pairs(out, max_per_clause, method, involving)
            return sorted(out)
        out = []
        kept: dict[tuple[str, str], ClausePair] = {}
        # Features in very many clauses (a topic like "migration") are left out of the index walk over the whole
        # corpus (with ``involving``, a few clauses, every feature is walked and scores are exact); what they could
        # add to a pair is bounded by the clause's weight times their largest weight, and a pair whose partial
        # score plus that bound reaches the threshold is scored exactly, so nothing above the threshold is lost.
        limit = max(FREQUENT_FEATURE_MIN, len(clauses) // FREQUENT_FEATURE_SHARE)
        indexes = self._postings
        if involving is None:
            frequent = [{f for f, posting in index.items() if len(posting) > limit} for index in indexes]
        else:  # a few clauses: walking even the longest postings is cheaper than bounding them
            frequent = [set(), set()]
        ceiling = [
            {f: max(w for _, w in index[f]) for f in freq} for index, freq in zip(indexes, frequent, strict=True)
        ]
        weights = {"topic": (1.0, 0.0), "lexical": (0.0, 1.0), "combined": (self.topic_weight, 1.0 - self.topic_weight)}
        wt, wl = weights[method]
        for n, a in enumerate(clauses):
            if involving is not None and a.declaration != involving:
                continue
            sums: tuple[dict[int, float], dict[int, float]] = ({}, {})
            bounds = [0.0, 0.0]
            for k, vector in enumerate((self.topic[a.iri], self.lexical[a.iri])):
                acc, index = sums[k], indexes[k]
                for feature, weight in vector.items():
                    if feature in frequent[k]:
                        bounds[k] += weight * ceiling[k][feature]
                        continue
                    for m, other in index[feature]:
                        acc[m] = acc.get(m, 0.0) + weight * other
            slack = wt * bounds[0] + wl * bounds[1]
            if max_per_clause is not None:
                for pair in self._top(n, sums, slack, (wt, wl), threshold, max_per_clause, method, frequent):
                    kept[(pair.source, pair.target)] = pair
                continue
            candidates = range(len(clauses)) if slack >= threshold else sums[0].keys() | sums[1].keys()
            mine: list[ClausePair] = out
            for m in candidates:
                b = clauses[m]
                if b.declaration == a.declaration:
                    continue
                if max_per_clause is None and m < n and (involving is None or b.declaration == involving):
                    continue  # a pair already seen from the other side
                partial = wt * sums[0].get(m, 0.0) + wl * sums[1].get(m, 0.0)
                if partial + slack < threshold:
                    continue
                if slack > 0.0:
                    pair = self.pair(a, b)
                    if pair.score(method) >= threshold:
                        mine.append(pair)
                    continue
                topic = max(0.0, min(1.0, sums[0].get(m, 0.0)))
                lexical = max(0.0, min(1.0, sums[1].get(m, 0.0)))
                combined = combine(topic, lexical, self.topic_weight)
                if {"topic": topic, "lexical": lexical, "combined": combined}[method] < threshold:
                    continue
                first, second = self._order(a, b)
                mine.append(ClausePair(first.iri, second.iri, round(topic, 6), round(lexical, 6), round(combined, 6)))
        if max_per_clause is not None:
            out = list(kept.values())
        return sorted(out)

    def _top(
        self, n: int, sums: tuple[dict[int, float], dict[int, float]], slack: float, weights: tuple[float, float],
        threshold: float, k: int, method: str, frequent: list[set[str]],
    ) -> list[ClausePair]:
        """The ``k`` best pairs (at or above ``threshold``) of clause number ``n``, given its partial sums over the
        index (frequent features left out), the bound ``slack`` on what those can add, and the frequent features.

        A candidate's exact scores are its partial sums plus the products of clause ``n``'s few frequent features
        (a lookup each, no full dot product). Candidates are taken in decreasing order of partial score and the
        walk stops as soon as a partial score plus the bound cannot reach the k-th best score found so far;
        clauses sharing only frequent features are looked at (through those features' postings) only while the
        bound could still place them. Exact: the same k pairs as scoring every pair.
        """
        clauses = self.clauses
        a = clauses[n]
        wt, wl = weights
        vectors = (self.topic, self.lexical)
        own = [(kind, f, w) for kind in (0, 1) for f, w in vectors[kind][a.iri].items() if f in frequent[kind]]
        partials: dict[int, float] = {}
        for m in sums[0].keys() | sums[1].keys():
            if clauses[m].declaration != a.declaration:
                partials[m] = wt * sums[0].get(m, 0.0) + wl * sums[1].get(m, 0.0)
        best: list[float] = []  # min-heap of the k best scores so far
        found: list[tuple[float, int, float, float]] = []

        def bar() -> float:
            return max(threshold, best[0]) if len(best) >= k else threshold

        def consider(m: int) -> None:
            other = clauses[m].iri
            parts = [sums[0].get(m, 0.0), sums[1].get(m, 0.0)]
            for kind, f, w in own:
                parts[kind] += w * vectors[kind][other].get(f, 0.0)
            topic, lexical = max(0.0, min(1.0, parts[0])), max(0.0, min(1.0, parts[1]))
            combined = combine(topic, lexical, self.topic_weight)
            score = round({"topic": topic, "lexical": lexical, "combined": combined}[method], 6)
            if score < threshold:
                return
            found.append((score, m, topic, lexical))
            heapq.heappush(best, score)
            if len(best) > k:
                heapq.heappop(best)

        for m in sorted(partials, key=lambda m: (-partials[m], m)):
            if partials[m] + slack < bar() - _ROUNDING:
                break
            consider(m)
        if own and slack >= bar() - _ROUNDING:  # clauses that share only frequent features could still place
            indexes = self._postings
            extra = {m for kind, f, _ in own for m, _ in indexes[kind][f] if m not in partials and m != n}
            for m in sorted(extra):
                if clauses[m].declaration != a.declaration:
                    consider(m)
        pairs = []
        for _, m, topic, lexical in found:
            first, second = self._order(a, clauses[m])
            pairs.append(ClausePair(first.iri, second.iri, round(topic, 6), round(lexical, 6),
                                    round(combine(topic, lexical, self.topic_weight), 6)))
        return _best(pairs, a.iri, k, method)


def _content_words(clause: ClauseInfo, cache: dict[str, tuple[str, list[str]]] | None) -> list[str]:
    """:func:`content_words` of a clause's text, from ``cache`` (IRI -> (text, words)) when its text is unchanged."""
    if cache is None:
        return list(_cached_words(clause.text))
    hit = cache.get(clause.iri)
    if hit is not None and hit[0] == clause.text:
        return hit[1]
    words = list(_cached_words(clause.text))
    cache[clause.iri] = (clause.text, words)
    return words


@functools.lru_cache(maxsize=1 << 16)
def _cached_words(text: str) -> tuple[str, ...]:
    """:func:`content_words` of ``text`` (a pure function: cached, so successive ingests in one process do not
    stem every clause of the store again)."""
    return tuple(content_words(text))


def _other(pair: ClausePair, clause: str) -> str:
    return pair.target if pair.source == clause else pair.source


def _best(pairs: Iterable[ClausePair], clause: str, k: int, method: str) -> list[ClausePair]:
    """The ``k`` best pairs of ``clause`` among ``pairs`` (score descending, then the other clause's IRI)."""
    return heapq.nsmallest(k, pairs, key=lambda p: (-p.score(method), _other(p, clause)))


def cap_pairs(pairs: Iterable[ClausePair], k: int, method: str, involving: str | None = None) -> list[ClausePair]:
    """The pairs that are among the ``k`` best of one of their clauses (with ``involving``, a declaration IRI: of
    their clause in that declaration), in the order given. See :meth:`Scorer.pairs`."""
    pairs = list(pairs)
    by_clause: dict[str, list[ClausePair]] = {}
    for p in pairs:
        for clause in (p.source, p.target):
            if involving is None or clause.startswith(f"{CLAUSE_BASE}{declaration_key(involving)}/"):
                by_clause.setdefault(clause, []).append(p)
    kept = {id(p) for clause, mine in by_clause.items() for p in _best(mine, clause, k, method)}
    return [p for p in pairs if id(p) in kept]


def shared_forums(corpus: Corpus, involving: str | None = None) -> dict[tuple[str, str], set[str]]:
    """Pairs of declarations whose clauses refer to the same forum or meeting (a meeting also counts for its
    forum), with what they share. With ``involving``: only the pairs with that declaration."""
    forums: dict[str, set[str]] = {}
    for clause in corpus.clauses.values():
        for ref in clause.refers_to:
            if ref in corpus.forums:
                forums.setdefault(clause.declaration, set()).update(corpus.forums[ref])
    out: dict[tuple[str, str], set[str]] = {}
    names = sorted(forums)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if involving is not None and involving not in (a, b):
                continue
            common = forums[a] & forums[b]
            if common:
                out[(a, b)] = common
    return out


class Linker:
    """Finds and writes links. ``threshold``: lowest score kept for a clause link (``Settings.link_threshold``);
    ``topic_weight``: share of the topic score in the combined one; ``method``: the score that decides and is
    written (``combined`` by default; ``embedding`` needs ``embedder``); ``max_per_clause``: at most this many
    related clauses chosen per clause (``Settings.link_max_per_clause``; see :meth:`Scorer.pairs`; ``None``: no
    cap)."""

    def __init__(
        self,
        *,
        threshold: float,
        topic_weight: float = DEFAULT_TOPIC_WEIGHT,
        method: str = "combined",
        embedder: Embedder | None = None,
        max_per_clause: int | None = None,
    ) -> None:
        if method not in (*METHODS, "embedding"):
            raise ValueError(f"unknown link method {method!r}; use one of {', '.join((*METHODS, 'embedding'))}")
        if method == "embedding" and embedder is None:
            raise ValueError("the embedding method needs an embedder")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], not {threshold}")
        if max_per_clause is not None and max_per_clause < 1:
            raise ValueError(f"max_per_clause must be at least 1, not {max_per_clause}")
        self.threshold = threshold
        self.topic_weight = topic_weight
        self.method = method
        self.embedder = embedder
        self.max_per_clause = max_per_clause

    def scorer(self, corpus: Corpus, *, words_cache: dict[str, tuple[str, list[str]]] | None = None) -> Scorer:
        """The :class:`Scorer` of ``corpus`` with this linker's weights and embedder (``words_cache``: see
        :class:`Scorer`)."""
        return Scorer(corpus, topic_weight=self.topic_weight, embedder=self.embedder, words_cache=words_cache)

    def links(
        self, corpus: Corpus, *, involving: str | None = None,
        words_cache: dict[str, tuple[str, list[str]]] | None = None,
    ) -> LinkSet:
        """The links of ``corpus`` (with ``involving``, a declaration IRI: only those that touch it).
        ``words_cache``: content words of clauses kept between calls (IRI -> (text, words)); only speed."""
        finder = CitationFinder(corpus)
        if involving is None:
            citations = finder.find(corpus.clauses.values())
        else:
            own = [c for c in corpus.clauses.values() if c.declaration == involving]
            others = [c for c in corpus.clauses.values() if c.declaration != involving]
            citations = sorted(set(finder.find(own)) | set(finder.find(others, target=involving)))
        scorer = self.scorer(corpus, words_cache=words_cache)
        pairs = scorer.pairs(involving, method=self.method, threshold=self.threshold,
                             max_per_clause=self.max_per_clause)
        return LinkSet(citations, shared_forums(corpus, involving), pairs, self.method)

    # -- against a store -------------------------------------------------------------------------------------
    def rebuild(self, store: Store) -> list[ox.Triple]:
        """Every link of the declarations in ``store``: the full content of ``graph/links``. Reads only."""
        started = time.perf_counter()
        corpus = load_corpus(store)
        triples = self.links(corpus).triples()
        log.info("links: %d triples for %d declarations in %.2f s", len(triples), len(corpus.declarations),
                 time.perf_counter() - started)
        return triples

    def update(self, store: Store, key: str, quads: Sequence[ox.Quad] | None) -> list[ox.Triple]:
        """The new content of ``graph/links`` once declaration ``key`` is replaced by ``quads`` (``None``: removed).

        Reads the store (the current links graph and the snapshot) and writes nothing, so the caller can write the
        declaration and its links in one transaction. Triples that do not touch ``key`` are kept as they are.
        """
        iri = DECLARATION_BASE + key
        corpus = overlay(load_corpus(store), iri, quads)
        old = current_links(store)
        drop = {t.subject for t in old if t.predicate in (_SOURCE, _TARGET) and touches(t.object, key)}
        kept = [t for t in old if not _owned(t, key) and t.subject not in drop]
        fresh = self.links(corpus, involving=iri).triples() if quads else []
        return sorted(set(kept) | set(fresh), key=_sort_key)

    def write(self, store: Store, triples: Iterable[ox.Triple]) -> int:
        """Replace ``graph/links`` with ``triples`` (one transaction); returns how many were written."""
        triples = list(triples)
        store.replace_graphs({LINKS_GRAPH: triples})
        return len(triples)


def _owned(triple: ox.Triple, key: str) -> bool:
    return touches(triple.subject, key) or touches(triple.object, key)


def current_links(store: Store) -> list[ox.Triple]:
    """The triples now in ``graph/links`` (empty when there is none)."""
    rows = store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{LINKS_GRAPH}> {{ ?s ?p ?o }} }}")
    return [ox.Triple(r["s"], r["p"], r["o"]) for r in rows]  # type: ignore[index]
