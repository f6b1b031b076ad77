// dashboard.js — drives the comqtt dashboard in headless Chromium
// (playwright-core, Debian's /usr/bin/chromium) for t/605_admin_dashboard.t.
//
// Usage: node dashboard.js '<json: url, token, client, subscriber,
//        topic, shots (directory)>'
// Prints one JSON object per line: {"step": name, ...facts}; the Python
// test asserts on them.  Every wait has a timeout; the browser is closed
// whatever happens, and the process exits non-zero on an exception.
"use strict";

const path = require("path");
const chromium = require("./chromium");

const args = JSON.parse(process.argv[2]);
const T = 15000;

function out(step, facts) {
  process.stdout.write(JSON.stringify(Object.assign({ step }, facts)) + "\n");
}

async function canvasInk(page, id, colorVar) {
  // Pixels of one series' colour (a CSS variable of the page) above the
  // zero line (app.js draws it 15 px above the bottom): the chart drew a
  // value above 0, not just its grid.
  return page.$eval(id, (c, v) => {
    const hex = getComputedStyle(document.documentElement)
      .getPropertyValue(v).trim();
    const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const h = c.height - 15 - 3;
    const d = c.getContext("2d").getImageData(0, 0, c.width, h).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 200 && want.every((w, k) => Math.abs(d[i + k] - w) < 40))
        n++;
    }
    return n;
  }, colorVar);
}

async function run(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(args.url, { timeout: T });
  await page.waitForSelector("#login:not(.hidden)", { timeout: T });
  out("login-shown", { title: await page.title() });
  await page.screenshot({ path: path.join(args.shots, "1-login.png") });

  await page.fill("#login-token", "wrong");
  await page.click("#login-form button");
  await page.waitForFunction(() =>
    document.getElementById("login-error").textContent !== "",
  null, { timeout: T });
  out("wrong-token", { error: await page.textContent("#login-error") });

  await page.fill("#login-token", args.token);
  await page.click("#login-form button");
  await page.waitForSelector("#figures .figure", { timeout: T });
  await page.waitForFunction(() => document.querySelectorAll(
    "#workers-table tbody tr").length > 0, null, { timeout: T });
  // Three samples (one every 2 s) make two rates: a line on each chart.
  // eslint-disable-next-line no-undef
  await page.waitForFunction(() => state.samples.length >= 3, null,
    { timeout: T });
  const figures = await page.$$eval("#figures .figure", (fs) =>
    fs.map((f) => [f.querySelector(".label").textContent,
      f.querySelector(".value").textContent]));
  out("overview", {
    figures: Object.fromEntries(figures),
    workers: await page.$$eval("#workers-table tbody tr", (r) => r.length),
    inkReceived: await canvasInk(page, "#chart-messages", "--in"),
    inkConnections: await canvasInk(page, "#chart-connections", "--conn"),
  });
  await page.screenshot({ path: path.join(args.shots, "2-overview.png"),
    fullPage: true });

  await page.click("button[data-tab=clients]");
  const rowSel = `#clients-table tr[data-client-id="${args.client}"]`;
  await page.waitForSelector(rowSel, { timeout: T });
  const cells = await page.$$eval(rowSel + " td", (t) =>
    t.map((c) => c.textContent));
  out("client-row", { cells });
  await page.click(rowSel);
  await page.waitForSelector("#client-detail:not(.hidden)", { timeout: T });
  out("client-detail", {
    title: await page.textContent("#client-detail-title"),
    subs: await page.$$eval("#client-subs-table tbody tr td:first-child",
      (t) => t.map((c) => c.textContent)),
  });
  await page.screenshot({ path: path.join(args.shots, "3-clients.png"),
    fullPage: true });

  await page.click(rowSel + " button.kick");
  await page.waitForFunction((sel) => {
    const r = document.querySelector(sel);
    return r && r.children[1].textContent === "no" || !r;
  }, rowSel, { timeout: T }).catch(() => {});
  const after = await page.$(rowSel);
  out("kicked", { online: after ? await after.$eval("td:nth-child(2)",
    (c) => c.textContent) : "gone", status: await page.textContent("#status") });
  await page.screenshot({ path: path.join(args.shots, "4-kicked.png"),
    fullPage: true });

  await page.click("button[data-tab=publish]");
  await page.fill("#publish-topic", args.topic);
  await page.fill("#publish-payload", "from the dashboard");
  await page.selectOption("#publish-qos", "1");
  await page.click("#publish-form button");
  await page.waitForFunction(() =>
    document.getElementById("publish-result").textContent !== "",
  null, { timeout: T });
  out("published", { result: await page.textContent("#publish-result") });

  await page.click("button[data-tab=blacklist]");
  await page.fill("#blacklist-id", "dash/banned");
  await page.click("#blacklist-form button");
  await page.waitForFunction(() => [...document.querySelectorAll(
    "#blacklist-table td")].some((c) => c.textContent === "dash/banned"),
  null, { timeout: T });
  out("blacklisted", { ids: await page.$$eval(
    "#blacklist-table tbody tr td:first-child", (t) =>
      t.map((c) => c.textContent)) });

  await page.click("button[data-tab=config]");
  await page.waitForFunction(() =>
    document.getElementById("config-text").textContent.length > 10,
  null, { timeout: T });
  const cfg = JSON.parse(await page.textContent("#config-text"));
  out("config", { workers: cfg.workers, token: cfg.admin.token });
  out("errors", { errors });
}

(async () => {
  const browser = await chromium.launch(T);
  let code = 0;
  try {
    const page = await browser.newPage({ viewport: { width: 1280,
      height: 800 } });
    await run(page);
  } catch (e) {
    out("exception", { message: String(e && e.stack || e) });
    code = 1;
  } finally {
    await browser.close();
  }
  process.exit(code);
})();
