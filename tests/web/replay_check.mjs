// Drives Debian's chromium (through playwright-core) for tests/api/replay.rs:
// opens the reader's page and follows its replay link, waits until ReplayWeb.page shows the
// archived page (a frame under /replay/w/ holding `expect`), opens the
// embed's receipt ("This embed is part of a web archive...") and reports what
// a reader reads there, every shadow root included.
//
// stdin: {"chromium", "url", "click" (a link's name to follow first, or
//   null), "expect", "shot"}
// stdout: {"replayed", "elapsed_ms" (from the first navigation to the
//   archived page shown), "frame_url", "page_text", "receipt", "final_url",
//   "errors", "verification", "archive_check": {"state", "reason", "text"}}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const input = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(process.env.SOURCELEDGER_TEST_BROWSER_TOOLS + '/');
const { chromium } = require('playwright-core');

// The text of a node and of every shadow root under it.
const deepText = (root) => {
  let text = '';
  const walk = (node) => {
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) {
      if (child.nodeType === 3) text += child.textContent + ' ';
      else walk(child);
    }
  };
  walk(root);
  return text.replace(/\s+/g, ' ');
};

const browser = await chromium.launch({
  executablePath: input.chromium,
  args: ['--no-sandbox', '--disable-gpu'],
});
const errors = [];
const out = { replayed: false, frame_url: null, page_text: '', receipt: '', final_url: null, errors };
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1300 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  context.on('response', (r) => { if (r.status() >= 400) errors.push(r.status() + ' ' + r.url()); });
  const started = Date.now();
  await page.goto(input.url);
  if (input.click) {
    // The reader's own click, on the link the page shows.
    await page.getByRole('link', { name: input.click }).first().click();
    await page.waitForURL(/\/replay\?access=/, { timeout: 20000 });
  }
  out.final_url = page.url();
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && !out.replayed) {
    for (const frame of page.frames()) {
      if (!frame.url().includes('/replay/w/')) continue;
      try {
        const text = await frame.evaluate(() => document.body ? document.body.innerText : '');
        if (text.includes(input.expect)) {
          out.replayed = true;
          out.elapsed_ms = Date.now() - started;
          out.frame_url = frame.url();
          out.page_text = text;
        }
      } catch (e) { /* the frame is navigating */ }
    }
    if (!out.replayed) await page.waitForTimeout(250);
  }
  // The replay page's own check of the archive (wacz_check.js).
  await page.waitForFunction(() => {
    const s = document.getElementById('archive-check');
    return s && ['verified', 'failed'].includes(s.getAttribute('data-state'));
  }, null, { timeout: 60000 }).catch((e) => errors.push('archive check: ' + e));
  out.archive_check = await page.evaluate(() => {
    const s = document.getElementById('archive-check');
    return s && { state: s.getAttribute('data-state'), reason: s.getAttribute('data-reason'), text: s.textContent };
  });
  // The receipt, as a reader opens it (again, while verification goes on).
  const openReceipt = async () => {
    for (const frame of page.frames()) {
      const button = frame.getByText('This embed is part of a web archive');
      if (await button.count().catch(() => 0)) {
        await button.first().click().catch((e) => errors.push('receipt: ' + e));
        return;
      }
    }
  };
  await openReceipt();
  const until = Date.now() + 20000;
  let reopened = Date.now();
  while (Date.now() < until) {
    if (Date.now() - reopened > 4000) {
      // Closed and opened again: the receipt as it stands now.
      await openReceipt();
      await openReceipt();
      reopened = Date.now();
    }
    let all = '';
    for (const frame of page.frames()) {
      if (frame.url().includes('/replay/w/')) continue;
      all += await frame.evaluate(`(${deepText.toString()})(document.documentElement)`).catch(() => '') + ' ';
    }
    out.receipt = all;
    // Verification goes on while the package is read: wait until it is
    // done (nothing invalid) or the time is up.
    if (/hashes verified/.test(all) && !/invalid/.test(all)) break;
    await page.waitForTimeout(250);
  }
  // What wabac.js recorded of each check (its "verification" store), as
  // the receipt counts them.
  out.verification = await page.evaluate(async () => {
    const rows = [];
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((ok, ko) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = ko; });
      if (db.objectStoreNames.contains('verification')) {
        const all = await new Promise((ok, ko) => { const r = db.transaction('verification').objectStore('verification').getAll(); r.onsuccess = () => ok(r.result); r.onerror = ko; });
        rows.push(...all);
      }
      db.close();
    }
    return rows;
  }).catch((e) => String(e));
  if (input.shot) await page.screenshot({ path: input.shot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
