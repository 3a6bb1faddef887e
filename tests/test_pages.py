"""The HTML pages (api/routers/pages.py) on a live server over the built store: the declaration page against the
store's clauses, evidence, links and citations; topic pages with their chart; a crawl from the home page over
``<a href>`` that must reach every declaration, clause, topic and actor; and the declaration page in headless
Chromium (a screenshot is written to the test's folder and to ``$KG_SCREENSHOT_DIR`` when set)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pyoxigraph as ox
import pytest
from bs4 import BeautifulSoup

from api.routers.pages import Span, bar_chart, segment_text

ID = "https://w3id.org/declarations/id/"
DEC = "https://w3id.org/declarations/ontology#"
DECLARATION = ID + "declaration/lac-2010-migration-communique"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CHROMIUM = Path("/usr/bin/chromium")


def rows(store: ox.Store, query: str) -> list[dict[str, str]]:
    result = store.query(query, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def page(server: str, path: str) -> BeautifulSoup:
    response = httpx.get(server + path, headers={"Accept": BROWSER})
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def doc(iri: str) -> str:
    return "/doc/" + iri.removeprefix(ID)


def test_segments_cover_the_text_whatever_the_overlaps() -> None:
    text = "protect the human rights of all migrants"
    spans = [Span(12, 40, "right", "r", "R", "#r", "p"), Span(28, 40, "people", "m", "M", "#m", "p"),
             Span(0, 7, "act", "a", "A", "#a", "p"), Span(35, 60, "topic", "t", "T", "#t", "p")]
    segments = segment_text(text, spans)
    assert "".join(s.text for s in segments) == text
    assert [s.main.kind if s.main else None for s in segments] == ["act", None, "right", "people", "people"]
    assert segments[-2].title == "population group: M; right: R"
    assert [x.kind for x in segments[-1].spans] == ["people", "topic", "right"]  # the topic span is clipped


def test_declaration_page_shows_every_clause_with_its_evidence(server: str, store: ox.Store) -> None:
    soup = page(server, doc(DECLARATION))
    clauses = rows(store, f"SELECT ?c ?pos ?text WHERE {{ ?c <{DEC}partOf> <{DECLARATION}> ; <{DEC}position> ?pos ;"
                          f" <{DEC}text> ?text }}")
    articles = soup.select("article.clause")
    assert len(articles) == len(clauses) == 13
    by_position = {int(c["pos"]): c for c in clauses}
    for article in articles:
        position = int(article["id"].removeprefix("clause-"))
        clause = by_position[position]
        text = article.select_one("p.text")
        assert text.get_text() == clause["text"]  # highlighting never loses or repeats a character
        titles = " | ".join(a.get("title", "") for a in text.select("a.hl"))
        evidence = rows(store, f"SELECT ?value ?label WHERE {{ ?e <{DEC}evidenceOf> <{clause['c']}> ; "
                               f"<{DEC}value> ?value . OPTIONAL {{ ?value <http://www.w3.org/2004/02/skos/core#prefLabel> ?label "
                               "FILTER(lang(?label) = 'en') } }")
        hrefs = {a["href"] for a in text.select("a.hl")}
        for item in evidence:
            assert item.get("label", "") in titles, (position, item)
        # Every highlighted value links to its page; the innermost span of each piece is its link.
        assert hrefs <= {doc(item["value"]) for item in evidence}
        acts = rows(store, f"SELECT ?a WHERE {{ <{clause['c']}> <{DEC}speechAct> ?a }}")
        act_links = {a["href"] for a in article.select(".clause-head a.act")}
        assert act_links == {doc(a["a"]) for a in acts}
        kinds = rows(store, f"SELECT ?k WHERE {{ <{clause['c']}> a ?k VALUES ?k {{ <{DEC}Commitment> <{DEC}Appeal> "
                            f"<{DEC}Recognition> <{DEC}Endorsement> }} }}")
        assert {k.get_text() for k in article.select(".kind")} == {k["k"].removeprefix(DEC) for k in kinds}
    clause5 = soup.select_one("#clause-5")
    assert "Commitment" in clause5.get_text() and clause5.select_one('a[href$="/doc/topic/remittances"]')


def test_declaration_page_shows_links_and_citations(server: str, store: ox.Store) -> None:
    soup = page(server, doc(DECLARATION))
    links = rows(store, f"SELECT ?c ?other ?score WHERE {{ ?l a <{DEC}ClauseLink> ; <{DEC}source> ?c ; "
                        f"<{DEC}target> ?other ; <{DEC}score> ?score . ?c <{DEC}partOf> <{DECLARATION}> }}")
    assert links, "the built store has no clause links of the communiqué (kg.link)"
    for link in links:
        position = link["c"].rsplit("/", 1)[1]
        related = soup.select_one(f"#clause-{position} details.related")
        assert related is not None, position
        assert related.select_one(f'a[href="{doc(link["other"])}"]') is not None
    cited = rows(store, f"SELECT ?o WHERE {{ <{DECLARATION}> <http://purl.org/spar/cito/cites> ?o }}")
    citations = soup.select_one("section.citations")
    for item in cited:
        assert citations.select_one(f'a[href="{doc(item["o"])}"]') is not None
        other = page(server, doc(item["o"]))
        assert other.select_one(f'section.citations a[href="{doc(DECLARATION)}"]') is not None  # cited by


def test_topic_page_lists_clauses_over_time_with_a_chart(server: str, store: ox.Store) -> None:
    topic = ID + "topic/migration-and-development"
    # The topic's clauses and those of its narrower topics.
    expected = rows(store, f"SELECT DISTINCT ?c WHERE {{ ?c <http://purl.org/dc/terms/subject> ?t ; <{DEC}partOf> ?d . "
                           f"?t <http://www.w3.org/2004/02/skos/core#broader>* <{topic}> }}")
    soup = page(server, doc(topic))
    listed = {a["href"] for a in soup.select("ul.clause-list a.position")}
    assert listed == {doc(r["c"]) for r in expected}
    svg = soup.select_one("figure.chart svg")
    assert svg is not None
    assert sum(int(t.get_text()) for t in svg.select("text.value")) == len(expected)
    assert "<svg" in bar_chart({2008: 1, 2010: 3}) and bar_chart({}) == ""


def test_home_page_figures(server: str, store: ox.Store) -> None:
    soup = page(server, "/")
    declarations = rows(store, f"SELECT ?d WHERE {{ ?d a <{DEC}Declaration> }}")
    figures = {f.get_text(" ", strip=True) for f in soup.select(".figures .figure")}
    assert f"{len(declarations)} declarations" in figures
    assert {a["href"] for a in soup.select("ul.declarations a")} == {doc(d["d"]) for d in declarations}
    again = httpx.get(server + "/", headers={"Accept": BROWSER})
    assert httpx.get(server + "/", headers={"If-None-Match": again.headers["etag"]}).status_code == 304


def test_crawl_from_home_reaches_the_whole_graph(server: str, store: ox.Store) -> None:
    """Breadth-first over same-site ``<a href>`` of HTML pages (not evidence or clause-link pages, not the query
    page, dumps or RDF forms): every page answers 200 and every declaration, clause, topic and actor is reached."""
    skip_prefixes = ("/sparql", "/dumps/", "/static/", "/doc/evidence/", "/doc/clause-link/", "/.well-known/",
                     "/catalog", "/void", "/sitemap.xml", "/ontology")
    seen: set[str] = {"/"}
    queue = deque(["/"])
    fetched = 0
    started = time.perf_counter()
    with httpx.Client(base_url=server, headers={"Accept": BROWSER}) as client:
        while queue:
            path = queue.popleft()
            response = client.get(path)
            fetched += 1
            assert response.status_code == 200, path
            soup = BeautifulSoup(response.text, "html.parser")
            for anchor in soup.find_all("a", href=True):
                url = urlsplit(urljoin(server + path, anchor["href"]))
                if f"{url.scheme}://{url.netloc}" != server:
                    continue
                target = url.path
                if target in seen or target.startswith(skip_prefixes) or "." in target.rsplit("/", 1)[-1]:
                    continue
                seen.add(target)
                queue.append(target)
    elapsed = time.perf_counter() - started
    wanted = rows(store, f"SELECT DISTINCT ?s WHERE {{ ?s a ?c VALUES ?c {{ <{DEC}Declaration> <{DEC}Clause> "
                         f"<{DEC}Topic> <{DEC}State> <{DEC}Organisation> <{DEC}GroupOfStates> <{DEC}PopulationGroup> }} }}")
    missing = sorted({doc(r["s"]) for r in wanted} - seen)
    assert not missing, missing[:10]
    print(f"crawl: {fetched} pages in {elapsed:.1f} s ({1000 * elapsed / fetched:.0f} ms a page); "
          f"{len(wanted)} declarations, clauses, topics and actors reached")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="install chromium (Debian)")
def test_declaration_page_in_headless_chromium(server: str, tmp_path: Path) -> None:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = server + doc(DECLARATION)
    shot = tmp_path / "declaration.png"
    subprocess.run([str(CHROMIUM), *flags, f"--screenshot={shot}", "--window-size=1280,2000", url],
                   capture_output=True, timeout=120, check=False)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    assert len(data) > 100_000  # a page of text and colour, not a blank or an error page
    dom = subprocess.run([str(CHROMIUM), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120,
                         check=False).stdout
    soup = BeautifulSoup(dom, "html.parser")
    assert len(soup.select("article.clause")) == 13
    assert soup.select_one("link[rel=stylesheet]")["href"].endswith("/pages.css")
    assert httpx.get(server + soup.select_one("link[rel=stylesheet]")["href"]).status_code == 200
    target = os.environ.get("KG_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / "declaration-page.png")


def test_links_go_to_our_pages_or_http_iris_only() -> None:
    from api.routers.pages import Linker

    linker = Linker("https://w3id.org/declarations/", "/root")
    assert linker.href(ID + "topic/remittances") == "/root/doc/topic/remittances"
    assert linker.href(DEC + "Clause") == "/root/ontology#Clause"
    assert linker.href("http://www.wikidata.org/entity/Q96") == "http://www.wikidata.org/entity/Q96"
    assert linker.href("javascript:alert(1)") == ""
    assert linker.label(ID + "clause/x/3") == "clause 3 of x"
    linker.labels[ID + "declaration/x"] = "The X Declaration"
    assert linker.label(ID + "clause/x/3") == "Clause 3 of The X Declaration"


def test_a_page_for_one_resource_of_every_type(server: str, store: ox.Store) -> None:
    found = rows(store, 'SELECT ?t (SAMPLE(?s) AS ?one) WHERE { ?s ?p ?o . '
                        f'FILTER(STRSTARTS(STR(?s), "{ID}")) '
                        f'BIND(STRBEFORE(STRAFTER(STR(?s), "{ID}"), "/") AS ?t) }} GROUP BY ?t')
    assert {"declaration", "clause", "topic", "state", "evidence", "forum", "meeting", "right"} <= {r["t"] for r in found}
    for row in found:
        soup = page(server, doc(row["one"]))
        assert soup.select_one("h1").get_text(strip=True), row
        assert httpx.get(server + doc(row["one"]) + ".ttl").status_code == 200


def test_a_cited_declaration_lists_the_clauses_that_refer_to_it(server: str, store: ox.Store) -> None:
    referring = rows(store, f"SELECT DISTINCT ?c ?d WHERE {{ ?c <{DEC}refersTo> ?d . ?d a <{DEC}Declaration> . "
                            f"?c <{DEC}partOf> ?own FILTER(?own != ?d) }}")
    assert referring, "no clause refers to a declaration in the built store"
    for row in referring:
        soup = page(server, doc(row["d"]))
        assert soup.select_one(f'ul.clause-list a[href="{doc(row["c"])}"]') is not None
