"""The browser query page of /sparql (api/routers/ui.py): its HTML, its assets, and a real run in headless Chromium.

The page is tested in the real app (``create_app``: the endpoint with its query workers, and this page) over an
Oxigraph store on disk holding a few declaration-shaped triples, served by a real uvicorn on 127.0.0.1. The browser
tests drive Debian's ``chromium`` through playwright-core (from ``npm ci``), open a permalink, wait for the results
table, check its rows and save a screenshot (also copied to ``$KG_SCREENSHOT_DIR`` when that is set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pyoxigraph
import pytest
import rdflib
from fastapi.testclient import TestClient
from helpers.server import live_server
from rdflib.compare import isomorphic

from api.app import create_app
from api.routers import ui
from kg.namespaces import PREFIXES
from kg.paths import PROJECT_DIR
from kg.settings import Settings
from kg.store import open_store

CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT_CORE = PROJECT_DIR / "node_modules" / "playwright-core"

DATA = """
@prefix dec: <https://w3id.org/declarations/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix decl: <https://w3id.org/declarations/id/declaration/> .
@prefix cl: <https://w3id.org/declarations/id/clause/lac-2010-migration-communique/> .

dec:Clause a owl:Class .
dec:Declaration a owl:Class .
dec:partOf a owl:ObjectProperty .
dec:position a owl:DatatypeProperty .

decl:lac-2010-migration-communique a dec:Declaration ;
    dcterms:title "Special Communiqué on Cooperation on Migration Issues"@en ;
    dcterms:date "2010-02-23"^^xsd:date .
decl:lima-declaration-2008 a dec:Declaration ;
    dcterms:title "Lima Declaration"@en ;
    dcterms:date "2008-05-16"^^xsd:date .
cl:1 a dec:Clause, dec:Recognition ;
    dec:partOf decl:lac-2010-migration-communique ; dec:position 1 ;
    dec:text "Recognise the contribution of migrants." .
cl:2 a dec:Clause, dec:Commitment ;
    dec:partOf decl:lac-2010-migration-communique ; dec:position 2 ;
    dec:text "Resolve to strengthen dialogue <on> migration & development." .
cl:3 a dec:Clause, dec:Appeal ;
    dec:partOf decl:lac-2010-migration-communique ; dec:position 3 ;
    dec:text "Call for lower costs of remittances." .
"""

CLAUSES_QUERY = """PREFIX dec: <https://w3id.org/declarations/ontology#>
SELECT ?clause ?position ?text WHERE {
  ?clause dec:partOf <https://w3id.org/declarations/id/declaration/lac-2010-migration-communique> ;
          dec:position ?position ; dec:text ?text .
} ORDER BY ?position
"""

DECLARATION_GRAPH = "https://w3id.org/declarations/graph/declaration/lac-2010-migration-communique"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded Oxigraph store on disk holding :data:`DATA` in one declaration graph."""
    path = tmp_path_factory.mktemp("query-page-store") / "store"
    triples = [q.triple for q in pyoxigraph.parse(DATA.encode(), pyoxigraph.RdfFormat.TURTLE)]
    store = open_store(Settings(store=str(path)))
    try:
        store.replace_graphs({DECLARATION_GRAPH: triples})
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def settings(store_dir: Path) -> Settings:
    return Settings(store=str(store_dir), workers=1, query_timeout=10)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app (endpoint and query page) over the test store, called in-process."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _config(html: str) -> dict:
    start = html.index('<script type="application/json" id="kg-config">') + len(
        '<script type="application/json" id="kg-config">'
    )
    return json.loads(html[start : html.index("</script>", start)])


# ---------------------------------------------------------------- the HTML and the assets


def test_page_lists_examples_prefixes_and_yasgui_assets(client: TestClient) -> None:
    response = client.get("/sparql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    assert "default-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    config = _config(html)
    assert config["endpoint"] == "/sparql"
    assert config["prefixes"] == PREFIXES
    assert config["query"] is None and config["autorun"] is False
    examples = ui.load_examples()
    assert examples, "queries/ holds at least one example query"
    assert [e["name"] for e in config["examples"]] == [e.name for e in examples]
    for example in examples:
        assert f'data-example="{example.name}"' in html
        assert example.summary in html or example.summary.replace("'", "&#39;") in html
    # Every asset the page loads comes from our own server.
    for src in ("/static/ui/query.js", "/static/ui/query.css"):
        assert src in html
    assert "http://" not in html.split("<body", 1)[0].replace("http://www.w3.org", "")
    if ui.vendor_available():
        assert config["editor"] == "yasgui"
        for asset in ("yasqe.min.js", "yasqe.min.css", "yasr.min.js", "yasr.min.css"):
            assert f"/static/vendor/{asset}" in html
            served = client.get(f"/static/vendor/{asset}")
            assert served.status_code == 200, asset
            assert len(served.content) > 5000
    else:
        assert config["editor"] == "plain"


def test_permalink_query_is_embedded_safely(client: TestClient) -> None:
    hostile = 'SELECT * WHERE { ?s ?p "</script><script>alert(1)</script>" }'
    response = client.get("/sparql", params={"query": hostile}, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    config = _config(response.text)
    assert config["query"] == hostile
    assert config["autorun"] is True
    assert config["dataset"] == []


def test_permalink_keeps_its_dataset(client: TestClient) -> None:
    params = [("query", CLAUSES_QUERY), ("default-graph-uri", DECLARATION_GRAPH), ("named-graph-uri", "urn:x:a"),
              ("named-graph-uri", "urn:x:b")]
    config = _config(client.get("/sparql", params=params, headers={"Accept": "text/html"}).text)
    assert config["dataset"] == [["default-graph-uri", DECLARATION_GRAPH], ["named-graph-uri", "urn:x:a"],
                                 ["named-graph-uri", "urn:x:b"]]


def test_plain_fallback_when_yasgui_is_not_installed(client: TestClient, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui, "NODE_MODULES_DIR", tmp_path / "node_modules")
    response = client.get("/sparql", params={"query": CLAUSES_QUERY}, headers={"Accept": "text/html"})
    html = response.text
    assert response.status_code == 200
    assert _config(html)["editor"] == "plain"
    assert 'id="plain-notice"' in html and "make install" in html
    assert '<textarea id="query-text"' in html
    assert "yasqe.min.js" not in html
    assert client.get("/static/vendor/yasqe.min.js").status_code == 404


def test_static_files_are_served_and_nothing_else(client: TestClient) -> None:
    js = client.get("/static/ui/query.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "max-age" in js.headers["cache-control"]
    assert client.get("/static/ui/query.css").headers["content-type"].startswith("text/css")
    for bad in ("..%2Fapp.py", "%2E%2E", "missing.js", ".hidden"):
        assert client.get(f"/static/ui/{bad}").status_code == 404, bad
    assert client.get("/static/vendor/package.json").status_code == 404
    assert client.get("/static/ui/../routers/ui.py").status_code == 404


def test_front_matter_reader(tmp_path: Path) -> None:
    (tmp_path / "b_second.rq").write_text(
        "#+ summary: Second\n#+ description: >-\n#+   Long text\n#+ tags: [a, b]\n\nSELECT * WHERE {}\n"
    )
    (tmp_path / "a_first.rq").write_text("# plain comment\nASK {}\n")
    (tmp_path / "c_bad.rq").write_text("#+ summary: [unclosed\nASK {}\n")
    examples = ui.load_examples(tmp_path)
    assert [e.name for e in examples] == ["a_first", "b_second", "c_bad"]
    assert examples[0].summary == "a first" and examples[0].query.startswith("# plain comment")
    assert (examples[1].summary, examples[1].description, examples[1].tags) == ("Second", "Long text", ["a", "b"])
    assert examples[1].query == "SELECT * WHERE {}\n"
    assert examples[2].summary == "c bad" and examples[2].query == "ASK {}\n"
    assert ui.load_examples(tmp_path / "absent") == []


def test_example_queries_have_front_matter_and_parse() -> None:
    for example in ui.load_examples():
        assert example.summary and example.summary != example.name.replace("_", " "), example.name
        pyoxigraph.Store().query(example.query)  # raises SyntaxError when it does not parse


# ---------------------------------------------------------------- headless Chromium

DRIVER = r"""
const { chromium } = require(process.env.PW_CORE);
const opts = JSON.parse(process.argv[2]);
(async () => {
  const context = await chromium.launchPersistentContext(opts.userDataDir, {
    executablePath: opts.chromium, headless: true, viewport: { width: 1280, height: 860 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] || await context.newPage();
  const requests = [], problems = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
  const waitDone = async () => {
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 20000 });
  };
  await page.goto(opts.url);
  if (opts.allExamples) await page.evaluate(() => { document.body.dataset.state = "done"; });
  if (opts.clickExample) {
    await page.waitForSelector(".example");
    await page.click(`.example[data-example="${opts.clickExample}"]`);
  }
  await waitDone();
  const first = await page.evaluate(() => ({
    state: document.body.dataset.state, status: document.getElementById("status").textContent,
    message: (document.querySelector("#results .error-box") || {}).textContent || null,
  }));
  const examples = {};
  if (opts.allExamples) {
    // Every example of the sidebar, one click each, in one page.
    const names = await page.$$eval(".example", (buttons) => buttons.map((b) => b.dataset.example));
    for (const name of names) {
      await page.evaluate(() => { document.body.dataset.state = "idle"; });
      await page.click(`.example[data-example="${name}"]`);
      await waitDone();
      examples[name] = await page.evaluate(() => ({
        state: document.body.dataset.state, rows: document.body.dataset.rows,
        status: document.getElementById("status").textContent,
        shown: document.querySelectorAll("#results table tbody tr").length,
      }));
    }
  }
  if (opts.rerun) {
    // Edit the query and run it with the keyboard (Ctrl+Enter), in whichever editor the page has.
    await page.evaluate((text) => {
      document.body.dataset.state = "idle";
      const cm = document.querySelector(".CodeMirror");
      if (cm) { cm.CodeMirror.setValue(text); cm.CodeMirror.focus(); }
      else { const area = document.getElementById("query-text"); area.value = text; area.focus(); }
    }, opts.rerun);
    await page.keyboard.press("Control+Enter");
    await waitDone();
  }
  let hoveredHref = null;
  if (opts.hover) {
    const link = await page.$("#results tbody a[href]");
    await link.hover();
    hoveredHref = await link.evaluate((a) => a.href);
  }
  const rows = await page.$$eval("#results table tbody tr",
    (trs) => trs.map((tr) => Array.from(tr.cells).map((td) => td.innerText.trim())));
  let completions = null;
  if (opts.complete) {
    // Prefix completion: type a prefixed name whose prefix is not declared and let the editor declare it.
    await page.evaluate(() => {
      const cm = document.querySelector(".CodeMirror").CodeMirror;
      cm.focus();
      cm.setCursor({ line: 2, ch: 2 });
    });
    await page.keyboard.type("?s a dec:");
    await page.waitForFunction(() => /PREFIX\s+dec:/i.test(document.querySelector(".CodeMirror").CodeMirror.getValue())
      || document.querySelector(".CodeMirror-hints"), null, { timeout: 5000 }).catch(() => {});
    completions = { text: await page.evaluate(() => document.querySelector(".CodeMirror").CodeMirror.getValue()) };
    // Term completion from our own ontology: a predicate position after "dec:par", Ctrl+Space.
    await page.keyboard.type("Clause ;\n    dec:par");
    await page.keyboard.press("Control+Space");
    await page.waitForSelector(".CodeMirror-hints li", { timeout: 5000 }).catch(() => {});
    completions.hints = await page.$$eval(".CodeMirror-hints li", (lis) => lis.map((li) => li.textContent));
  }
  const info = await page.evaluate(() => ({
    state: document.body.dataset.state, editor: document.body.dataset.editor, rows: document.body.dataset.rows,
    status: document.getElementById("status").textContent, location: location.pathname + location.search,
    permalink: document.getElementById("permalink").getAttribute("href"),
    downloads: Array.from(document.querySelectorAll("#downloads a")).map((a) => a.getAttribute("href")),
    highlighted: document.querySelectorAll(".CodeMirror .cm-keyword").length,
  }));
  await page.screenshot({ path: opts.screenshot, fullPage: true });
  console.log(JSON.stringify({ rows, info, first, requests, problems, completions, hoveredHref, examples }));
  await context.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def live_url(settings: Settings) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port."""
    with live_server(settings) as base_url:
        yield base_url


def _need_browser() -> None:
    if not CHROMIUM.exists():
        pytest.skip("install chromium (Debian): apt-get install -y chromium")
    if shutil.which("node") is None or not (PLAYWRIGHT_CORE / "package.json").is_file():
        pytest.skip("needs node and playwright-core: run `make install` (npm ci)")


def drive(url: str, tmp_path: Path, name: str, **options: object) -> dict:
    """Open ``url`` in headless Chromium, wait for the query to finish, and return what the page showed."""
    _need_browser()
    script = tmp_path / "driver.cjs"
    script.write_text(DRIVER)
    shot = tmp_path / f"{name}.png"
    opts = {"url": url, "chromium": str(CHROMIUM), "userDataDir": str(tmp_path / f"profile-{name}"),
            "screenshot": str(shot), **options}
    env = dict(os.environ, PW_CORE=str(PLAYWRIGHT_CORE))
    done = subprocess.run(["node", str(script), json.dumps(opts)], capture_output=True, text=True, timeout=90,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert shot.stat().st_size > 10_000
    result["screenshot"] = shot
    keep = os.environ.get("KG_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return result


def _assert_offline(result: dict, base: str) -> None:
    foreign = [u for u in result["requests"] if not u.startswith(base) and not u.startswith("data:")]
    assert foreign == [], f"the page fetched from elsewhere: {foreign}"
    assert result["problems"] == [], result["problems"]


def _assert_clause_rows(result: dict) -> None:
    rows = result["rows"]
    assert len(rows) == 3, rows
    texts = [" ".join(row) for row in rows]
    assert "Recognise the contribution of migrants." in texts[0]
    assert "Resolve to strengthen dialogue <on> migration & development." in texts[1]
    assert "Call for lower costs of remittances." in texts[2]
    assert "lac-2010-migration-communique/2" in texts[1]


def test_browser_runs_a_permalinked_query(live_url: str, tmp_path: Path) -> None:
    url = f"{live_url}/sparql?query={quote(CLAUSES_QUERY)}"
    result = drive(url, tmp_path, "query-page-permalink", hover=True)
    info = result["info"]
    assert info["state"] == "done", info
    _assert_clause_rows(result)
    assert info["rows"] == "3" and "3 results" in info["status"]
    assert info["location"] == f"/sparql?query={quote(CLAUSES_QUERY, safe='')}" or "query=" in info["location"]
    assert info["permalink"].startswith("/sparql?query=")
    # Our resources' IRIs link to this server's /id/... (the linked-data pages), not to w3id.org.
    assert result["hoveredHref"] == f"{live_url}/id/clause/lac-2010-migration-communique/1"
    assert sorted(h.rsplit("&format=", 1)[1] for h in info["downloads"]) == ["csv", "json", "tsv", "xml"]
    if ui.vendor_available():
        assert info["editor"] == "yasgui"
        assert info["highlighted"] >= 3  # SELECT, WHERE, ORDER BY... are highlighted as keywords
    _assert_offline(result, live_url)


def test_browser_dataset_of_the_permalink_is_kept_in_runs_and_downloads(live_url: str, tmp_path: Path) -> None:
    graph = quote(DECLARATION_GRAPH, safe="")
    url = f"{live_url}/sparql?query={quote(CLAUSES_QUERY)}&default-graph-uri={graph}"
    result = drive(url, tmp_path, "query-page-download")
    _assert_clause_rows(result)
    assert result["info"]["permalink"].endswith(f"&default-graph-uri={graph}")
    csv_link = next(h for h in result["info"]["downloads"] if h.endswith("&format=csv"))
    assert f"&default-graph-uri={graph}&" in csv_link
    response = httpx.get(live_url + csv_link, headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].strip() == "clause,position,text"
    assert len(response.text.strip().splitlines()) == 4


def test_browser_construct_shows_triples_and_offers_graph_downloads(live_url: str, tmp_path: Path) -> None:
    query = "PREFIX dec: <https://w3id.org/declarations/ontology#>\nCONSTRUCT { ?c dec:partOf ?d } WHERE { ?c dec:partOf ?d }"
    result = drive(f"{live_url}/sparql?query={quote(query)}", tmp_path, "query-page-construct")
    info = result["info"]
    assert info["state"] == "done" and info["rows"] == "3" and "3 triples" in info["status"], info
    links = {h.rsplit("&format=", 1)[1]: h for h in info["downloads"]}
    assert sorted(links) == ["jsonld", "ntriples", "rdfxml", "turtle"]
    expected = rdflib.Graph()
    part_of = rdflib.URIRef(PREFIXES["dec"] + "partOf")
    declaration = rdflib.URIRef("https://w3id.org/declarations/id/declaration/lac-2010-migration-communique")
    for n in (1, 2, 3):
        expected.add((rdflib.URIRef(f"https://w3id.org/declarations/id/clause/lac-2010-migration-communique/{n}"),
                      part_of, declaration))
    for fmt, parser in (("turtle", "turtle"), ("ntriples", "nt"), ("jsonld", "json-ld"), ("rdfxml", "xml")):
        response = httpx.get(live_url + links[fmt])
        assert response.status_code == 200, (fmt, response.text)
        got = rdflib.Graph().parse(data=response.text, format=parser)
        assert isomorphic(got, expected), fmt
    _assert_offline(result, live_url)


def test_browser_example_is_one_click_away(live_url: str, tmp_path: Path) -> None:
    result = drive(f"{live_url}/sparql", tmp_path, "query-page-example", clickExample="declarations")
    info = result["info"]
    assert info["state"] == "done", info
    texts = [" ".join(row) for row in result["rows"]]
    assert len(texts) == 2
    assert "Special Communiqué on Cooperation on Migration Issues" in texts[0]  # newest first
    assert "Lima Declaration" in texts[1]
    _assert_offline(result, live_url)


def test_browser_prefix_completion(live_url: str, tmp_path: Path) -> None:
    if not ui.vendor_available():
        pytest.skip("prefix completion is YASGUI's: run `make install` (npm ci)")
    query = "SELECT * WHERE {\n  ?s ?p ?o .\n  \n} LIMIT 1"
    result = drive(f"{live_url}/sparql?query={quote(query)}", tmp_path, "query-page-complete", complete=True)
    assert f"PREFIX dec: <{PREFIXES['dec']}>" in result["completions"]["text"], result["completions"]
    assert result["completions"]["hints"] == ["dec:partOf"], result["completions"]


def test_browser_plain_fallback_runs_a_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             live_url: str) -> None:
    monkeypatch.setattr(ui, "NODE_MODULES_DIR", tmp_path / "no-node-modules")
    first = "ASK { ?s ?p ?o }"
    result = drive(f"{live_url}/sparql?query={quote(first)}", tmp_path, "query-page-plain", rerun=CLAUSES_QUERY)
    assert result["info"]["editor"] == "plain"
    _assert_clause_rows(result)
    _assert_offline(result, live_url)


def test_browser_error_then_fixed_query_with_keyboard(live_url: str, tmp_path: Path) -> None:
    result = drive(f"{live_url}/sparql?query={quote('SELECT * WHERE { ?s ?p }')}", tmp_path, "query-page-rerun",
                   rerun=CLAUSES_QUERY)
    first = result["first"]
    assert first["state"] == "error" and "failed" in first["status"], first
    assert first["message"].startswith("400") and "Bad SPARQL query" in first["message"], first
    _assert_clause_rows(result)
    assert result["info"]["location"].startswith("/sparql?query=PREFIX")


def test_browser_runs_every_example_on_the_built_graph(built_store: Path, tmp_path: Path) -> None:
    """Each example of the sidebar, one click each, answers in the page as many rows as the store gives."""
    examples = ui.load_examples()
    assert examples
    store = pyoxigraph.Store.read_only(str(built_store))
    expected = {e.name: len(list(store.query(e.query, use_default_graph_as_union=True))) for e in examples}
    with live_server(Settings(store=str(built_store), workers=1, query_timeout=20)) as base_url:
        result = drive(f"{base_url}/sparql", tmp_path, "query-page-built", allExamples=True)
        _assert_offline(result, base_url)
    assert set(result["examples"]) == set(expected)
    for name, shown in result["examples"].items():
        assert shown["state"] == "done", (name, shown)
        assert shown["rows"] == str(expected[name]), (name, shown, expected[name])
        assert shown["shown"] == min(expected[name], 50), (name, shown)  # the table's first page
        assert expected[name] > 0, f"{name} finds nothing in the built graph"
