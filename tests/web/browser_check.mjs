// Drives Debian's chromium (through playwright-core, no downloaded browser)
// for tests/api/panel.rs: visits each page it is given, waits for the source
// panel or the source page to settle, and reports what a reader would see, the
// accessibility findings of axe-core, and the verification time the page itself
// measured (the "sourceledger:verify" Performance API measure). A visit may
// alter the list in transit (page.route): one URL, one proof hash, or the
// checkpoint replaced by one signed with another key.
//
// stdin: {"chromium", "shots", "axe", "visits": [{"name", "url", "kind":
//   "panel"|"page", "tamper": null|"url"|"proof"|"checkpoint", "checkpoint",
//   "before": [URL visited first in the same browser], "axe"}]}
// stdout: [{"name", "state", "reason", "text", "hrefs", "violations", "verify_ms"}]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const input = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(process.env.SOURCELEDGER_TEST_BROWSER_TOOLS + '/');
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

function tamper(list, how, checkpoint) {
  const first = list.citations && list.citations[0];
  if (how === 'url') first.source.url = first.source.url.replace('https://', 'https://evil.');
  if (how === 'proof') {
    const proof = first.proof.source.proof;
    proof[0] = (proof[0][0] === '0' ? '1' : '0') + proof[0].slice(1);
  }
  if (how === 'checkpoint') list.checkpoint = checkpoint;
  return list;
}

async function settle(page, kind) {
  if (kind === 'panel') {
    await page.waitForFunction(() => {
      const host = document.querySelector('[data-sourceledger]');
      return host && host.getAttribute('data-state') && host.getAttribute('data-state') !== 'loading';
    }, null, { timeout: 20000 });
    return page.evaluate(() => {
      const host = document.querySelector('[data-sourceledger]');
      const root = host.shadowRoot;
      return {
        state: host.getAttribute('data-state'),
        reason: host.getAttribute('data-reason'),
        text: root ? root.textContent : '',
        html: root ? root.innerHTML : '',
        hrefs: root ? Array.from(root.querySelectorAll('a[href]'), (a) => a.getAttribute('href')) : [],
        // The host page hides every h2 and h3 of its own: not the panel's.
        heading_display: root && root.querySelector('h2') ? getComputedStyle(root.querySelector('h2')).display : null,
      };
    });
  }
  await page.waitForFunction(() => {
    const status = document.getElementById('sourceledger-status');
    return !status || ['verified', 'failed'].includes(status.getAttribute('data-state'));
  }, null, { timeout: 20000 });
  return page.evaluate(() => {
    const status = document.getElementById('sourceledger-status');
    return {
      state: status ? status.getAttribute('data-state') : 'teaser',
      reason: status ? status.getAttribute('data-reason') : null,
      text: document.body.textContent,
      html: document.body.innerHTML,
      hrefs: Array.from(document.querySelectorAll('main a[href]'), (a) => a.getAttribute('href')),
    };
  });
}

const browser = await chromium.launch({
  executablePath: input.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = [];
try {
  for (const visit of input.visits) {
    // axe-core is put into the page by the test, not by the page: the page's
    // own CSP would (rightly) refuse it.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1000, height: 1200 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    if (visit.tamper) {
      await page.route('**/v1/articles/*/sources*', async (route) => {
        const response = await route.fetch();
        const list = tamper(await response.json(), visit.tamper, visit.checkpoint);
        await route.fulfill({ response, json: list });
      });
    }
    // Pages to pass through first in the same browser (a sign-in link).
    for (const url of visit.before || []) await page.goto(url);
    await page.goto(visit.url);
    const seen = await settle(page, visit.kind);
    await page.screenshot({ path: `${input.shots}/${visit.name}.png`, fullPage: true });
    let violations = [];
    if (visit.axe ?? input.axe) {
      await page.evaluate(axeSource);
      const report = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
      violations = report.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target) }));
    }
    const verify = await page.evaluate(() =>
      performance.getEntriesByName('sourceledger:verify').map((m) => m.duration));
    results.push({ name: visit.name, ...seen, violations, errors, verify_ms: verify.length ? verify[0] : null });
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
