// scalegate dashboard: polls /api/monitoring/dashboard and renders it. No framework; the
// charts are uPlot (vendored). Every number shown from the document sits in an element with
// data-field="<path in the document>" and data-value="<the JSON value>", so what the page
// shows can be checked against the document it was drawn from.
"use strict";

(function () {
  const POLL_MS = 2000;
  const DATA = "/api/monitoring/dashboard";
  const SESSION = "/dashboard/session";
  const PRIORITIES = ["critical", "high", "normal", "low"];
  const charts = {};
  let timer = null;

  const $ = (sel) => document.querySelector(sel);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // -- formatting ----------------------------------------------------------------------------

  function fmtNumber(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    return v.toLocaleString("en-US", { maximumFractionDigits: 3 });
  }
  function fmtRatio(v) {
    return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " %";
  }
  function fmtDuration(s) {
    if (s === null || s === undefined) return "–";
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + String(Math.round(s % 60)).padStart(2, "0") + " s";
    return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  }
  const FORMATS = {
    "uptime_seconds": fmtDuration,
    "recent.error_ratio": fmtRatio,
    "cache.hit_ratio": fmtRatio,
  };
  function fmtMs(v) {
    if (v === null || v === undefined) return "–";
    return v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  }
  function format(path, value) {
    if (FORMATS[path]) return FORMATS[path](value);
    if (/_ms$/.test(path)) return fmtMs(value);
    if (/\.ratio$/.test(path)) return fmtRatio(value);
    return fmtNumber(value);
  }

  // -- paths: "keys.<fingerprint>.limits.rpm.used" (arrays of keys are addressed by key) -----

  function lookup(doc, path) {
    let node = doc;
    for (const part of path.split(".")) {
      if (node === null || node === undefined) return undefined;
      node = Array.isArray(node) ? node.find((item) => item.key === part) : node[part];
    }
    return node;
  }

  function field(path, value, text) {
    const node = el("span", { "data-field": path, "data-dynamic": "1" });
    show(node, value, text);
    return node;
  }

  function show(node, value, text) {
    node.dataset.value = JSON.stringify(value === undefined ? null : value);
    node.textContent = text !== undefined ? text : format(node.dataset.field, value);
  }

  function fillFields(doc) {
    for (const node of document.querySelectorAll("[data-field]")) {
      if (node.dataset.dynamic) continue;
      show(node, lookup(doc, node.dataset.field));
    }
  }

  // -- sections ------------------------------------------------------------------------------

  function renderHeader(doc) {
    const status = $("#status");
    status.className = "badge " + doc.health.status;
    $("#simulated").hidden = !doc.simulated_upstream;
    $("#updated").textContent = new Date(doc.generated_at * 1000).toLocaleTimeString();
    const reasons = $("#reasons");
    reasons.replaceChildren(...doc.health.reasons.map((r) => el("li", {}, r)));
    $("#reasons-box").hidden = doc.health.reasons.length === 0;
    const sum = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0);
    $("#waiting-total").textContent = fmtNumber(sum(doc.admission.waiting));
    $("#shed-total").textContent = fmtNumber(sum(doc.admission.shed));
    $("#retries-total").textContent = fmtNumber(sum(doc.totals.retries));
  }

  function forecastText(limit) {
    if (limit.forecast === "never") return "not running out";
    if (limit.forecast === "unknown") return "forecast: gathering data";
    return "runs out in " + fmtDuration(limit.exhausts_in_seconds);
  }

  function limitRow(fp, name, limit) {
    const base = "keys." + fp + ".limits." + name;
    const pct = Math.min(100, Math.max(0, limit.ratio * 100));
    const level = limit.alert === null ? "" : " a" + Math.round(limit.alert * 100);
    const fill = el("i", {});
    fill.style.width = pct.toFixed(1) + "%"; // CSSOM, not a style attribute: the CSP forbids those
    const bar = el("div", { class: "bar" + level, title: fmtRatio(limit.ratio) }, fill);
    const forecast = el("span", { class: "forecast" + (limit.forecast === "runs_out" && limit.exhausts_in_seconds < 600 ? " soon" : "") },
      forecastText(limit));
    forecast.dataset.field = base + ".exhausts_in_seconds";
    forecast.dataset.dynamic = "1";
    forecast.dataset.value = JSON.stringify(limit.exhausts_in_seconds);
    const alert = limit.alert === null ? "" : " ⚠ " + Math.round(limit.alert * 100) + " %";
    return el("div", { class: "limit" },
      el("span", {}, name),
      el("span", {}, field(base + ".used", limit.used), " / ", field(base + ".limit", limit.limit),
        " (", field(base + ".ratio", limit.ratio), ")", alert),
      el("span", {}, bar, forecast));
  }

  function renderKeys(doc) {
    const rows = doc.keys.map((k) => {
      const calls = Object.entries(k.requests).map(([outcome, n]) =>
        el("div", {}, outcome + ": ", field("keys." + k.key + ".requests." + outcome, n)));
      const label = k.name ? k.key + " (" + k.name + ", " + k.class + ")" : k.key + " (" + k.class + ")";
      return el("tr", { "data-key": k.key },
        el("td", {}, label),
        el("td", {}, field("keys." + k.key + ".status", k.status, k.status)),
        el("td", {}, field("keys." + k.key + ".breaker", k.breaker, k.breaker)),
        el("td", { class: "num" }, field("keys." + k.key + ".in_flight", k.in_flight)),
        el("td", {}, ...(calls.length ? calls : ["–"])),
        el("td", {}, ...Object.entries(k.limits).map(([name, limit]) => limitRow(k.key, name, limit))));
    });
    $("#keys tbody").replaceChildren(...rows);
  }

  function pairsTable(selector, path, values) {
    const rows = Object.entries(values || {}).map(([name, n]) =>
      el("tr", {}, el("td", {}, name), el("td", { class: "num" }, field(path + "." + name, n))));
    $(selector + " tbody").replaceChildren(...rows);
  }

  function renderTables(doc) {
    const adm = PRIORITIES.map((p) => {
      const d = doc.admission.decisions[p] || {};
      const cell = (path, v) => el("td", { class: "num" }, field(path, v === undefined ? null : v));
      return el("tr", {}, el("td", {}, p),
        cell("admission.waiting." + p, doc.admission.waiting[p]),
        cell("admission.decisions." + p + ".admitted", d.admitted),
        cell("admission.decisions." + p + ".admitted_after_wait", d.admitted_after_wait),
        cell("admission.decisions." + p + ".rejected", d.rejected),
        cell("admission.shed." + p, doc.admission.shed[p]));
    });
    $("#admission tbody").replaceChildren(...adm);
    pairsTable("#statuses", "totals.by_status", doc.totals.by_status);
    pairsTable("#queue", "queue.depth", doc.queue.depth);
    pairsTable("#jobs", "queue.jobs", doc.queue.jobs);
    const caches = ["exact", "semantic"].filter((k) => doc.cache[k]).map((kind) => {
      const c = doc.cache[kind];
      const p = "cache." + kind;
      return el("tr", {}, el("td", {}, kind),
        el("td", { class: "num" }, field(p + ".hits", c.hits)),
        el("td", { class: "num" }, field(p + ".misses", c.misses)),
        el("td", { class: "num" }, field(p + ".entries", c.entries)),
        el("td", { class: "num" }, field(p + ".evictions.evicted", c.evictions.evicted)));
    });
    $("#caches tbody").replaceChildren(...(caches.length ? caches : [el("tr", {}, el("td", { colspan: "5", class: "muted" }, "caching is off"))]));
  }

  function renderAlerts(doc) {
    const items = doc.alerts.recent.map((a) =>
      el("li", {}, new Date(a.at * 1000).toLocaleTimeString() + " — " + a.key + " " + a.limit +
        " at " + fmtRatio(a.ratio) + " (crossed " + Math.round(a.threshold * 100) + " %)"));
    $("#alerts").replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, "none yet")]));
  }

  // -- charts --------------------------------------------------------------------------------

  const CHARTS = {
    traffic: { series: [["requests/s", "rps", "#4a7bd0"], ["5xx/s", "error_rps", "#d64545"]] },
    latency: { series: [["p50", "p50_ms", "#4a7bd0"], ["p95", "p95_ms", "#e07b00"], ["overhead p50", "overhead_p50_ms", "#1f9d55"]] },
    tokens: { series: [["input", "tokens_in_ps", "#4a7bd0"], ["output", "tokens_out_ps", "#8a5cd0"]] },
    cache: { series: [["hit ratio", "cache_hit_ratio", "#1f9d55"]] },
    queue: { series: [["critical", "q:critical", "#d64545"], ["high", "q:high", "#e07b00"], ["normal", "q:normal", "#4a7bd0"], ["low", "q:low", "#8a94a6"], ["waiting for a key", "waiting", "#8a5cd0"]] },
    workers: { series: [["active", "workers_active", "#1f9d55"], ["idle", "workers_idle", "#8a94a6"]] },
  };

  function seriesData(history, spec) {
    const columns = spec.series.map(([, key]) =>
      key.startsWith("q:") ? history.queue_depth[key.slice(2)] : history[key]);
    return [history.t, ...columns];
  }

  function renderCharts(doc) {
    if (typeof uPlot === "undefined") return;
    for (const [name, spec] of Object.entries(CHARTS)) {
      const box = $("#chart-" + name);
      const width = Math.max(300, box.clientWidth);
      const data = seriesData(doc.history, spec);
      if (!charts[name]) {
        charts[name] = new uPlot({
          width: width,
          height: 180,
          legend: { live: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          series: [{}, ...spec.series.map(([label, , color]) => ({ label: label, stroke: color, width: 1.5, spanGaps: false }))],
          axes: [{}, { size: 50 }],
        }, data, box);
      } else {
        charts[name].setData(data);
        if (Math.abs(charts[name].width - width) > 4) charts[name].setSize({ width: width, height: 180 });
      }
    }
  }

  // -- the loop ------------------------------------------------------------------------------

  function render(doc) {
    fillFields(doc);
    renderHeader(doc);
    renderKeys(doc);
    renderTables(doc);
    renderAlerts(doc);
    renderCharts(doc);
    document.body.dataset.generatedAt = String(doc.generated_at);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  }

  async function poll() {
    timer = null;
    try {
      const resp = await fetch(DATA, { credentials: "same-origin", cache: "no-store" });
      if (resp.status === 401 || resp.status === 403) {
        showLogin("");
        return;
      }
      if (resp.ok) {
        showApp();
        render(await resp.json());
      }
    } catch (err) {
      $("#updated").textContent = "unreachable (" + err.message + ")";
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function showApp() {
    $("#login").hidden = true;
    $("#app").hidden = false;
    $("#logout").hidden = false;
  }

  function showLogin(message) {
    $("#app").hidden = true;
    $("#logout").hidden = true;
    $("#login").hidden = false;
    const error = $("#login-error");
    error.hidden = !message;
    error.textContent = message;
    $("#token").focus();
  }

  async function start() {
    const resp = await fetch(SESSION, { credentials: "same-origin", cache: "no-store" });
    const session = await resp.json();
    if (session.authenticated) poll();
    else showLogin(session.admin_enabled ? "" : "The admin API is disabled: set SCALEGATE_ADMIN_TOKEN on the gateway.");
  }

  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const resp = await fetch(SESSION, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: $("#token").value }),
    });
    if (resp.status === 204) {
      $("#token").value = "";
      poll();
    } else {
      showLogin("That is not the admin token.");
    }
  });

  $("#logout").addEventListener("click", async () => {
    if (timer !== null) clearTimeout(timer);
    await fetch(SESSION, { method: "DELETE", credentials: "same-origin" });
    showLogin("");
  });

  window.addEventListener("resize", () => {
    for (const [name, chart] of Object.entries(charts)) {
      chart.setSize({ width: Math.max(300, $("#chart-" + name).clientWidth), height: 180 });
    }
  });

  start();
})();
