// browser.js — load a page in headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core) and print what it reports.
//
//   node browser.js PAGE_URL [TIMEOUT_MS]
//
// Waits until the page sets window.result, prints it as one JSON line
// (with the browser's user agent), closes the browser.  Errors become
// {"ok": false, "error": ...}.
'use strict';
const chromium = require('./chromium');

const [pageUrl, timeoutText] = process.argv.slice(2);
const timeout = Number(timeoutText || 30000);

(async () => {
  let report;
  const browser = await chromium.launch(timeout);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => process.stderr.write('console: ' +
                                                   m.text() + '\n'));
    await page.goto(pageUrl);
    await page.waitForFunction(() => window.result !== null, null,
                               {timeout});
    report = await page.evaluate(() => window.result);
    report.userAgent = await page.evaluate(() => navigator.userAgent);
  } catch (e) {
    report = {ok: false, error: String(e)};
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report) + '\n');
  process.exit(report.ok ? 0 : 1);
})();
