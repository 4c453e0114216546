// Drives the editor's desk in a real browser for tests/api/desk_browser.rs:
// Debian's chromium through playwright-core, or Debian's firefox-esr through
// puppeteer-core over WebDriver BiDi; no browser is downloaded. Every field
// is found by its label and every button and link by its role and accessible
// name, never by CSS selector or id, so the flow fails when a label or a name
// goes missing.
//
// Each pass signs in with a journalist's API key, makes an article, records
// two sources and cites both, signs out, signs in as an editor, verifies one
// citation and retracts the other, publishes, and then opens the reader's
// page with the source panel in a fresh (reader's) browser context.
//
// Passes ("mode"):
//   audit     by role and label, with axe-core and a screenshot of every desk
//             page visited (and a phone-width and a print rendering);
//   timed     the same, with nothing else: wall time and requests counted;
//   keyboard  Tab / Shift+Tab, typing, Enter and Space only (chromium);
//   nojs      by role and label in a context with JavaScript off (chromium);
//   admin, drift  API keys and platforms; the drift queue (desk_admin.mjs).
//
// stdin: {"engine": "chromium"|"firefox", "executable", "tools", "shots",
//   "prefix", "base", "journalist_key", "editor_key", "admin_key",
//   "passes": [{"mode", "article": {"title", "slug", "url", "language",
//     "authors"}, "sources": [{"url", "title", "publisher", "kind",
//     "claim", "quote", "locator"}], "reason", "panel_url"}]}
// stdout: [{"mode", "pages": [{"name", "status", "title", "violations"}],
//   "focus": [{"step", "path"}], "kinds": [..], "desk": {"main", "verified",
//   "retracted"}, "panel": {"state", "reason", "cited", "retracted"},
//   "phone": {...}, "print": {...}, "wall_ms", "requests", "panel_requests",
//   "request_kinds": {"METHOD type": n} (chromium), "desk_ms", "panel_ms",
//   "documents_ms", "skip": {"first", "in_main"} (keyboard), "unringed": [focused names with no visible outline],
//   "dialogs": [confirm questions accepted], "errors"}]
//   (admin and drift passes: as desk_admin.mjs says)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { admin, drift } from './desk_admin.mjs';

const input = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(input.tools + '/');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const TIMEOUT = 20000;

// ---------------------------------------------------------------------------
// What a flow needs of a browser, once per driver library.

/** playwright-core (chromium). */
function playwrightUi(page) {
  const scopeOf = (scope) => scope || page;
  const settled = async (act) => {
    const loaded = page.waitForEvent('load', { timeout: TIMEOUT });
    await act();
    await loaded;
  };
  return {
    page,
    goto: async (url) => (await page.goto(url, { waitUntil: 'load' })).status(),
    fill: (scope, label, value) => scopeOf(scope).getByLabel(label, { exact: true }).fill(value),
    choose: (label, value) => page.getByLabel(label, { exact: true }).selectOption(value),
    value: (label) => page.getByLabel(label, { exact: true }).inputValue(),
    href: (name) => page.getByRole('link', { name, exact: true }).getAttribute('href'),
    cookies: () => page.context().cookies(),
    press: (scope, name) => settled(() => scopeOf(scope).getByRole('button', { name, exact: true }).click()),
    follow: (name) => settled(() => page.getByRole('link', { name, exact: true }).click()),
    heading: (name) => page.getByRole('heading', { name, exact: true }).waitFor({ timeout: TIMEOUT }),
    item: async (text) => page.getByRole('listitem').filter({ hasText: text }),
    text: (scope) => (scope || page.getByRole('main')).innerText(),
    title: () => page.title(),
    shot: (path, fullPage = true) => page.screenshot({ path, fullPage }),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    until: (fn) => page.waitForFunction(fn, null, { timeout: TIMEOUT }),
  };
}

/** puppeteer-core (firefox over WebDriver BiDi): ARIA queries (`::-p-aria`). */
function puppeteerUi(page) {
  const aria = (name, role) =>
    `::-p-aria([name=${JSON.stringify(name)}]${role ? `[role=${JSON.stringify(role)}]` : ''})`;
  const one = async (scope, selector, keep = () => true) => {
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const found = [];
      for (const handle of await (scope || page).$$(selector)) {
        if (await keep(handle)) found.push(handle);
      }
      if (found.length === 1) return found[0];
      if (found.length > 1) throw new Error(`${found.length} elements match ${selector}`);
      if (Date.now() > deadline) throw new Error(`nothing matches ${selector}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // A label names a form control; a table's column may carry the same word.
  const control = (handle) => handle.evaluate((e) => ['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName));
  const settled = async (act) => {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: TIMEOUT }), act()]);
  };
  return {
    page,
    goto: async (url) => (await page.goto(url, { waitUntil: 'load' })).status(),
    fill: async (scope, label, value) => {
      const field = await one(scope, aria(label), control);
      await field.evaluate((e) => e.select());
      await field.type(value);
    },
    choose: async (label, value) => (await one(null, aria(label), control)).select(value),
    value: async (label) => (await one(null, aria(label), control)).evaluate((e) => e.value),
    href: async (name) => (await one(null, aria(name, 'link'))).evaluate((e) => e.getAttribute('href')),
    cookies: () => page.browserContext().cookies(),
    press: async (scope, name) => {
      const button = await one(scope, aria(name, 'button'));
      await settled(() => button.click());
    },
    follow: async (name) => {
      const link = await one(null, aria(name, 'link'));
      await settled(() => link.click());
    },
    heading: (name) => one(null, aria(name, 'heading')),
    item: (text) => one(null, '::-p-aria([role="listitem"])', (h) => h.evaluate((e, t) => e.textContent.includes(t), text)),
    text: async (scope) => (scope || (await one(null, '::-p-aria([role="main"])'))).evaluate((e) => e.innerText),
    title: () => page.title(),
    shot: (path, fullPage = true) => page.screenshot({ path, fullPage }),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    until: (fn) => page.waitForFunction(fn, { timeout: TIMEOUT }),
  };
}

// ---------------------------------------------------------------------------
// Checks on a page.

/** axe-core's serious and critical findings on the page as it is now. */
async function axe(ui) {
  await ui.evaluate(axeSource);
  const report = await ui.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return report.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target) }));
}

/** What the reader's panel shows once it has settled. */
async function panel(ui, url) {
  await ui.goto(url);
  await ui.until(() => {
    const host = document.querySelector('[data-sourceledger]');
    const state = host && host.getAttribute('data-state');
    return Boolean(state && state !== 'loading');
  });
  return ui.evaluate(() => {
    const host = document.querySelector('[data-sourceledger]');
    const root = host.shadowRoot;
    const items = (selector) => (root ? Array.from(root.querySelectorAll(selector), (li) => li.textContent) : []);
    return {
      state: host.getAttribute('data-state'),
      reason: host.getAttribute('data-reason'),
      cited: items('ol:not(.retracted) > li'),
      retracted: items('ol.retracted > li'),
    };
  });
}

// ---------------------------------------------------------------------------
// The flow by role and label (audit, timed, nojs).

async function byRole(ui, pass, out, audit) {
  const { article, sources } = pass;
  const base = input.base;
  out.pages.push({ name: 'login', status: await ui.goto(`${base}/desk`) });
  await audit('login');
  if (audit.enabled) {
    await ui.fill(null, 'API key', 'sl_not-a-key');
    await ui.press(null, 'Sign in');
    await audit('login-refused');
  }
  await ui.fill(null, 'API key', input.journalist_key);
  await ui.press(null, 'Sign in');
  await audit('articles');

  await ui.fill(null, 'Title', article.title);
  await ui.fill(null, 'Slug', article.slug);
  await ui.fill(null, 'Article URL', article.url);
  await ui.fill(null, 'Language', article.language);
  await ui.fill(null, 'Authors', article.authors);
  await ui.press(null, 'Create article');
  await ui.heading(article.title);
  await audit('article-new');

  for (const [i, source] of sources.entries()) {
    await ui.fill(null, 'URL', source.url);
    await ui.fill(null, 'Title', source.title);
    await ui.fill(null, 'Publisher', source.publisher);
    await ui.choose('Kind', source.kind);
    await ui.fill(null, 'Language', article.language);
    await ui.press(null, 'Record source');
    // The page now offers the source just recorded for citing.
    await ui.heading(`Cite “${source.title}”`);
    if (i === 0) await audit('article-offered');
    await ui.fill(null, 'Claim', source.claim);
    await ui.fill(null, 'Quote', source.quote);
    await ui.fill(null, 'Locator', source.locator);
    await ui.press(null, 'Cite');
  }
  await audit('article-cited');
  if (audit.enabled) {
    // Sources from the article: two links read from pasted HTML, the page
    // with its proposals audited, then both dropped (nothing recorded).
    await ui.fill(null, "The article's text",
      '<p>Rents rose, <a href="https://stats.example/rents">the office said</a>. ' +
      'Wages did not, <a href="https://wages.example/2026">a survey found</a>.</p>');
    await ui.press(null, 'Read links');
    await ui.heading('Sources from the article');
    await audit('article-proposals');
    await ui.press(null, 'Drop: https://stats.example/rents');
    await ui.press(null, 'Drop: https://wages.example/2026');
  }
  await ui.press(null, 'Sign out');
  await ui.fill(null, 'API key', input.editor_key);
  await ui.press(null, 'Sign in');
  await ui.follow(article.title);
  await audit('article-editor');

  const [kept, dropped] = sources;
  await ui.press(null, `Verify: ${kept.claim}`);
  // There is a "Reason" field for every citation not yet retracted: the one
  // in the dropped citation's own list item.
  const item = await ui.item(dropped.claim);
  await ui.fill(item, 'Reason', pass.reason);
  await ui.press(item, `Retract: ${dropped.claim}`);
  await ui.press(null, 'Publish');
  await audit('article-published');
  out.desk = {
    main: await ui.text(),
    verified: await ui.text(await ui.item(kept.claim)),
    retracted: await ui.text(await ui.item(dropped.claim)),
  };

  if (audit.enabled) {
    await ui.follow('Sources');
    await audit('sources');
    await ui.follow(kept.title);
    await audit('source');
    out.pages.push({ name: 'error', status: await ui.goto(`${base}/desk/articles/no-such-article`) });
    await audit('error');
  }
}

// ---------------------------------------------------------------------------
// The flow by keyboard alone (chromium): no click, no fill.

async function byKeyboard(ui, pass, out) {
  const { page } = ui;
  const { article, sources } = pass;
  const kb = page.keyboard;
  /** The focused control's accessible name, as the desk's markup gives it. */
  const focused = async () => {
    const { name, ring } = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return { name: null, ring: true };
      const style = getComputedStyle(e);
      return {
        name: e.labels && e.labels.length
          ? e.labels[0].textContent.trim()
          : (e.getAttribute('aria-label') || e.textContent).trim(),
        // A focus indicator one can see: an outline at least 2px wide.
        ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      };
    });
    if (!ring && !out.unringed.includes(name)) out.unringed.push(name);
    return name;
  };
  /** Tab (or Shift+Tab) until `want` has focus; the names passed on the way. */
  const tabTo = async (step, want, key = 'Tab') => {
    const path = [];
    for (let i = 0; i < 60; i++) {
      await kb.press(key);
      const name = await focused();
      path.push(name);
      if (name === want) {
        out.focus.push({ step, path });
        return;
      }
    }
    throw new Error(`${step}: ${key} never reached "${want}": ${path.join(' | ')}`);
  };
  /** One Tab a field, each typed into once focused; the names focused. */
  const typeAlong = async (step, fields) => {
    const path = [];
    for (const [value, replace] of fields) {
      await kb.press('Tab');
      path.push(await focused());
      if (replace) await kb.press('ControlOrMeta+A');
      await kb.type(value);
    }
    out.focus.push({ step, path });
  };
  const activate = async (key) => {
    const loaded = page.waitForEvent('load', { timeout: TIMEOUT });
    await kb.press(key);
    await loaded;
  };

  await ui.goto(`${input.base}/desk`);
  await tabTo('login', 'API key');
  await kb.type(input.journalist_key);
  await tabTo('sign-in', 'Sign in');
  await activate('Enter');

  await tabTo('to-new-article', 'Title');
  await kb.type(article.title);
  await typeAlong('new-article', [
    [article.slug], [article.url], [article.language, true], [article.authors],
  ]);
  await tabTo('create', 'Create article');
  await tabTo('create-back', 'Authors', 'Shift+Tab');
  await tabTo('create-again', 'Create article');
  await activate('Space');
  await ui.heading(article.title);

  for (const [i, source] of sources.entries()) {
    await tabTo(`to-record-${i}`, 'URL');
    await kb.type(source.url);
    // "Look up" (filling the form from the page) is passed by, not pressed.
    await tabTo(`look-up-${i}`, 'Look up');
    await typeAlong(`record-${i}`, [[source.title], [source.publisher]]);
    await tabTo(`kind-${i}`, 'Kind');
    // A closed select takes the typed letters: "do" document, "da" dataset.
    await kb.type(source.kind.slice(0, 2));
    out.kinds.push(await page.evaluate(() => document.activeElement.value));
    await tabTo(`record-button-${i}`, 'Record source');
    await activate(i === 0 ? 'Enter' : 'Space');
    await ui.heading(`Cite “${source.title}”`);
    await tabTo(`to-cite-${i}`, 'Claim');
    await kb.type(source.claim);
    await typeAlong(`cite-${i}`, [[source.quote], [source.locator]]);
    await tabTo(`cite-button-${i}`, 'Cite');
    await activate(i === 0 ? 'Space' : 'Enter');
  }
  await tabTo('sign-out', 'Sign out');
  await activate('Enter');
  await tabTo('editor-login', 'API key');
  await kb.type(input.editor_key);
  await tabTo('editor-sign-in', 'Sign in');
  await activate('Enter');
  // The first stop is the skip link, which takes focus past the bar.
  await kb.press('Tab');
  const first = await focused();
  await kb.press('Enter');
  await kb.press('Tab');
  out.skip = { first, in_main: await page.evaluate(() => Boolean(document.activeElement.closest('main'))) };
  await tabTo('to-article', article.title);
  await activate('Enter');

  const [kept, dropped] = sources;
  await tabTo('verify', `Verify: ${kept.claim}`);
  await activate('Enter');
  await tabTo('to-retract', `Verify: ${dropped.claim}`);
  await typeAlong('reason', [[pass.reason]]);
  await tabTo('retract', `Retract: ${dropped.claim}`);
  await activate('Space');
  await tabTo('publish', 'Publish');
  await activate('Enter');
  out.desk = {
    main: await ui.text(),
    verified: await ui.text(await ui.item(kept.claim)),
    retracted: await ui.text(await ui.item(dropped.claim)),
  };
}

// ---------------------------------------------------------------------------

/** The passes with axe-core and screenshots. */
const AUDITED = ['audit', 'admin', 'drift'];

async function run(pass, newContext) {
  const out = { mode: pass.mode, pages: [], focus: [], kinds: [], unringed: [], dialogs: [], errors: [], documents_ms: 0 };
  const context = await newContext(pass.mode);
  const ui = context.ui;
  let requests = 0;
  out.request_kinds = {};
  ui.page.on('request', (request) => {
    requests++;
    if (input.engine !== 'chromium') return;
    const kind = `${request.method()} ${request.resourceType()}`;
    out.request_kinds[kind] = (out.request_kinds[kind] || 0) + 1;
  });
  // The time documents took from request to their last byte (the server's
  // share of the wall time, and the network's, which is loopback here).
  ui.page.on('requestfinished', (request) => {
    // (puppeteer over BiDi has neither a request's type nor its timing)
    if (input.engine !== 'chromium' || request.resourceType() !== 'document') return;
    const t = request.timing();
    if (t.responseEnd > 0) out.documents_ms += t.responseEnd;
  });
  ui.page.on('pageerror', (e) => out.errors.push(String(e)));
  // The desk asks before what cannot be undone (data-confirm): yes.
  ui.page.on('dialog', (dialog) => {
    out.dialogs.push(dialog.message());
    dialog.accept().catch((e) => out.errors.push(String(e)));
  });
  const audit = async (name) => {
    if (!audit.enabled) return;
    const entry = out.pages.find((p) => p.name === name && !p.title) || { name };
    if (!out.pages.includes(entry)) out.pages.push(entry);
    entry.title = await ui.title();
    entry.violations = await axe(ui);
    await ui.shot(`${input.shots}/${input.prefix}-${name}.png`);
  };
  audit.enabled = AUDITED.includes(pass.mode);
  const started = performance.now();
  if (pass.mode === 'keyboard') await byKeyboard(ui, pass, out);
  else if (pass.mode === 'admin') await admin(ui, input, pass, out, audit);
  else if (pass.mode === 'drift') await drift(ui, input, pass, out, audit);
  else await byRole(ui, pass, out, audit);

  if (pass.mode === 'audit') {
    // The published article at phone width, and as it prints.
    const article = `${input.base}/desk/articles/${pass.article.slug}`;
    await context.viewport(390, 844);
    await ui.goto(article);
    out.phone = await ui.evaluate(() => ({
      scroll_width: document.documentElement.scrollWidth,
      client_width: document.documentElement.clientWidth,
    }));
    await ui.shot(`${input.shots}/${input.prefix}-phone.png`);
    await context.viewport(1000, 1200);
    if (context.print) {
      await context.print(true);
      out.print = await ui.evaluate(() => ({
        // Forms, the bar and the search a printed page does without.
        shown: Array.from(document.querySelectorAll('form, header, nav, button, input, textarea, select'))
          .filter((e) => e.getClientRects().length > 0)
          .map((e) => e.tagName.toLowerCase()),
        text: document.querySelector('main').innerText,
      }));
      await ui.shot(`${input.shots}/${input.prefix}-print.png`);
      await context.print(false);
    } else {
      // No print media emulation over WebDriver BiDi: the browser's own
      // print to PDF instead, kept with the screenshots.
      const pdf = await context.pdf(`${input.shots}/${input.prefix}-print.pdf`);
      out.print = { pdf_bytes: pdf.length, pdf_head: Buffer.from(pdf.subarray(0, 5)).toString('latin1') };
    }
  }
  const deskRequests = requests;
  out.desk_ms = Math.round(performance.now() - started);

  // The reader: another browser (context), JavaScript on, a member's token.
  if (pass.panel_url) {
    const reader = await newContext('reader');
    let readerRequests = 0;
    reader.ui.page.on('request', () => { readerRequests++; });
    const reading = performance.now();
    out.panel = await panel(reader.ui, pass.panel_url);
    out.panel_ms = Math.round(performance.now() - reading);
    if (pass.mode === 'audit') await reader.ui.shot(`${input.shots}/${input.prefix}-panel.png`);
    out.panel_requests = readerRequests;
    await reader.close();
  }
  out.wall_ms = Math.round(performance.now() - started);
  out.requests = deskRequests;
  out.documents_ms = Math.round(out.documents_ms);
  await context.close();
  return out;
}

async function chromium() {
  const { chromium: engine } = require('playwright-core');
  const browser = await engine.launch({
    executablePath: input.executable,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const newContext = async (mode) => {
    const context = await browser.newContext({
      // axe-core is put into the page by the test; the desk's CSP would
      // (rightly) refuse it. Every other pass keeps the desk's CSP.
      bypassCSP: AUDITED.includes(mode),
      javaScriptEnabled: mode !== 'nojs',
      viewport: { width: 1000, height: 1200 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    return {
      ui: playwrightUi(page),
      viewport: (width, height) => page.setViewportSize({ width, height }),
      print: (on) => page.emulateMedia({ media: on ? 'print' : 'screen' }),
      close: () => context.close(),
    };
  };
  return { browser, newContext };
}

async function firefox() {
  const puppeteer = require('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: input.executable,
    headless: true,
  });
  const newContext = async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await page.setViewport({ width: 1000, height: 1200 });
    return {
      ui: puppeteerUi(page),
      viewport: (width, height) => page.setViewport({ width, height }),
      // page.emulateMediaType needs CDP, which Firefox does not speak.
      print: null,
      pdf: (path) => page.pdf({ path, printBackground: true }),
      close: () => context.close(),
    };
  };
  return { browser, newContext };
}

const launchedAt = performance.now();
const { browser, newContext } = input.engine === 'firefox' ? await firefox() : await chromium();
const launch_ms = Math.round(performance.now() - launchedAt);
const results = [];
try {
  for (const pass of input.passes) results.push({ ...(await run(pass, newContext)), launch_ms });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
