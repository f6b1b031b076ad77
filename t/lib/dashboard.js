// dashboard.js — drives the comqtt dashboard in headless Chromium
// (playwright-core, Debian's /usr/bin/chromium) for t/605_admin_dashboard.t.
//
// Usage: node dashboard.js '<json: url, token, client, subscriber,
//        topic, shots (directory), chromium>'
// Prints one JSON object per line: {"step": name, ...facts}; the Python
// test asserts on them.  Every wait has a timeout; the browser is closed
// whatever happens, and the process exits non-zero on an exception.
"use strict";

const path = require("path");
const { chromium } = require("playwright-core");

const args = JSON.parse(process.argv[2]);
const T = 15000;

function out(step, facts) {
  process.stdout.write(JSON.stringify(Object.assign({ step }, facts)) + "\n");
}

async function canvasInk(page, id) {
  // Pixels that are not transparent: the chart drew its grid and lines.
  return page.$eval(id, (c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  });
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
  // Two samples make a line on the charts.
  await page.waitForFunction(() => document.querySelectorAll(
    "#workers-table tbody tr").length > 0, null, { timeout: T });
  await page.waitForTimeout(4500);
  const figures = await page.$$eval("#figures .figure", (fs) =>
    fs.map((f) => [f.querySelector(".label").textContent,
      f.querySelector(".value").textContent]));
  out("overview", {
    figures: Object.fromEntries(figures),
    workers: await page.$$eval("#workers-table tbody tr", (r) => r.length),
    inkMessages: await canvasInk(page, "#chart-messages"),
    inkConnections: await canvasInk(page, "#chart-connections"),
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
  const browser = await chromium.launch({
    executablePath: args.chromium, headless: true, timeout: T,
    args: ["--headless", "--no-sandbox", "--disable-gpu",
      "--disable-background-networking", "--disable-component-update",
      "--no-first-run"],
  });
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
