"""How alike two clauses are: by their topics (through the thesaurus hierarchy), by their words (TF-IDF), and both.

All vectors are sparse ``dict[str, float]`` normalised to length 1, so a similarity is a dot product in [0, 1].

- Topics: a clause's ``dcterms:subject`` concepts count 1; each broader concept at distance ``d`` counts
  ``ANCESTOR_DECAY ** d`` (so a clause about remittances partly shares "migration and development" with a clause
  filed under it, and two sibling topics share their parent); each dimension is weighted by its inverse document
  frequency over the clauses (squared, :data:`TOPIC_IDF_POWER`), so a topic everything has ("migration") says
  little.
- Words: content words (no stop words, no digits), lower case, stemmed (:func:`stem_word`), sublinear term
  frequency times inverse document frequency.
- Combined: ``w * topic + (1 - w) * lexical`` (:data:`DEFAULT_TOPIC_WEIGHT`).

>>> stem_word("smuggling") == stem_word("smuggle") == stem_word("smugglers")
True
>>> v = topic_vector({"t/a"}, {"t/a": {"t/root"}}, {})
>>> round(v["t/root"] / v["t/a"], 2)
0.5
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

from kg.extract.tokens import stem, tokenize

Vector = dict[str, float]

#: Weight of a broader concept at distance 1 (0.25 at distance 2, ...).
ANCESTOR_DECAY = 0.5
#: Topic IDF is raised to this power: a sharper contrast, so sharing only a topic everything has ("migration")
#: counts for little even when it is all a clause is about.
TOPIC_IDF_POWER = 2.0
#: Share of the topic similarity in the combined score (tuned on the gold, see docs/benchmarks.md "Linking").
DEFAULT_TOPIC_WEIGHT = 0.5

METHODS = ("topic", "lexical", "combined")

# Function words and the formulae of the genre (who speaks and how), which say nothing of what a clause is about.
STOPWORDS = frozenset(
    """a about above across after again against all along also although among an and another any are as at be
    because been before being between both but by can could did do does done during each either especially even
    every for from further had has have having here how however if in into is it its itself just less like
    likewise made make many may more most much must need needs no nor not now of on once one only or other others
    our ours ourselves out over own particular particularly per same shall should so some such than that the their
    theirs them themselves then there therefore these they this those through thus to too towards under until upon
    very via was we well were what when where whereas which while who whom whose why will with within without
    would yet us also wherever whatever every everyone among amongst regard regarding regardless including
    order view time times way ways manner matter matters respect light basis
    reaffirm recall recalling reaffirming recognise recognize recognising recognizing acknowledge note noting
    noted welcome welcoming welcomes underscore underline underscoring emphasise emphasize stress highlight
    express expressing agree agreed decide decided resolve resolved commit committed commitment commitments
    call calls urge urges invite invites encourage encourages support supports undertake undertakes
    consider considering bear bearing mind affirm declare declares importance important need necessary
    ensure promote promoting strengthen strengthening step continue continued further""".split()
)

_SUFFIXES = tuple(
    sorted(
        """izations isations ization isation ational ations ation ators ator atory ities ity ments ment ness
        ings ing ions ion ants ant ents ent ance ences ence ised ized ises izes ise ize ers er ed ly ives ive
        als al ous ary ory ies es e s""".split(),
        key=len,
        reverse=True,
    )
)
_MIN_STEM = 4


def stem_word(word: str) -> str:
    """A crude English stem: extraction's stem (:func:`kg.extract.tokens.stem`: lower case, plurals, verb
    endings), then the longest known suffix removed when at least four letters remain, then a final "ck" or doubled
    consonant reduced ("trafficking" -> "traffic")."""
    w = stem(word)
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= _MIN_STEM:
            w = w[: -len(suffix)]
            break
    if w.endswith("ck"):
        w = w[:-1]
    if len(w) > _MIN_STEM and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w


def content_words(text: str) -> list[str]:
    """The stemmed content words of ``text``, in order (stop words, numbers and one- or two-letter words out)."""
    out = []
    for token in tokenize(text):
        if not token.is_word or not token.text[:1].isalpha():
            continue
        if len(token.key) < 3 or token.key in STOPWORDS or token.text.lower() in STOPWORDS:
            continue
        out.append(stem_word(token.text))
    return out


def normalise(vector: Mapping[str, float]) -> Vector:
    """``vector`` scaled to length 1 (empty stays empty)."""
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


def dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The dot product of two sparse vectors (the cosine when both are normalised), clipped to [0, 1]."""
    if len(a) > len(b):
        a, b = b, a
    return max(0.0, min(1.0, sum(v * b.get(k, 0.0) for k, v in a.items())))


def idf(documents: Iterable[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency ``log((n + 1) / (df + 1)) + 1`` of every feature of ``documents``."""
    df: Counter[str] = Counter()
    n = 0
    for features in documents:
        n += 1
        df.update(set(features))
    return {f: math.log((n + 1) / (c + 1)) + 1.0 for f, c in df.items()}


def tfidf_vector(words: Iterable[str], weights: Mapping[str, float]) -> Vector:
    """Normalised TF-IDF vector: ``(1 + log tf) * idf`` (a word without a weight counts 1)."""
    counts = Counter(words)
    return normalise({w: (1.0 + math.log(c)) * weights.get(w, 1.0) for w, c in counts.items()})


def expand_topics(topics: Iterable[str], broader: Mapping[str, set[str]]) -> dict[str, float]:
    """Topics with their broader concepts: each given topic 1, a concept ``d`` steps up ``ANCESTOR_DECAY ** d``
    (the largest weight wins when several paths meet). Cycles in the hierarchy are harmless."""
    out: dict[str, float] = {}
    frontier = [(t, 1.0) for t in topics]
    while frontier:
        nxt = []
        for concept, weight in frontier:
            if out.get(concept, 0.0) >= weight:
                continue
            out[concept] = weight
            nxt.extend((b, weight * ANCESTOR_DECAY) for b in broader.get(concept, ()))
        frontier = nxt
    return out


def topic_vector(topics: Iterable[str], broader: Mapping[str, set[str]], weights: Mapping[str, float]) -> Vector:
    """The normalised topic vector of a clause: :func:`expand_topics` times the topic's IDF (default 1)."""
    expanded = expand_topics(topics, broader)
    return normalise({t: w * weights.get(t, 1.0) for t, w in expanded.items()})


def combine(topic: float, lexical: float, topic_weight: float = DEFAULT_TOPIC_WEIGHT) -> float:
    """The combined score ``topic_weight * topic + (1 - topic_weight) * lexical``.

    >>> combine(1.0, 0.0, 0.5)
    0.5
    """
    if not 0.0 <= topic_weight <= 1.0:
        raise ValueError(f"topic_weight must be in [0, 1], not {topic_weight}")
    return topic_weight * topic + (1.0 - topic_weight) * lexical
