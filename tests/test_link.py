"""Unit tests of the linker (kg.link): stems, topic vectors through the hierarchy, scores, thresholds, citations,
shared forums, rendering and determinism. Pure: corpora are built in memory, no store."""

from __future__ import annotations

import datetime as dt

import pyoxigraph as ox
import pytest

from kg.link import ClauseInfo, Corpus, DeclarationInfo, Linker
from kg.link.citations import CitationFinder
from kg.link.linker import LinkSet, Scorer, shared_forums, touches
from kg.link.similarity import (
    METHODS,
    combine,
    content_words,
    dot,
    expand_topics,
    idf,
    normalise,
    stem_word,
    topic_vector,
)
from kg.namespaces import CITO, DEC, ID_BASE

D = ID_BASE + "declaration/"
C = ID_BASE + "clause/"
T = ID_BASE + "topic/"
BROADER = {
    T + "remittances": {T + "migration-and-development"},
    T + "diaspora": {T + "migration-and-development"},
    T + "smuggling": {T + "crime"},
    T + "trafficking": {T + "crime"},
}


def corpus_of(*declarations: tuple[str, int, list[tuple[str, set[str]]]], **extra: DeclarationInfo) -> Corpus:
    """A corpus of declarations ``(key, year, [(text, topics)...])``."""
    corpus = Corpus(broader=BROADER)
    for key, year, clauses in declarations:
        iri = D + key
        corpus.declarations[iri] = DeclarationInfo(iri, labels={key}, years={year}, dates={dt.date(year, 1, 1)})
        for n, (text, topics) in enumerate(clauses, start=1):
            corpus.clauses[f"{C}{key}/{n}"] = ClauseInfo(f"{C}{key}/{n}", iri, n, text, {T + t for t in topics})
    for info in extra.values():
        corpus.declarations[info.iri] = info
    return corpus


CORPUS = corpus_of(
    ("old-2008", 2008, [
        ("We commit to reduce the cost of remittances sent by migrants to their families.", {"remittances"}),
        ("We resolve to combat the smuggling of migrants and trafficking in persons.", {"smuggling", "trafficking"}),
        ("We welcome the contribution of the diaspora to development.", {"diaspora"}),
    ]),
    ("new-2012", 2012, [
        ("Agree to lower the costs of remittance transfers for migrant families.", {"remittances"}),
        ("Resolve to dismantle networks that smuggle migrants.", {"smuggling"}),
        ("Note the weather of the season.", set()),
    ]),
)


# -- words and topics ------------------------------------------------------------------------------------------


def test_stems_fold_inflections() -> None:
    assert stem_word("smuggling") == stem_word("smuggle") == stem_word("smugglers")
    assert stem_word("trafficking") == stem_word("traffic")
    assert stem_word("remittances") == stem_word("remittance")
    assert stem_word("cost") == "cost"  # short words stay


def test_content_words_drop_function_words_and_formulae() -> None:
    words = content_words("We, the Ministers, reaffirm our commitment to the protection of migrants in 2010.")
    assert "reaffirm" not in words and "the" not in words and "2010" not in words
    assert stem_word("protection") in words and stem_word("migrants") in words


def test_expand_topics_gives_broader_concepts_decaying_weight() -> None:
    weights = expand_topics({"a"}, {"a": {"b"}, "b": {"c"}, "c": {"a"}})  # a cycle is harmless
    assert weights == {"a": 1.0, "b": 0.5, "c": 0.25}
    # the largest weight wins when a concept is both given and broader
    assert expand_topics({"a", "b"}, {"a": {"b"}}) == {"a": 1.0, "b": 1.0}


def test_topic_similarity_full_partial_and_none() -> None:
    same = dot(topic_vector({T + "remittances"}, BROADER, {}), topic_vector({T + "remittances"}, BROADER, {}))
    parent = dot(topic_vector({T + "remittances"}, BROADER, {}),
                 topic_vector({T + "migration-and-development"}, BROADER, {}))
    sibling = dot(topic_vector({T + "remittances"}, BROADER, {}), topic_vector({T + "diaspora"}, BROADER, {}))
    unrelated = dot(topic_vector({T + "remittances"}, BROADER, {}), topic_vector({T + "smuggling"}, BROADER, {}))
    assert same == pytest.approx(1.0)
    assert 1.0 > parent > sibling > unrelated == 0.0


def test_idf_weights_rare_features_higher() -> None:
    weights = idf([{"common", "rare"}, {"common"}, {"common"}])
    assert weights["rare"] > weights["common"] >= 1.0


def test_normalise_and_dot_bounds() -> None:
    v = normalise({"a": 3.0, "b": 4.0})
    assert v == pytest.approx({"a": 0.6, "b": 0.8})
    assert dot(v, v) == pytest.approx(1.0)
    assert normalise({}) == {}
    assert dot({}, v) == 0.0


def test_combine_weights_and_rejects_bad_weight() -> None:
    assert combine(1.0, 0.0, 0.25) == pytest.approx(0.25)
    assert combine(0.4, 0.4, 0.7) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        combine(0.5, 0.5, 1.5)


# -- scoring and thresholds ------------------------------------------------------------------------------------


def test_scores_are_in_range_and_rank_the_right_pairs() -> None:
    scorer = Scorer(CORPUS)
    pairs = scorer.pairs()
    assert pairs and all(0.0 <= p.topic <= 1 and 0.0 <= p.lexical <= 1 and 0.0 <= p.combined <= 1 for p in pairs)
    by_pair = {(p.source.rsplit("/", 2)[-2:][0][:3] + p.source[-1], p.target[-1]): p for p in pairs}
    best = max(pairs, key=lambda p: p.combined)
    assert (best.source, best.target) == (C + "old-2008/1", C + "new-2012/1")  # remittances and remittances
    smuggling = next(p for p in pairs if (p.source, p.target) == (C + "old-2008/2", C + "new-2012/2"))
    unrelated = next(p for p in pairs if (p.source, p.target) == (C + "old-2008/1", C + "new-2012/2"))
    assert smuggling.combined > unrelated.combined
    assert by_pair  # every pair is across declarations:
    assert all(p.source.split("/")[-2] != p.target.split("/")[-2] for p in pairs)


def test_source_is_the_clause_of_the_earlier_declaration() -> None:
    scorer = Scorer(CORPUS)
    a, b = CORPUS.clauses[C + "new-2012/1"], CORPUS.clauses[C + "old-2008/1"]
    assert scorer.pair(a, b).source == C + "old-2008/1"
    assert scorer.pair(a, b) == scorer.pair(b, a)


def test_threshold_filters_monotonically() -> None:
    counts = [len(Linker(threshold=t).links(CORPUS).pairs) for t in (0.0, 0.2, 0.5, 1.0)]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == 3 * 3  # every cross pair at threshold 0
    assert counts[-1] == 0
    kept = Linker(threshold=0.3).links(CORPUS).pairs
    assert all(p.combined >= 0.3 for p in kept)


def test_method_decides_which_score_is_kept() -> None:
    topic = Linker(threshold=0.5, method="topic").links(CORPUS)
    assert all(p.topic >= 0.5 for p in topic.pairs)
    assert {(p.source, p.target) for p in topic.pairs} >= {(C + "old-2008/1", C + "new-2012/1")}
    literal = [t for t in topic.triples() if t.predicate == ox.NamedNode(str(DEC.method))]
    assert {t.object.value for t in literal} == {"topic"}


def test_bad_linker_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown link method"):
        Linker(threshold=0.2, method="magic")
    with pytest.raises(ValueError, match="embedder"):
        Linker(threshold=0.2, method="embedding")
    with pytest.raises(ValueError, match="threshold"):
        Linker(threshold=1.5)


def test_links_are_deterministic() -> None:
    first = Linker(threshold=0.1).links(CORPUS).triples()
    second = Linker(threshold=0.1).links(corpus_of(*[
        (key, 2008 if key == "old-2008" else 2012,
         [(c.text, {t.rsplit("/", 1)[1] for t in c.topics}) for c in CORPUS.clauses_of(D + key)])
        for key in ("new-2012", "old-2008")  # built in the other order
    ])).triples()
    assert first == second
    assert len(set(first)) == len(first)


def test_clause_link_rendering() -> None:
    links = Linker(threshold=0.3).links(CORPUS)
    triples = links.triples()
    pair = links.pairs[0]
    node = ox.NamedNode(pair.iri)
    about = {(t.predicate.value, t.object) for t in triples if t.subject == node}
    assert (str(DEC.source), ox.NamedNode(pair.source)) in about
    assert (str(DEC.target), ox.NamedNode(pair.target)) in about
    score = next(o for p, o in about if p == str(DEC.score))
    assert score.datatype.value.endswith("#double") and 0.0 <= float(score.value) <= 1.0
    related = ox.NamedNode(str(DEC.relatedClause))
    assert ox.Triple(ox.NamedNode(pair.source), related, ox.NamedNode(pair.target)) in triples
    assert ox.Triple(ox.NamedNode(pair.target), related, ox.NamedNode(pair.source)) in triples
    assert pair.iri.startswith(ID_BASE + "clause-link/") and pair.iri == links.pairs[0].iri


def test_touches_names_a_declaration_and_its_clauses_only() -> None:
    assert touches(ox.NamedNode(D + "old-2008"), "old-2008")
    assert touches(ox.NamedNode(C + "old-2008/3"), "old-2008")
    assert not touches(ox.NamedNode(C + "old-2008-bis/3"), "old-2008")
    assert not touches(ox.Literal("old-2008"), "old-2008")


# -- citations and forums --------------------------------------------------------------------------------------

SEED = DeclarationInfo(
    D + "seed", labels={"Special Communiqué on Cooperation on Migration Issues"}, years={2010},
    dates={dt.date(2010, 2, 23)}, places={ID_BASE + "place/mayan-riviera"},
    meetings={ID_BASE + "meeting/unity-summit-2010"},
)


def cites(corpus: Corpus, text: str, **facts: set[str]) -> set[str]:
    clause = ClauseInfo(C + "citing/1", D + "citing", 1, text, refers_to=facts.get("refers_to", set()),
                        mentions=facts.get("mentions", set()))
    corpus.clauses[clause.iri] = clause
    corpus.declarations.setdefault(D + "citing", DeclarationInfo(D + "citing"))
    return {c.target.removeprefix(D) for c in CitationFinder(corpus).of_clause(clause)}


def test_citation_by_title_of_a_declaration_in_the_store() -> None:
    corpus = Corpus(declarations={SEED.iri: SEED})
    text = "We recall the Special Communiqué on Cooperation on Migration Issues adopted at the Mayan Riviera in 2010."
    assert cites(corpus, text) == {"seed"}
    assert cites(corpus, "We recall the special communique on cooperation on migration issues.") == {"seed"}
    assert cites(corpus, "We recall our cooperation on migration issues.") == set()


def test_citation_title_shared_by_two_declarations_is_decided_by_year() -> None:
    later = DeclarationInfo(D + "seed-2012", labels=set(SEED.labels), years={2012}, dates={dt.date(2012, 1, 1)})
    corpus = Corpus(declarations={SEED.iri: SEED, later.iri: later})
    title = "the Special Communiqué on Cooperation on Migration Issues"
    assert cites(corpus, f"We recall {title} of 2012.") == {"seed-2012"}
    assert cites(corpus, f"We recall {title} of 2010.") == {"seed"}
    assert cites(corpus, f"We recall {title}.") == set()  # a tie cites neither


def test_short_generic_title_needs_a_year_or_place() -> None:
    short = DeclarationInfo(D + "joint-2011", labels={"Joint Statement"}, years={2011}, dates={dt.date(2011, 5, 1)})
    corpus = Corpus(declarations={short.iri: short})
    assert cites(corpus, "We issue this Joint Statement.") == set()
    assert cites(corpus, "We recall the Joint Statement of 2011.") == {"joint-2011"}


def test_citation_by_place_and_year_and_by_meeting() -> None:
    corpus = Corpus(declarations={SEED.iri: SEED})
    place = {ID_BASE + "place/mayan-riviera"}
    assert cites(corpus, "We recall the communiqué adopted at the Mayan Riviera in 2010.", mentions=place) == {"seed"}
    assert cites(corpus, "We met at the Mayan Riviera in 2010.", mentions=place) == set()  # no document named
    assert cites(corpus, "We recall the communiqué adopted at the Mayan Riviera in 2011.", mentions=place) == set()
    meeting = {ID_BASE + "meeting/unity-summit-2010"}
    assert cites(corpus, "We recall the Communiqué of the Unity Summit.", refers_to=meeting) == {"seed"}
    assert cites(corpus, "We recall the Unity Summit.", refers_to=meeting) == set()


def test_citation_found_by_extraction_is_kept_and_self_citation_is_not() -> None:
    corpus = Corpus(declarations={SEED.iri: SEED})
    clause = ClauseInfo(C + "seed/9", SEED.iri, 9, "This Special Communiqué on Cooperation on Migration Issues.")
    assert CitationFinder(corpus).of_clause(clause) == []
    found = cites(corpus, "We recall it.", refers_to={SEED.iri})
    assert found == {"seed"}
    triples = LinkSet(citations=CitationFinder(corpus).of_clause(corpus.clauses[C + "citing/1"])).triples()
    assert ox.Triple(ox.NamedNode(D + "citing"), ox.NamedNode(str(CITO.cites)), ox.NamedNode(SEED.iri)) in triples
    # the clause-level reference is already in the declaration's graph: not repeated in the links graph
    assert not any(t.predicate == ox.NamedNode(str(DEC.refersTo)) for t in triples)


def test_shared_forums_count_a_meeting_for_its_forum() -> None:
    forum, meeting, other = ID_BASE + "forum/gfmd", ID_BASE + "meeting/gfmd-2010", ID_BASE + "forum/rcm"
    corpus = corpus_of(("a-2010", 2010, [("x", set())]), ("b-2011", 2011, [("y", set())]),
                       ("c-2012", 2012, [("z", set())]))
    corpus.forums = {forum: {forum}, meeting: {meeting, forum}, other: {other}}
    corpus.clauses[C + "a-2010/1"].refers_to = {meeting}
    corpus.clauses[C + "b-2011/1"].refers_to = {forum}
    corpus.clauses[C + "c-2012/1"].refers_to = {other}
    assert shared_forums(corpus) == {(D + "a-2010", D + "b-2011"): {forum}}
    assert shared_forums(corpus, involving=D + "c-2012") == {}
    triples = LinkSet(shared_forums=shared_forums(corpus)).triples()
    shares = ox.NamedNode(str(DEC.sharesForumWith))
    assert {(t.subject.value, t.object.value) for t in triples if t.predicate == shares} == {
        (D + "a-2010", D + "b-2011"), (D + "b-2011", D + "a-2010")}


def test_indexed_pairs_equal_the_brute_force_ones() -> None:
    scorer = Scorer(CORPUS)
    every = scorer.pairs()  # threshold 0: all cross pairs, each scored by Scorer.pair
    for method in ("topic", "lexical", "combined"):
        for threshold in (0.05, 0.2, 0.4):
            fast = scorer.pairs(method=method, threshold=threshold)
            slow = [p for p in every if p.score(method) >= threshold]
            assert [(p.source, p.target) for p in fast] == [(p.source, p.target) for p in slow]
            assert all(abs(f.score(m) - s.score(m)) < 1e-6 for f, s in zip(fast, slow) for m in METHODS)
    involving = scorer.pairs(D + "new-2012", threshold=0.05)
    assert involving and all(D + "new-2012" in (p.source.rsplit("/", 1)[0].replace("clause", "declaration"),
                                                 p.target.rsplit("/", 1)[0].replace("clause", "declaration"))
                             for p in involving)


def test_frequent_features_pruning_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.link.linker as linker

    exact = Scorer(CORPUS).pairs(threshold=0.1)
    monkeypatch.setattr(linker, "FREQUENT_FEATURE_MIN", 1)  # every feature shared by 2+ clauses is "frequent"
    pruned = Scorer(CORPUS).pairs(threshold=0.1)
    assert [(p.source, p.target) for p in pruned] == [(p.source, p.target) for p in exact]
    assert all(abs(a.combined - b.combined) < 1e-6 for a, b in zip(pruned, exact))


def _many_clauses() -> Corpus:
    """Six declarations whose clauses share words and topics in many combinations (for the cap tests)."""
    words = ["remittances", "smuggling", "trafficking", "diaspora", "families", "workers", "consular", "returns",
             "integration", "labour", "borders", "asylum"]
    topics = ["remittances", "smuggling", "trafficking", "diaspora"]
    declarations = []
    for d in range(6):
        clauses = []
        for c in range(7):
            chosen = [words[(d * 3 + c * 5 + i * 7) % len(words)] for i in range(3 + (c % 3))]
            clauses.append((f"We commit to address {' and '.join(chosen)} of migrants.",
                            {topics[(d + c) % 4], topics[(d * c) % 4]}))
        declarations.append((f"decl-{d}", 2000 + d, clauses))
    return corpus_of(*declarations)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_cap_keeps_the_k_best_pairs_of_either_clause_like_brute_force(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.link.linker as linker
    from kg.link.linker import cap_pairs

    corpus = _many_clauses()
    every = Scorer(corpus).pairs()  # brute force, every cross pair
    for method, threshold in (("combined", 0.1), ("lexical", 0.05), ("topic", 0.2)):
        expected = sorted(cap_pairs([p for p in every if p.score(method) >= threshold], k, method))
        fast = Scorer(corpus).pairs(method=method, threshold=threshold, max_per_clause=k)
        assert [(p.source, p.target) for p in fast] == [(p.source, p.target) for p in expected], method
        per_clause: dict[str, int] = {}
        for p in fast:
            for c in (p.source, p.target):
                per_clause[c] = per_clause.get(c, 0) + 1
        # each clause chose at most k; a clause may also be chosen by others, but no pair is outside both top-k
        assert len(fast) <= k * len({c.iri for c in corpus.clauses.values()})
        uncapped = Scorer(corpus).pairs(method=method, threshold=threshold)
        assert set(fast) <= set(uncapped) and (len(fast) < len(uncapped) or k >= 4)
    # the same with every shared feature treated as frequent (the bound-driven path)
    monkeypatch.setattr(linker, "FREQUENT_FEATURE_MIN", 1)
    monkeypatch.setattr(linker, "FREQUENT_FEATURE_SHARE", 10_000)
    expected = sorted(cap_pairs([p for p in every if p.combined >= 0.1], k, "combined"))
    fast = Scorer(corpus).pairs(threshold=0.1, max_per_clause=k)
    assert [(p.source, p.target) for p in fast] == [(p.source, p.target) for p in expected]


def test_cap_involving_a_declaration_counts_its_own_clauses_only() -> None:
    from kg.link.linker import cap_pairs

    corpus = _many_clauses()
    target = D + "decl-5"
    every = [p for p in Scorer(corpus).pairs() if p.combined >= 0.1]
    expected = sorted(cap_pairs([p for p in every if D + "decl-5" in (
        corpus.clauses[p.source].declaration, corpus.clauses[p.target].declaration)], 2, "combined", target))
    fast = Scorer(corpus).pairs(target, threshold=0.1, max_per_clause=2)
    assert [(p.source, p.target) for p in fast] == [(p.source, p.target) for p in expected]
    own = [c for p in fast for c in (p.source, p.target) if corpus.clauses[c].declaration == target]
    assert fast and max(own.count(c) for c in own) <= 2
    with pytest.raises(ValueError):
        Linker(threshold=0.1, max_per_clause=0)
