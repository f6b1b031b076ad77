// chromium.js — Debian's Chromium (/usr/bin/chromium), headless, through
// playwright-core, with the flags every browser test uses: no sandbox
// (the tests may run as root), nothing fetched in the background.
'use strict';
const {chromium} = require('playwright-core');

exports.EXECUTABLE = '/usr/bin/chromium';

// A launched browser; timeoutMs bounds the launch itself.
exports.launch = (timeoutMs) => chromium.launch({
  executablePath: exports.EXECUTABLE,
  headless: true,
  timeout: timeoutMs,
  args: ['--headless', '--no-sandbox', '--disable-gpu',
         '--disable-background-networking', '--disable-component-update',
         '--no-first-run'],
});
