/*
 * The query page of /sparql: wires the editor (YASGUI's Yasqe, or a plain textarea when its files are not
 * installed), the example queries, the permalink and download links, and the results (YASGUI's Yasr, or our own
 * table). Everything it loads or fetches comes from our own server; the configuration is the JSON in #kg-config,
 * written by api/routers/ui.py.
 *
 * The page exposes its progress for people and tests alike: <body data-state="idle|running|done|error">,
 * data-rows (result rows of the last SELECT) and data-form (SELECT, ASK, CONSTRUCT, DESCRIBE).
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("kg-config").textContent);
  var body = document.body;
  var statusEl = document.getElementById("status");
  var resultsEl = document.getElementById("results");
  var runBtn = document.getElementById("run");
  var permalinkEl = document.getElementById("permalink");
  var downloadsEl = document.getElementById("downloads");

  var TABLE_FORMATS = [["csv", "CSV"], ["tsv", "TSV"], ["json", "JSON"], ["xml", "XML"]];
  var GRAPH_FORMATS = [["turtle", "Turtle"], ["ntriples", "N-Triples"], ["jsonld", "JSON-LD"], ["rdfxml", "RDF/XML"]];
  var DEFAULT_QUERY = [
    "PREFIX dec: <" + cfg.prefixes.dec + ">",
    "PREFIX dcterms: <" + cfg.prefixes.dcterms + ">",
    "",
    "SELECT ?declaration ?title ?date WHERE {",
    "  ?declaration a dec:Declaration ;",
    "               dcterms:title ?title .",
    "  OPTIONAL { ?declaration dcterms:date ?date }",
    "}",
    "ORDER BY ?date",
    "",
  ].join("\n");

  var editor = null; // {getValue(), setValue(text), focus(), onChange(fn)}
  var yasr = null;
  var running = null; // AbortController of the query in flight
  var lastForm = null;

  /* ---------- the query text ---------- */

  // The query form (SELECT, ASK, CONSTRUCT, DESCRIBE, or UPDATE for anything else) of a SPARQL text.
  function queryForm(text) {
    var bare = text
      .replace(/<[^<>\s]*>/g, "<>")
      .replace(/"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""')
      .replace(/#[^\n]*/g, " ");
    var m = /\b(SELECT|ASK|CONSTRUCT|DESCRIBE|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b/i.exec(bare);
    if (!m) return "SELECT";
    var word = m[1].toUpperCase();
    return ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"].indexOf(word) >= 0 ? word : "UPDATE";
  }

  // default-graph-uri / named-graph-uri of the permalink the page was opened with, sent with every run.
  var dataset = cfg.dataset || [];

  function datasetParams() {
    return dataset
      .map(function (p) { return "&" + encodeURIComponent(p[0]) + "=" + encodeURIComponent(p[1]); })
      .join("");
  }

  function permalinkFor(text) {
    return cfg.endpoint + "?query=" + encodeURIComponent(text) + datasetParams();
  }

  function updateLinks() {
    var text = editor.getValue();
    var form = queryForm(text);
    permalinkEl.href = permalinkFor(text);
    if (form !== lastForm) {
      lastForm = form;
      var formats = form === "CONSTRUCT" || form === "DESCRIBE" ? GRAPH_FORMATS : TABLE_FORMATS;
      downloadsEl.textContent = "Download ";
      formats.forEach(function (f) {
        var a = document.createElement("a");
        a.dataset.format = f[0];
        a.textContent = f[1];
        downloadsEl.appendChild(a);
        downloadsEl.appendChild(document.createTextNode(" "));
      });
    }
    Array.prototype.forEach.call(downloadsEl.querySelectorAll("a[data-format]"), function (a) {
      a.href = permalinkFor(text) + "&format=" + encodeURIComponent(a.dataset.format);
      a.setAttribute("download", "query-results." + extensionOf(a.dataset.format));
    });
  }

  function extensionOf(format) {
    return { turtle: "ttl", ntriples: "nt", jsonld: "jsonld", rdfxml: "rdf" }[format] || format;
  }

  /* ---------- the editor ---------- */

  function prefixCompletions() {
    return Object.keys(cfg.prefixes)
      .sort()
      .map(function (p) { return p + ": <" + cfg.prefixes[p] + ">"; });
  }

  // Terms of our ontology (and what it reuses), fetched once from our own endpoint for completion.
  var termsPromise = null;
  function ontologyTerms() {
    if (!termsPromise) {
      var q = [
        "PREFIX owl: <http://www.w3.org/2002/07/owl#>",
        "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>",
        "SELECT DISTINCT ?term ?kind WHERE {",
        "  VALUES ?kind { owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property }",
        "  ?term a ?kind . FILTER(isIRI(?term))",
        "} LIMIT 5000",
      ].join("\n");
      termsPromise = fetch(cfg.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/sparql-results+json" },
        body: new URLSearchParams({ query: q }),
      })
        .then(function (r) { return r.ok ? r.json() : { results: { bindings: [] } }; })
        .then(function (json) {
          var terms = { classes: [], properties: [] };
          json.results.bindings.forEach(function (b) {
            var isClass = /#Class$/.test(b.kind.value);
            (isClass ? terms.classes : terms.properties).push(b.term.value);
          });
          terms.classes.sort();
          terms.properties.sort();
          return terms;
        })
        .catch(function () { return { classes: [], properties: [] }; });
    }
    return termsPromise;
  }

  function termCompleter(kind) {
    return function (_yasqe, token) {
      var start = (token && token.autocompletionString) || "";
      return ontologyTerms().then(function (terms) {
        return terms[kind].filter(function (iri) { return iri.indexOf(start) === 0; }).slice(0, 100);
      });
    };
  }

  function yasguiEditor() {
    var Yasqe = window.Yasqe;
    Yasqe.forkAutocompleter("prefixes", { name: "kgPrefixes", persistenceId: null, get: prefixCompletions }, false);
    Yasqe.forkAutocompleter("property", { name: "kgProperties", get: termCompleter("properties") }, false);
    Yasqe.forkAutocompleter("class", { name: "kgClasses", get: termCompleter("classes") }, false);
    var keys = Object.assign({}, Yasqe.defaults.extraKeys, {
      "Ctrl-Enter": function () { run(); },
      "Cmd-Enter": function () { run(); },
    });
    var yasqe = new Yasqe(document.getElementById("editor"), {
      value: DEFAULT_QUERY,
      persistenceId: "kg_sparql_query",
      autocompleters: ["kgPrefixes", "kgProperties", "kgClasses", "variables"],
      showQueryButton: false,
      resizeable: true,
      editorHeight: "300px",
      extraKeys: keys,
      consumeShareLink: null,
      createShareableLink: function (y) { return location.origin + permalinkFor(y.getValue()); },
      // Used by the share box's curl command line, so absolute.
      requestConfig: { endpoint: location.origin + cfg.endpoint, method: "POST" },
    });
    return {
      getValue: function () { return yasqe.getValue(); },
      setValue: function (text) { yasqe.setValue(text); },
      focus: function () { yasqe.focus(); },
      onChange: function (fn) { yasqe.on("change", fn); },
    };
  }

  function plainEditor() {
    var area = document.getElementById("query-text");
    if (!area.value.trim()) area.value = DEFAULT_QUERY;
    area.addEventListener("keydown", function (ev) {
      if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") {
        ev.preventDefault();
        run();
      } else if (ev.key === "Tab" && !ev.shiftKey) {
        ev.preventDefault();
        area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      }
    });
    return {
      getValue: function () { return area.value; },
      setValue: function (text) { area.value = text; },
      focus: function () { area.focus(); },
      onChange: function (fn) { area.addEventListener("input", fn); },
    };
  }

  /* ---------- running ---------- */

  function setState(state, rows) {
    body.dataset.state = state;
    if (rows === undefined) delete body.dataset.rows;
    else body.dataset.rows = String(rows);
    runBtn.textContent = state === "running" ? "Cancel" : "Run query";
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "status" + (kind ? " status-" + kind : "");
  }

  function run() {
    if (running) {
      running.abort();
      return;
    }
    var text = editor.getValue();
    if (!text.trim()) return;
    var form = queryForm(text);
    body.dataset.form = form;
    updateLinks();
    try {
      history.replaceState(null, "", permalinkFor(text));
    } catch (e) {
      /* a very long query may not fit in the address bar; the permalink link still has it */
    }
    var accept = form === "CONSTRUCT" || form === "DESCRIBE"
      ? "text/turtle"
      : "application/sparql-results+json";
    var controller = new AbortController();
    running = controller;
    setState("running");
    setStatus("Running…");
    var started = performance.now();
    fetch(cfg.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: accept },
      body: new URLSearchParams([["query", text]].concat(dataset)),
      signal: controller.signal,
    })
      .then(function (response) {
        return response.text().then(function (payload) {
          var ms = Math.round(performance.now() - started);
          var type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
          if (!response.ok) showError(response.status, response.statusText, payload, type);
          else showResults(payload, type, ms, form);
        });
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") {
          setState("idle");
          setStatus("Cancelled.");
        } else {
          showError(0, "Network error", String(err), "text/plain");
        }
      })
      .then(function () {
        if (running === controller) running = null;
        if (body.dataset.state === "running") setState("idle");
        else runBtn.textContent = "Run query";
      });
  }

  function showError(status, statusText, payload, type) {
    var message = payload;
    if (/json/.test(type)) {
      try {
        var problem = JSON.parse(payload);
        message = [problem.title, problem.detail].filter(Boolean).join(": ") || payload;
      } catch (e) { /* not JSON after all: show it as it is */ }
    }
    resultsEl.textContent = "";
    var box = document.createElement("div");
    box.className = "error-box";
    var head = document.createElement("strong");
    head.textContent = status ? status + " " + (statusText || "") : statusText;
    var detail = document.createElement("pre");
    detail.textContent = message;
    box.appendChild(head);
    box.appendChild(detail);
    resultsEl.appendChild(box);
    yasr = null;
    setState("error");
    setStatus("The query failed.", "error");
  }

  function showResults(payload, type, ms, form) {
    var rows;
    var json = null;
    if (/json/.test(type)) {
      try { json = JSON.parse(payload); } catch (e) { json = null; }
    }
    if (json && json.results && json.results.bindings) rows = json.results.bindings.length;
    if (cfg.editor === "yasgui" && window.Yasr) {
      if (!yasr) {
        resultsEl.textContent = "";
        yasr = new window.Yasr(resultsEl, {
          persistenceId: null,
          prefixes: cfg.prefixes,
          pluginOrder: ["table", "response"],
          defaultPlugin: "table",
          // Clause texts are the point of most queries: show them whole.
          plugins: { table: { dynamicConfig: { isEllipsed: false, compact: false } } },
          getPlainQueryLinkToEndpoint: function () { return permalinkFor(editor.getValue()); },
          getDownloadFileName: function () { return "query-results"; },
        });
      }
      yasr.setResponse({ data: payload, contentType: type, status: 200, executionTime: ms }, ms);
    } else {
      renderPlain(json, payload, form);
    }
    var what;
    if (rows !== undefined) what = rows + (rows === 1 ? " result" : " results");
    else if (json && typeof json.boolean === "boolean") what = "answer: " + (json.boolean ? "yes" : "no");
    else {
      var triples = null;
      try { triples = yasr && yasr.results ? yasr.results.getStatements().length : null; } catch (e) { triples = null; }
      if (triples !== null) {
        rows = triples;
        what = triples + (triples === 1 ? " triple" : " triples");
      } else {
        what = payload.split("\n").filter(function (l) { return l.trim(); }).length + " lines of Turtle";
      }
    }
    setState("done", rows);
    setStatus(what + " in " + ms + " ms", "ok");
  }

  /* ---------- our own results table (plain mode) ---------- */

  function abbreviate(iri) {
    var best = null;
    Object.keys(cfg.prefixes).forEach(function (p) {
      var ns = cfg.prefixes[p];
      if (iri.indexOf(ns) === 0 && (!best || ns.length > cfg.prefixes[best].length)) best = p;
    });
    if (best && /^[^\s<>"{}|^`\\]*$/.test(iri.slice(cfg.prefixes[best].length))) {
      return best + ":" + iri.slice(cfg.prefixes[best].length);
    }
    return "<" + iri + ">";
  }

  function localHref(iri) {
    return iri.indexOf(cfg.idBase) === 0 ? cfg.localIdBase + iri.slice(cfg.idBase.length) : iri;
  }

  function termCell(term) {
    var td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      var a = document.createElement("a");
      a.href = localHref(term.value);
      a.title = term.value;
      a.textContent = abbreviate(term.value);
      td.appendChild(a);
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
      td.className = "bnode";
    } else {
      td.appendChild(document.createTextNode(term.value));
      if (term["xml:lang"]) {
        var lang = document.createElement("span");
        lang.className = "lang";
        lang.textContent = term["xml:lang"];
        td.appendChild(lang);
      } else if (term.datatype) {
        td.title = abbreviate(term.datatype);
        if (/#(integer|decimal|double|float|int|long)$/.test(term.datatype)) td.className = "number";
      }
    }
    return td;
  }

  function renderPlain(json, payload, form) {
    resultsEl.textContent = "";
    if (json && json.head && json.results && json.results.bindings) {
      var vars = json.head.vars || [];
      var table = document.createElement("table");
      table.className = "result-table";
      var thead = table.createTHead().insertRow();
      var th = document.createElement("th");
      th.textContent = "#";
      thead.appendChild(th);
      vars.forEach(function (v) {
        var cell = document.createElement("th");
        cell.textContent = "?" + v;
        thead.appendChild(cell);
      });
      var tbody = table.createTBody();
      json.results.bindings.forEach(function (binding, i) {
        var tr = tbody.insertRow();
        var n = document.createElement("td");
        n.className = "rownum";
        n.textContent = String(i + 1);
        tr.appendChild(n);
        vars.forEach(function (v) { tr.appendChild(termCell(binding[v])); });
      });
      var wrap = document.createElement("div");
      wrap.className = "table-wrap";
      wrap.appendChild(table);
      resultsEl.appendChild(wrap);
    } else if (json && typeof json.boolean === "boolean") {
      var p = document.createElement("p");
      p.className = "boolean-answer";
      p.textContent = json.boolean ? "Yes (true)" : "No (false)";
      resultsEl.appendChild(p);
    } else {
      var pre = document.createElement("pre");
      pre.className = "graph-text";
      pre.textContent = payload;
      resultsEl.appendChild(pre);
    }
  }

  /* ---------- examples, links and start-up ---------- */

  function loadExample(name, andRun) {
    var example = cfg.examples.filter(function (e) { return e.name === name; })[0];
    if (!example) return;
    editor.setValue(example.query);
    Array.prototype.forEach.call(document.querySelectorAll(".example"), function (b) {
      b.classList.toggle("active", b.dataset.example === name);
    });
    updateLinks();
    if (andRun) run();
  }

  document.querySelectorAll(".example").forEach(function (button) {
    button.addEventListener("click", function () { loadExample(button.dataset.example, true); });
  });

  // Links to our own resources (https://w3id.org/declarations/id/...) open on this server (/id/...).
  function localiseLink(ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a[href]") : null;
    if (a && a.href.indexOf(cfg.idBase) === 0) a.href = localHref(a.href);
  }
  resultsEl.addEventListener("mouseover", localiseLink);
  resultsEl.addEventListener("focusin", localiseLink);
  resultsEl.addEventListener("click", localiseLink, true);

  runBtn.addEventListener("click", run);

  if (dataset.length) {
    var note = document.getElementById("dataset");
    note.hidden = false;
    note.querySelector("span").textContent = dataset.map(function (p) { return p[0] + "=<" + p[1] + ">"; }).join(", ");
    note.querySelector("button").addEventListener("click", function () {
      dataset = [];
      note.hidden = true;
      updateLinks();
    });
  }

  try {
    editor = cfg.editor === "yasgui" && window.Yasqe ? yasguiEditor() : null;
  } catch (e) {
    editor = null;
    if (window.console) console.error("YASGUI failed to start; using the plain editor", e);
  }
  if (!editor) {
    cfg.editor = "plain";
    body.dataset.editor = "plain";
    if (!document.getElementById("query-text")) {
      var area = document.createElement("textarea");
      area.id = "query-text";
      area.spellcheck = false;
      area.setAttribute("aria-label", "SPARQL query");
      document.getElementById("editor").appendChild(area);
    }
    editor = plainEditor();
  }
  if (cfg.query) editor.setValue(cfg.query);
  editor.onChange(updateLinks);
  updateLinks();
  if (cfg.autorun) run();
})();
