// Browser tests of the page (docs/web.md), driven by tests/integration/test_web_browser.py
// against the demo stack: Debian's Chromium through playwright-core.
//   node web.mjs CASE   with VIGIL_URL, VIGIL_TOKEN, VIGIL_ARTIFACTS, CHROMIUM in the env
// Cases: page (services, restart, feed chart, compute grid, screenshots), narrow (a
// phone-sized viewport, dark), alert (stop a publisher, see the alert), shapes (health,
// alerts and failover from the agreed JSON shapes; polling when the stream is refused), paint (first
// paint and the services table's first drawing over 10 fresh loads: printed, never
// asserted).
// Prints one JSON line of figures; exits 1 with the reason on the first failure.
import { createRequire } from "node:module";
import path from "node:path";
import fs from "node:fs";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const { chromium } = require(path.join(root, "node_modules/playwright-core"));

const url = process.env.VIGIL_URL, tok = process.env.VIGIL_TOKEN;
const out = process.env.VIGIL_ARTIFACTS || ".";
const which = process.argv[2] || "page";
fs.mkdirSync(out, { recursive: true });
const figures = {};
const t0 = Date.now();
function log(...a) { console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a); }
function check(cond, msg) { if (!cond) throw new Error(msg); }

const args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage"];
if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args });
let page;
if (which === "paint") {
  // first paint of fresh loads (a new context each: nothing cached), and when the services
  // table was first drawn, the token already in the tab
  const fcp = [], services = [];
  for (let i = 0; i < 10; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript(t => sessionStorage.setItem("vigil.token", t), tok);
    const p = await ctx.newPage();
    await p.goto(url + "/", { waitUntil: "load" });
    await p.waitForFunction(() => performance.getEntriesByName("vigil-services").length > 0, null, { timeout: 10000 });
    const [f, s] = await p.evaluate(() => [performance.getEntriesByName("first-contentful-paint")[0].startTime,
      performance.getEntriesByName("vigil-services")[0].startTime]);
    fcp.push(Math.round(f)); services.push(Math.round(s));
    await ctx.close();
  }
  const med = a => a.slice().sort((x, y) => x - y)[a.length >> 1];
  figures.first_paint_ms = { min: Math.min(...fcp), median: med(fcp), max: Math.max(...fcp), runs: fcp };
  figures.services_drawn_ms = { min: Math.min(...services), median: med(services), max: Math.max(...services), runs: services };
  console.log(JSON.stringify(figures));
  await browser.close();
  process.exit(0);
}
try {
  const ctx = await browser.newContext({
    viewport: which === "narrow" ? { width: 390, height: 800 } : { width: 1280, height: 900 },
    colorScheme: which === "narrow" ? "dark" : "light",
  });
  page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  // refused calls (the wrong token, optional views answering 404) are logged by the browser
  page.on("console", m => { if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });

  if (which === "shapes") {
    // The monitor's and failover's routes are built by other branches: the page is
    // checked against the shapes agreed in the notes, answered here by the browser
    // itself; and the stream is refused, so the page must poll.
    const now = new Date().toISOString();
    const json = body => route => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
    await page.route("**/api/v1/events", route => route.fulfill({ status: 503, contentType: "application/json",
      body: '{"error": "too many event streams open on this listener; poll instead"}' }));
    await page.route("**/api/v1/health", json({ status: "degraded", evaluated_at: now,
      reasons: [{ check: "staleness", severity: "warning", category: "feed", key: "fx,sym=EUR-USD.price", message: "no update for 12 s (limit 5 s)" }],
      counts: { present: 40, expected: 41, stale: 1, missing: 0, firing: 1 },
      history: [{ at: now, status: "healthy", reasons: [] }, { at: now, status: "degraded", reasons: [{ message: "stale" }] }] }));
    await page.route("**/api/v1/alerts*", json({ alerts: [
      { id: "a1", check: "staleness", key: "fx,sym=EUR-USD.price", severity: "warning", category: "feed",
        message: "no update for 12 s", details: {}, state: "firing", started_at: now, ended_at: null },
      { id: "a0", check: "gap", key: "kraken_ticks,sym=XBT0001.seq", severity: "info", category: "feed",
        message: "4 missed", details: {}, state: "resolved", started_at: now, ended_at: now }] }));
    await page.route("**/api/v1/failover", json({ node: "desk-a", role: "active", holder: "desk-a", token: 42,
      lease: { backend: "redis", ttl_ms: 3000, expires_in_ms: 2100 },
      last_transition: { at: now, from: "standby", to: "active", duration_ms: 812, reason: "lease acquired" } }));
  }

  // the page asks for the token once, then keeps it for the tab
  await page.goto(url + "/", { waitUntil: "load" });
  figures.first_paint_ms = await page.evaluate(() => {
    const p = performance.getEntriesByName("first-contentful-paint")[0] || performance.getEntriesByName("first-paint")[0];
    return p ? Math.round(p.startTime) : null;
  });
  figures.js_bytes = await page.evaluate(async () => {
    let n = 0;
    for (const s of document.querySelectorAll("script[src]")) n += (await (await fetch(s.src)).arrayBuffer()).byteLength;
    return n;
  });
  await page.locator("#login").waitFor({ state: "visible" });
  await page.fill("#token", "wrong-token-0123456789");
  await page.press("#token", "Enter");
  await page.locator("#login-error").filter({ hasText: "refused" }).waitFor({ timeout: 10000 });
  log("a wrong token is refused and asked again");
  await page.fill("#token", tok);
  await page.press("#token", "Enter");
  await page.locator("#services tbody tr").first().waitFor({ timeout: 10000 });

  const services = await page.$$eval("#services tbody tr", rows => rows.map(r => r.dataset.name));
  figures.services = services;
  log("services shown:", services.join(" "));

  if (which === "page") {
    const want = JSON.parse(process.env.VIGIL_SERVICES || "[]");
    for (const s of want) check(services.includes(s), `service ${s} not shown (shown: ${services})`);
    await page.locator("#live.on").waitFor({ timeout: 10000 });
    log("the events stream is live");
    for (const [view, route] of [["health", "/api/v1/health"], ["failover", "/api/v1/failover"]]) {
      const code = await page.evaluate(async r => (await fetch(r, { headers: { Authorization: "Bearer " + sessionStorage.getItem("vigil.token") } })).status, route);
      if (code === 404) {
        await page.waitForTimeout(500);
        check(await page.locator("#" + view).isHidden(), `${view} shown while ${route} answers 404`);
      }
    }

    // restart: the button, then the count goes up (admin restarts count on the page)
    const row = page.locator('#services tr[data-name="strategy"]');
    await row.locator('[data-state]').count();
    await page.waitForFunction(() => document.querySelector('#services tr[data-name="strategy"]').dataset.state === "ready",
      null, { timeout: 30000 });
    const before = Number(await row.locator("td.restarts").getAttribute("data-total"));
    const pidBefore = await page.evaluate(() => vigil.status.services.find(s => s.name === "strategy").pid);
    await row.locator('button[data-action="restart"]').click();
    await page.waitForFunction(b => Number(document.querySelector('#services tr[data-name="strategy"] td.restarts').dataset.total) > b,
      before, { timeout: 30000 });
    await page.waitForFunction(p => { const s = vigil.status.services.find(s => s.name === "strategy");
      return s.state === "ready" && s.pid && s.pid !== p; }, pidBefore, { timeout: 30000 });
    log(`restart button: strategy restarted (count ${before} -> ${before + 1}, new pid)`);

    // a feed's rate chart draws points (one a second from the stream)
    await page.locator("#feed-kraken").waitFor({ timeout: 10000 });
    await page.waitForFunction(() => vigil.feedCharts.kraken && vigil.feedCharts.kraken.data[0].length >= 3 &&
      vigil.feedCharts.kraken.data[1].some(v => v > 0), null, { timeout: 30000 });
    figures.kraken_points = await page.evaluate(() => vigil.feedCharts.kraken.data[0].length);
    const canvas = await page.locator("#feed-kraken canvas").count();
    check(canvas > 0, "no canvas in the kraken card");
    log("kraken's rate chart has", figures.kraken_points, "points");

    // the compute grid shows the demo's cells
    await page.locator("#grid td.cell").first().waitFor({ timeout: 15000 });
    const cells = await page.$$eval("#grid td.cell", tds => tds.map(t => t.dataset.state));
    const calcs = await page.$$eval("#grid thead th", ths => ths.slice(1).map(t => t.textContent));
    figures.grid = { cells: cells.length, calcs, states: [...new Set(cells)].sort() };
    const wantCells = Number(process.env.VIGIL_GRID_CELLS || 0);
    check(cells.length === wantCells, `grid has ${cells.length} cells, expected ${wantCells}`);
    const wantStates = JSON.parse(process.env.VIGIL_GRID_STATES || "[]");
    for (const s of wantStates) check(cells.includes(s), `no ${s} cell in the grid: ${figures.grid.states}`);
    const title = await page.locator("#grid td.cell button").first().getAttribute("title");
    check(/last attempt|never attempted/.test(title), "a cell's hover says nothing of its last attempt: " + title);
    log("compute grid:", cells.length, "cells", figures.grid.states.join(","));

    // the store view and the query explorer chart data
    await page.locator("#store:not([hidden])").waitFor({ timeout: 15000 });
    await page.fill('#explorer input[name="q"]', "tick");
    await page.fill('#explorer input[name="field"]', "price");
    await page.selectOption('#explorer select[name="from"]', "-7d");
    await page.click("#find");
    await page.locator("#series-list button").first().waitFor({ timeout: 15000 });
    await page.locator("#series-list button").first().click();
    await page.waitForFunction(() => vigil.queryChart && vigil.queryChart.data[0].length > 0, null, { timeout: 15000 });
    figures.query_points = await page.evaluate(() => vigil.queryChart.data[0].length);
    log("query explorer charted", figures.query_points, "points");

    // keyboard: the restart buttons are reachable with Tab
    await page.focus('#services tr[data-name="bridge"] button[data-action="start"]');
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement.dataset.action);
    check(focused === "stop", "Tab from start did not reach stop: " + focused);

    await page.screenshot({ path: path.join(out, "page.png"), fullPage: true });
  } else if (which === "narrow") {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    figures.scroll_width = width;
    check(width <= 390, `the page is ${width} px wide on a 390 px screen`);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    figures.dark_background = bg;
    check(bg === "rgb(13, 17, 23)", "dark mode not applied: " + bg);
    await page.screenshot({ path: path.join(out, "narrow-dark.png"), fullPage: true });
  } else if (which === "shapes") {
    await page.locator("#health:not([hidden])").waitFor({ timeout: 15000 });
    check(await page.textContent("#health-state") === "degraded", "health state not shown");
    check((await page.textContent("#health-reasons")).includes("no update for 12 s (limit 5 s)"), "health reason not shown");
    check((await page.textContent("#health-counts")).includes("stale 1"), "health counts not shown");
    check(await page.locator("#alerts li").count() === 1, "not exactly the one firing alert");
    check((await page.textContent("#alerts")).includes("fx,sym=EUR-USD.price"), "firing alert's key not shown");
    check(await page.locator("#timeline span").count() === 2, "timeline not drawn");
    check((await page.textContent("#alert-history")).includes("4 missed"), "ended alert not in the history");
    await page.locator("#failover:not([hidden])").waitFor({ timeout: 15000 });
    const fo = await page.textContent("#failover-info");
    for (const w of ["desk-a", "active", "42", "redis", "standby → active", "lease acquired"])
      check(fo.includes(w), `failover view lacks ${w}: ${fo}`);
    check(!(await page.locator('nav a[data-view="health"]').isHidden()), "health link hidden");
    // polling: the stream is refused, yet a change shows
    await page.locator("#live.off").filter({ hasText: "polling" }).waitFor({ timeout: 15000 });
    const before = Number(await page.getAttribute('#services tr[data-name="reporter"] td.restarts', "data-total"));
    await page.click('#services tr[data-name="reporter"] button[data-action="restart"]');
    await page.waitForFunction(b => Number(document.querySelector('#services tr[data-name="reporter"] td.restarts').dataset.total) > b,
      before, { timeout: 15000 });
    log("health, alerts, failover drawn from the agreed shapes; polling when the stream is refused");
    await page.screenshot({ path: path.join(out, "shapes.png"), fullPage: true });
  } else if (which === "alert") {
    const service = process.env.VIGIL_STOP_SERVICE, key = process.env.VIGIL_ALERT_KEY;
    const within = Number(process.env.VIGIL_ALERT_WITHIN_MS || 60000);
    await page.locator("#health:not([hidden])").waitFor({ timeout: 15000 });
    const row = page.locator(`#services tr[data-name="${service}"]`);
    /* the alert must be the stop's doing: none about the key before it */
    check(!(await page.textContent("#alerts")).includes(key), `an alert about ${key} before ${service} stopped`);
    const t = Date.now();
    await row.locator('button[data-action="stop"]').click();
    await page.waitForFunction(k => [...document.querySelectorAll("#alerts li")].some(li => li.textContent.includes(k)),
      key, { timeout: within });
    figures.alert_after_ms = Date.now() - t;
    log("alert about", key, "shown", figures.alert_after_ms, "ms after stopping", service);
    await page.screenshot({ path: path.join(out, "alert.png"), fullPage: true });
    await row.locator('button[data-action="start"]').click();
  }
  check(errors.length === 0, "errors in the page: " + errors.join("; "));
  console.log(JSON.stringify(figures));
} catch (e) {
  if (page) await page.screenshot({ path: path.join(out, `failed-${which}.png`), fullPage: true }).catch(() => {});
  console.error("FAIL:", e.message);
  console.log(JSON.stringify(figures));
  process.exitCode = 1;
} finally {
  await browser.close();
}
