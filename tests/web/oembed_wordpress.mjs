// WordPress's handling of a pasted link to a provider it does not know,
// applied to a reader's page for tests/api/oembed.rs, then rendered in
// Debian's chromium (through playwright-core) the way a post shows it:
//
// 1. discovery as WP_oEmbed::discover does it: the HTML up to </head>, every
//    <link ...> in it, the first whose type is application/json+oembed, its
//    href with entities decoded;
// 2. the request as WP_oEmbed::fetch makes it: maxwidth, maxheight, url and
//    dnt=1 added to that href, format=json;
// 3. the answer's html through wp_filter_oembed_result: kses down to <a href>,
//    <blockquote> and <iframe src width height frameborder marginwidth
//    marginheight scrolling title>, only the (blockquote and) iframe kept,
//    `#?secret=` added to the src, and the iframe sandboxed with
//    sandbox="allow-scripts" security="restricted";
// 4. that html in a post's embed block on a page of a loopback "blog", in a
//    browser that enforces every policy (no bypass), watching for policy
//    violations in every frame;
// 5. axe-core on the embeddable view itself.
//
// stdin: {"chromium", "shots", "name", "page", "sizes": [[w, h], ...]}
// stdout: {"discovered", "embeds": [{"maxwidth", "maxheight", "request",
//   "status", "response", "kept", "box", "text", "html", "hrefs", "font",
//   "frame_url", "violations", "console"}], "axe": [...]}
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const input = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(process.env.SOURCELEDGER_TEST_BROWSER_TOOLS + '/');
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#0?39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// shortcode_parse_atts, as far as a <link>'s attributes need it.
function attributes(text) {
  const atts = {};
  const re = /([\w-]+)\s*=\s*"([^"]*)"|([\w-]+)\s*=\s*'([^']*)'|([\w-]+)\s*=\s*([^\s'"]+)/g;
  let m;
  while ((m = re.exec(text))) {
    if (m[1]) atts[m[1].toLowerCase()] = m[2];
    else if (m[3]) atts[m[3].toLowerCase()] = m[4];
    else atts[m[5].toLowerCase()] = m[6];
  }
  return atts;
}

async function discover(url) {
  let html = await (await fetch(url)).text();
  const headEnd = html.toLowerCase().indexOf('</head>');
  if (headEnd > 0) html = html.slice(0, headEnd);
  if (!html.toLowerCase().includes('application/json+oembed')) return null;
  for (const [, link] of html.matchAll(/<link([^<>]+?)\/?>/gi)) {
    const atts = attributes(link);
    if (atts.type === 'application/json+oembed' && atts.href) return decode(atts.href);
  }
  return null;
}

// add_query_arg: set a parameter, replacing any of the same name.
function withArgs(href, args) {
  const url = new URL(href);
  for (const [k, v] of Object.entries(args)) url.searchParams.set(k, v);
  return url.toString();
}

const allowed = {
  a: ['href'],
  blockquote: [],
  iframe: ['src', 'width', 'height', 'frameborder', 'marginwidth', 'marginheight', 'scrolling', 'title'],
};

// wp_kses with the list above: other elements lose their tags (their text
// stays), allowed ones keep only the allowed attributes.
function kses(html) {
  return html.replace(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/g, (all, close, name, rest) => {
    const tag = name.toLowerCase();
    if (!(tag in allowed)) return '';
    if (close) return `</${tag}>`;
    const atts = attributes(rest);
    const kept = allowed[tag].filter((a) => a in atts).map((a) => ` ${a}="${atts[a].replace(/"/g, '&quot;')}"`);
    return `<${tag}${kept.join('')}>`;
  });
}

function filterOembedResult(html) {
  const content = /(<blockquote>.*?<\/blockquote>)?.*(<iframe.*?><\/iframe>)/s.exec(kses(html));
  if (!content || !content[2]) return null;
  let out = (content[1] || '') + content[2];
  const src = / src=(['"])(.*?)\1/.exec(out);
  if (src) {
    const secret = 'Xy3secret9';
    out = out.replace(src[0], ` src=${src[1]}${src[2]}#?secret=${secret}${src[1]} data-secret=${src[1]}${secret}${src[1]}`);
    out = out.replace('<blockquote', `<blockquote data-secret="${secret}"`);
  }
  if (content[1]) {
    out = out.replace('<iframe', '<iframe style="position: absolute; visibility: hidden;"');
    out = out.replace('<blockquote', '<blockquote class="wp-embedded-content"');
  }
  return out.replace(/<iframe/i, '<iframe class="wp-embedded-content" sandbox="allow-scripts" security="restricted"');
}

// The blog: each post at /post-N.html.
const posts = new Map();
const blog = createServer((req, res) => {
  const body = posts.get(req.url);
  res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body || '');
});
await new Promise((resolve) => blog.listen(0, '127.0.0.1', resolve));
const blogOrigin = `http://127.0.0.1:${blog.address().port}`;

const discovered = await discover(input.page);
const result = { discovered, embeds: [], axe: [] };
const browser = await chromium.launch({
  executablePath: input.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (const [i, [maxwidth, maxheight]] of input.sizes.entries()) {
    const seen = { maxwidth, maxheight };
    result.embeds.push(seen);
    if (!discovered) continue;
    seen.request = withArgs(discovered, { maxwidth, maxheight, url: input.page, dnt: 1, format: 'json' });
    const answer = await fetch(seen.request);
    seen.status = answer.status;
    if (answer.status !== 200) continue;
    seen.response = await answer.json();
    seen.kept = filterOembedResult(seen.response.html);
    if (!seen.kept) continue;
    const path = `/post-${i}.html`;
    posts.set(path, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A post</title></head>
<body><main><h1>A post</h1><p>Before the embed.</p>
<figure class="wp-block-embed is-type-rich is-provider-sourceledger wp-block-embed-sourceledger"><div class="wp-block-embed__wrapper">
${seen.kept}
</div></figure><p>After the embed.</p></main></body></html>`);
    const context = await browser.newContext({ viewport: { width: 1000, height: 1200 } });
    // In every frame: the policy violations the document reports.
    await context.addInitScript(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    const page = await context.newPage();
    seen.console = [];
    page.on('console', (m) => seen.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => seen.console.push(`pageerror: ${e}`));
    await page.goto(`${blogOrigin}${path}`);
    const iframe = await page.waitForSelector('iframe.wp-embedded-content');
    const frame = await iframe.contentFrame();
    await frame.waitForLoadState('load');
    await frame.waitForSelector('main');
    seen.frame_url = frame.url();
    seen.box = await iframe.boundingBox();
    Object.assign(seen, await frame.evaluate(() => ({
      text: document.body.innerText,
      html: document.documentElement.outerHTML,
      hrefs: Array.from(document.querySelectorAll('a[href]'), (a) => a.getAttribute('href')),
      targets: Array.from(document.querySelectorAll('a[href]'), (a) => a.getAttribute('target')),
      // The view's own stylesheet applied (loaded under its policy).
      font: getComputedStyle(document.querySelector('h1')).fontFamily,
      violations: window.__violations || [],
      origin: window.origin,
    })));
    await page.screenshot({ path: `${input.shots}/${input.name}-${maxwidth}x${maxheight}.png`, fullPage: true });
    await context.close();
  }
  if (result.embeds[0] && result.embeds[0].frame_url) {
    // axe-core is put into the page by the test: the view's policy would
    // (rightly) refuse it.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 600, height: 400 } });
    const page = await context.newPage();
    await page.goto(result.embeds[0].frame_url.replace(/#.*$/, ''));
    await page.evaluate(axeSource);
    const report = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    result.axe = report.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target) }));
    await context.close();
  }
} finally {
  await browser.close();
  blog.close();
}
process.stdout.write(JSON.stringify(result));
