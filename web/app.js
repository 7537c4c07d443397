/* vigil's page (docs/web.md): every view reads the documented API (docs/api.md) with the
 * bearer token the user gives once per tab (sessionStorage). Live through the events
 * stream (GET /api/v1/events, read with fetch so it can carry the token), polling when
 * the stream is unavailable. Views whose route answers 404 (health, compute, failover
 * when not configured) stay hidden. No framework; uPlot draws the charts. */
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const TOKEN_KEY = "vigil.token";
  const FEED_POINTS = 300; // seconds of feed rates kept per chart
  const state = {
    status: null,        // the status document (services, feeds)
    rates: {},           // feed name -> [[times], [rates], [expect]]
    feedCharts: {},      // feed name -> uPlot
    queryChart: null,
    live: false,         // the events stream is flowing
    views: {},           // view name -> true when its route answered
    statusAt: 0,         // performance.now() when services' uptimes were read
  };
  window.vigil = state; // for the browser tests and the curious

  // ---- the API ----
  class HttpError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  async function api(path, opts) {
    const o = Object.assign({headers: {}}, opts || {});
    o.headers = Object.assign({Authorization: "Bearer " + token()}, o.headers);
    const r = await fetch(path, o);
    if (r.status === 401) { askToken("The token was refused; enter it again."); throw new HttpError(401, "unauthorized"); }
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
    if (!r.ok) throw new HttpError(r.status, (body && body.error) || r.statusText);
    return body;
  }

  // ---- formatting ----
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  function dur(s) {
    if (s === null || s === undefined || isNaN(s)) return "–";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
    return Math.floor(s / 86400) + "d" + Math.floor(s % 86400 / 3600) + "h";
  }
  function num(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en"); }
  function badge(s) { return el("span", {class: "badge s-" + s, text: s}); }
  function nsTime(ns) { return ns ? new Date(ns / 1e6).toISOString().replace(".000", "") : "–"; }
  function setLive(on, why) {
    state.live = on;
    const p = $("#live");
    p.className = "live " + (on ? "on" : "off");
    p.textContent = on ? "live" : why || "polling";
  }

  // ---- services ----
  function lastExit(le) {
    if (!le) return "–";
    return le.signal ? "SIG" + le.signal : "code " + le.code;
  }
  function why(s) {
    const parts = [];
    if (s.waiting_on && s.waiting_on.length) parts.push("waiting on " + s.waiting_on.join(", "));
    if (s.next_start_in !== null && s.next_start_in !== undefined) parts.push("next start in " + s.next_start_in.toFixed(1) + " s");
    if (s.reason) parts.push(s.reason);
    if (s.status_text) parts.push("“" + s.status_text + "”");
    return parts.join("; ");
  }
  function serviceRow(s) {
    const total = s.restarts + (s.admin_restarts || 0);
    const act = (a, label) => el("button", {type: "button", "data-action": a, "data-name": s.name,
      "aria-label": label + " " + s.name, text: label, onclick: () => action(a, s.name)});
    return el("tr", {"data-name": s.name, "data-state": s.state},
      el("th", {scope: "row", text: s.name}),
      el("td", {class: "state"}, badge(s.state)),
      el("td", {class: "num uptime", "data-up": s.pid ? s.uptime_seconds : ""}, s.pid ? dur(s.uptime_seconds) : "–"),
      el("td", {class: "num restarts", "data-total": total,
        title: s.restarts + " automatic, " + (s.admin_restarts || 0) + " asked for"}, String(total)),
      el("td", {class: "num", text: dur(s.ready_seconds)}),
      el("td", {text: lastExit(s.last_exit)}),
      el("td", {class: "why", text: why(s)}),
      el("td", {class: "actions"}, act("start", "Start"), " ", act("stop", "Stop"), " ", act("restart", "Restart")));
  }
  function renderServices() {
    const svcs = state.status.services;
    const tb = $("#services tbody");
    const focused = document.activeElement && document.activeElement.dataset
      ? [document.activeElement.dataset.action, document.activeElement.dataset.name] : null;
    tb.replaceChildren(...svcs.map(serviceRow));
    if (focused && focused[0]) {
      const b = tb.querySelector(`button[data-action="${focused[0]}"][data-name="${CSS.escape(focused[1] || "")}"]`);
      if (b) b.focus();
    }
    state.statusAt = performance.now();
    if (!performance.getEntriesByName("vigil-services").length) performance.mark("vigil-services");
    const ready = svcs.filter(s => s.state === "ready").length;
    const v = state.status.vigil || {};
    $("#summary").textContent = `vigil ${v.version || ""} · ${ready}/${svcs.length} services ready · stack ` +
      (state.status.stack_ready ? "ready" : "not ready");
  }
  function tickUptimes() { // between events, uptimes advance on the client
    const dt = (performance.now() - state.statusAt) / 1000;
    for (const td of document.querySelectorAll("#services td.uptime")) {
      if (td.dataset.up !== "") td.textContent = dur(Number(td.dataset.up) + dt);
    }
  }
  async function action(a, name) {
    const msg = $("#action-msg");
    try {
      await api(`/api/v1/services/${encodeURIComponent(name)}/${a}`, {method: "POST"});
      msg.textContent = `${a}: ${name} (asked)`;
      if (!state.live) refreshStatus();
    } catch (e) {
      msg.textContent = `${a} ${name}: ${e.message}`;
    }
  }

  // ---- feeds ----
  function chartWidth(node) { return Math.max(260, node.clientWidth || 320); }
  function feedCard(f) {
    const card = el("article", {class: "card", id: "feed-" + f.name, "aria-label": "feed " + f.name},
      el("h3", {}, el("span", {text: f.name}), el("span", {class: "note rate"})),
      el("div", {class: "chart"}),
      el("dl", {}));
    return card;
  }
  function feedFacts(f) {
    const errs = Object.entries(f.errors || {}).filter(([, n]) => n > 0);
    const seq = f.seq;
    const rows = [
      ["expect", f.expect && f.expect.rate ? f.expect.rate + "/s" : "–"],
      ["last message", f.last_message_age_seconds !== null && f.last_message_age_seconds !== undefined
        ? dur(f.last_message_age_seconds) + " ago" : "never"],
      ["messages", num(f.messages)],
      ["points", num(f.points)],
      ["gaps", seq ? `${num(seq.gaps)} (${num(seq.missed)} missed)` : "–"],
      ["refused", errs.length ? errs.map(([k, n]) => `${k} ${num(n)}`).join(", ") : "none"],
      ["series", num(f.series)],
    ];
    const frag = [];
    for (const [k, v] of rows) frag.push(el("dt", {text: k}), el("dd", {text: v, "data-k": k}));
    return frag;
  }
  function pushRates(feeds, at) {
    const t = (at || Date.now()) / 1000;
    for (const f of feeds) {
      const r = state.rates[f.name] || (state.rates[f.name] = [[], [], []]);
      r[0].push(t); r[1].push(f.point_rate || 0);
      r[2].push(f.expect && f.expect.rate ? f.expect.rate : null);
      if (r[0].length > FEED_POINTS) for (const a of r) a.shift();
    }
  }
  function renderFeeds() {
    const feeds = state.status.feeds || [];
    const sec = $("#feeds");
    sec.hidden = feeds.length === 0;
    document.querySelector('nav a[data-view="feeds"]').hidden = feeds.length === 0;
    const box = $(".cards", sec);
    for (const f of feeds) {
      let card = document.getElementById("feed-" + f.name);
      if (!card) { card = feedCard(f); box.append(card); }
      $(".rate", card).textContent = Math.round(f.point_rate || 0) + " points/s";
      $("dl", card).replaceChildren(...feedFacts(f));
      const data = state.rates[f.name];
      if (!data || typeof uPlot === "undefined") continue;
      let u = state.feedCharts[f.name];
      if (!u) {
        const node = $(".chart", card);
        u = new uPlot({
          width: chartWidth(card) - 24, height: 120, legend: {show: false},
          scales: {x: {time: true}, y: {range: (u, lo, hi) => [0, Math.max(hi, 1) * 1.15]}},
          axes: [{stroke: "currentColor"}, {stroke: "currentColor", size: 50}],
          series: [{}, {label: "points/s", stroke: "#0969da", width: 1.5, fill: "rgba(9,105,218,.08)"},
            {label: "expect", stroke: "#9a6700", dash: [4, 4], width: 1}],
        }, data, node);
        state.feedCharts[f.name] = u;
      } else {
        u.setData(data);
      }
    }
  }

  // ---- status: the stream, or polling ----
  function applyStatus(doc) {
    state.status = doc;
    if (doc.feeds) pushRates(doc.feeds);
    renderServices();
    renderFeeds();
  }
  async function refreshStatus() {
    try {
      const doc = await api("/api/v1/status");
      applyStatus(doc);
    } catch (e) { if (e.status !== 401) setLive(false, "offline: " + e.message); }
  }
  function onEvent(type, data) {
    if (type === "status") applyStatus(data);
    else if (type === "service" && state.status) {
      const i = state.status.services.findIndex(s => s.name === data.name);
      if (i >= 0) state.status.services[i] = data; else state.status.services.push(data);
      renderServices();
    } else if (type === "feeds" && state.status) {
      state.status.feeds = data;
      pushRates(data);
      renderFeeds();
    } else if (type === "alerts") {
      renderAlerts(data.alerts || []);
    }
  }
  async function stream() {
    const ctl = new AbortController();
    let r;
    try {
      r = await fetch("/api/v1/events", {headers: {Authorization: "Bearer " + token()}, signal: ctl.signal});
    } catch (e) { return false; }
    if (r.status === 401) { askToken("The token was refused; enter it again."); return true; }
    if (!r.ok || !r.body) return false;
    setLive(true);
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let watchdog = setTimeout(() => ctl.abort(), 20000);
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ctl.abort(), 20000); // keep-alives come every 15 s
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) type = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) { try { onEvent(type, JSON.parse(data)); } catch (e) { console.error(e); } }
        }
      }
    } catch (e) { /* aborted or dropped */ }
    clearTimeout(watchdog);
    return false;
  }
  async function live() {
    for (;;) {
      if (!token()) return;
      const stop = await stream();
      if (stop) return;
      setLive(false, "polling");
      const until = Date.now() + 10000; // poll, and try the stream again in 10 s
      while (Date.now() < until && token()) {
        await refreshStatus();
        await sleep(2000);
      }
    }
  }
  const sleep = ms => new Promise(res => setTimeout(res, ms));

  // ---- optional views: shown when their route answers ----
  function showView(name, on) {
    state.views[name] = on;
    const link = document.querySelector(`nav a[data-view="${name}"]`);
    if (link) link.hidden = !on;
    document.getElementById(name).hidden = !on;
  }
  async function optional(name, path, render) {
    try {
      render(await api(path));
      showView(name, true);
    } catch (e) {
      if (e.status === 404) showView(name, false);
      else if (state.views[name]) $("#" + name + " h2").title = e.message;
    }
  }

  // ---- health ----
  function renderAlerts(alerts) {
    const firing = alerts.filter(a => a.state === "firing");
    $("#alerts").replaceChildren(...(firing.length ? firing.map(a => el("li", {"data-key": a.key || "", "data-check": a.check || ""},
      badge(a.severity || "alert"), " ", el("strong", {text: a.check || ""}), " ",
      a.key ? el("code", {text: a.key}) : null, " ", a.message || "",
      el("span", {class: "note", text: a.started_at ? " since " + a.started_at : ""}))) : [el("li", {class: "note", text: "none"})]));
  }
  function renderHealth(h) {
    const st = $("#health-state");
    st.className = "badge s-" + h.status;
    st.textContent = h.status;
    const c = h.counts || {};
    $("#health-counts").textContent = `present ${c.present ?? "–"}/${c.expected ?? "–"}, stale ${c.stale ?? "–"}, ` +
      `missing ${c.missing ?? "–"}, firing ${c.firing ?? "–"} · evaluated ${h.evaluated_at || "–"}`;
    $("#health-reasons").replaceChildren(...(h.reasons || []).map(r => el("li", {},
      badge(r.severity), " ", el("strong", {text: r.check}), " ", r.key ? el("code", {text: r.key}) : null, " ", r.message)));
    $("#timeline").replaceChildren(...(h.history || []).map(x => el("span", {role: "listitem", class: "s-" + x.status,
      title: `${x.at}: ${x.status}` + (x.reasons && x.reasons.length ? " — " + x.reasons.map(r => r.message || r).join("; ") : ""),
      "aria-label": `${x.at} ${x.status}`})));
  }
  function renderAlertHistory(a) {
    const all = a.alerts || [];
    renderAlerts(all);
    $("#alert-history").replaceChildren(...all.filter(x => x.state !== "firing").slice(0, 50).map(x =>
      el("li", {text: `${x.started_at} → ${x.ended_at || "…"}  ${x.severity} ${x.check} ${x.key || ""}: ${x.message}`})));
  }
  async function refreshHealth() {
    await optional("health", "/api/v1/health", renderHealth);
    if (state.views.health) {
      try { renderAlertHistory(await api("/api/v1/alerts?all=1")); } catch (e) { /* shown on the next turn */ }
    }
  }

  // ---- failover ----
  function renderFailover(f) {
    const t = f.last_transition || {};
    const rows = [["node", f.node], ["role", badge(f.role)], ["lease holder", f.holder || "–"],
      ["fencing token", f.token ?? "–"],
      ["lease", f.lease ? `${f.lease.backend}, ttl ${f.lease.ttl_ms} ms, expires in ${f.lease.expires_in_ms} ms` : "–"],
      ["last transition", t.at ? `${t.at}: ${t.from} → ${t.to} in ${t.duration_ms} ms (${t.reason})` : "none"]];
    $("#failover-info").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {text: k}), el("dd", {}, v)]));
  }

  // ---- store ----
  function retention(s) {
    if (!s) return "forever";
    return s % 86400 === 0 ? s / 86400 + "d" : s % 3600 === 0 ? s / 3600 + "h" : s + "s";
  }
  function renderStore(st) {
    $("#store-summary").textContent = `${num(st.series)} series, ${num(st.points)} points ` +
      `(${num(st.head_points)} in memory), ` + (st.blocks ? `${st.bytes_per_point.toFixed(2)} bytes/point on disk in ` +
      `${num(st.blocks)} blocks` : "none on disk yet");
    $("#policies tbody").replaceChildren(...st.policies.map(p => el("tr", {},
      el("th", {scope: "row", text: p.name}), el("td", {text: retention(p.duration_s)}),
      el("td", {class: "num", text: num(p.series)}), el("td", {class: "num", text: num(p.points)}),
      el("td", {class: "num", text: p.points ? p.bytes_per_point.toFixed(2) : "–"}),
      el("td", {text: p.points ? nsTime(p.oldest) : "–"}), el("td", {text: p.points ? nsTime(p.newest) : "–"}))));
  }
  function selectorOf(s) {
    const esc = v => String(v).replace(/[\\,=]/g, m => "\\" + m);
    return [esc(s.measurement)].concat(Object.entries(s.tags).map(([k, v]) => esc(k) + "=" + esc(v))).join(",");
  }
  async function findSeries() {
    const f = $("#explorer");
    const q = new URLSearchParams({q: f.q.value});
    if (f.field.value) q.set("field", f.field.value);
    const msg = $("#query-msg");
    try {
      const r = await api("/api/v1/query/last?" + q);
      const seen = new Set();
      const list = $("#series-list");
      list.replaceChildren();
      for (const s of r.series) {
        const sel = selectorOf(s);
        if (seen.has(sel)) continue;
        seen.add(sel);
        list.append(el("button", {type: "button", "aria-pressed": "false", "data-q": sel, text: sel,
          onclick: ev => {
            for (const b of list.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
            ev.target.setAttribute("aria-pressed", "true");
            f.q.value = sel;
            runQuery();
          }}));
      }
      msg.textContent = `${seen.size} series match`;
    } catch (e) { msg.textContent = e.message; }
  }
  async function runQuery() {
    const f = $("#explorer");
    const q = new URLSearchParams({q: f.q.value, from: f.from.value});
    if (f.field.value) q.set("field", f.field.value);
    if (f.every.value) q.set("every", f.every.value);
    if (f.agg.value) q.set("agg", f.agg.value);
    if (f.every.value && !f.agg.value) q.set("agg", "mean");
    const msg = $("#query-msg");
    try {
      const r = await api("/api/v1/query?" + q);
      const series = r.series.filter(s => s.type !== "string" && s.type !== "bool").slice(0, 8);
      const times = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
      const idx = new Map(times.map((t, i) => [t, i]));
      const data = [times.map(t => t / 1e9)];
      for (const s of series) {
        const col = new Array(times.length).fill(null);
        for (const [t, v] of s.points) col[idx.get(t)] = v;
        data.push(col);
      }
      const rolled = series.filter(s => s.raw_from !== undefined);
      msg.textContent = `${num(r.points)} points in ${series.length} series, ${r.elapsed_us} µs` +
        (rolled.length ? ` · before ${nsTime(rolled[0].raw_from)} from the rollups` : "");
      const node = $("#query-chart");
      if (state.queryChart) { state.queryChart.destroy(); state.queryChart = null; }
      if (!times.length || typeof uPlot === "undefined") return;
      const colors = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#6e7781"];
      state.queryChart = new uPlot({
        width: Math.max(280, node.clientWidth || 600), height: 260,
        scales: {x: {time: true}},
        axes: [{stroke: "currentColor"}, {stroke: "currentColor", size: 60}],
        series: [{}].concat(series.map((s, i) => ({label: selectorOf(s) + " " + s.field, stroke: colors[i % 8],
          width: 1.5, spanGaps: true, points: {show: times.length < 200}}))),
      }, data, node);
    } catch (e) { msg.textContent = e.message; }
  }

  // ---- compute ----
  const CELL_STATES = ["uptodate", "ran", "stable", "rerun", "requeued", "pending", "blocked", "impossible", "dead"];
  function renderGrid(g) {
    const f = $("#compute-range");
    if (!f.from.value) f.from.value = g.from;
    if (!f.to.value) f.to.value = g.to;
    f.from.min = f.to.min = g.calendar.start;
    f.from.max = f.to.max = g.calendar.end;
    $("#compute .legend").replaceChildren(...CELL_STATES.map(badge));
    const byKey = new Map(g.cells.map(c => [c.date + "/" + c.calc, c]));
    const head = el("tr", {}, el("th", {scope: "col", text: "date"}), ...g.calcs.map(c => el("th", {scope: "col", text: c})));
    const rows = g.dates.slice().reverse().map(d => el("tr", {}, el("th", {scope: "row", text: d}),
      ...g.calcs.map(c => {
        const x = byKey.get(d + "/" + c);
        const a = x.last_attempt;
        const info = `${c} ${d}: ${x.state}` + (x.reason ? ` — ${x.reason}` : "") +
          (a ? `; last attempt #${a.attempt} ${a.status} at ${a.at}, ${a.duration_seconds.toFixed(2)} s, exit ${a.exit_status}` +
            (a.attempts > 1 ? ` (${a.attempts} attempts)` : "") : "; never attempted");
        return el("td", {class: "cell", "data-state": x.state},
          el("button", {type: "button", class: "s-" + x.state, title: info, "aria-label": info,
            onclick: () => { $("#cell-info").textContent = info; },
            onfocus: () => { $("#cell-info").textContent = info; }}));
      })));
    $("#grid").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  }
  function computePath() {
    const f = $("#compute-range");
    const q = new URLSearchParams();
    if (f.from.value) q.set("from", f.from.value);
    if (f.to.value) q.set("to", f.to.value);
    return "/api/v1/compute/grid" + (q.toString() ? "?" + q : "");
  }

  // ---- start ----
  function askToken(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("#main").hidden = true;
    $("#login").hidden = false;
    $("#login-error").textContent = why || "";
    $("#token").focus();
  }
  let timers = [];
  function start() {
    $("#login").hidden = true;
    $("#main").hidden = false;
    for (const t of timers) clearInterval(t);
    refreshStatus().then(() => { live(); });
    const slow = () => {
      refreshHealth();
      optional("failover", "/api/v1/failover", renderFailover);
    };
    const store = () => optional("store", "/api/v1/store/stats?format=json", renderStore);
    const compute = () => optional("compute", computePath(), renderGrid);
    slow(); store(); compute();
    timers = [setInterval(tickUptimes, 1000), setInterval(slow, 3000), setInterval(store, 15000),
      setInterval(compute, 15000)];
  }
  document.addEventListener("DOMContentLoaded", () => {
    $("#login").addEventListener("submit", ev => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
      $("#token").value = "";
      start();
    });
    $("#forget").addEventListener("click", () => { for (const t of timers) clearInterval(t); askToken(""); });
    $("#explorer").addEventListener("submit", ev => { ev.preventDefault(); runQuery(); });
    $("#find").addEventListener("click", findSeries);
    $("#compute-range").addEventListener("submit", ev => {
      ev.preventDefault();
      optional("compute", computePath(), renderGrid);
    });
    window.addEventListener("resize", () => {
      for (const [name, u] of Object.entries(state.feedCharts)) {
        const card = document.getElementById("feed-" + name);
        if (card) u.setSize({width: chartWidth(card) - 24, height: 120});
      }
    });
    if (token()) start(); else askToken("");
  });
})();
