// Drives Debian's chromium (through playwright-core) to pages that need no
// script of theirs and reports, for each, what axe-core finds, the console's
// errors under the page's own CSP (a refused resource is one), the first
// heading and the page's text.
//
// stdin: {"chromium", "visits": [{"name", "url"}]}
// stdout: [{"name", "status", "violations", "console", "h1", "text"}]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const input = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(process.env.SOURCELEDGER_TEST_BROWSER_TOOLS + '/');
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const browser = await chromium.launch({ executablePath: input.chromium, args: ['--no-sandbox'] });
const results = [];
try {
  for (const visit of input.visits) {
    // First as a reader's browser sees it, under the page's own CSP: every
    // console error (a refused resource is one) is reported.
    const strict = await browser.newContext();
    const page = await strict.newPage();
    const console = [];
    // A failed load is reported by its URL below; the browser's own ask
    // for /favicon.ico is not the page's.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) console.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) console.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => console.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
    page.on('pageerror', (e) => console.push(String(e)));
    const response = await page.goto(visit.url, { waitUntil: 'load' });
    const h1 = await page.evaluate(() => document.querySelector('h1')?.textContent ?? null);
    const text = await page.evaluate(() => document.body.innerText);
    await strict.close();
    // Then axe-core, put into the page by the test (the page's CSP would
    // rightly refuse it): a context that bypasses the CSP.
    const loose = await browser.newContext({ bypassCSP: true });
    const checked = await loose.newPage();
    await checked.goto(visit.url, { waitUntil: 'load' });
    await checked.evaluate(axeSource);
    const axe = await checked.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    await loose.close();
    results.push({
      name: visit.name,
      status: response ? response.status() : 0,
      violations: axe.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html).slice(0, 3) })),
      console,
      h1,
      text,
    });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
