// Browser end-to-end for the cors plugin: headless Chromium (Debian's package, driven by
// playwright-core) loads a page from one origin (a tiny node server on 127.0.0.1:A) that
// opens `new EventSource('http://localhost:B/...', {withCredentials: true})` on sluice, a
// cross-origin stream. On a route whose cors plugin allows the page's origin with
// credentials, the page receives the published events; on a route whose cors origins do
// not include it, the browser refuses the answer: onerror, the EventSource closed, and no
// event reaches the page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { Gateway, sluiceBin } from './gateway.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

let chromium = null;
try {
  ({ chromium } = await import('playwright-core'));
} catch { /* reported as a skip below */ }

const skip = !sluiceBin() ? 'sluice is not built (set SLUICE_BIN)'
  : !chromium ? 'playwright-core is missing (run npm ci in tests/e2e)'
    : !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (deploy/install-deps.sh --test)`
      : false;

// The page: opens the EventSource named by ?src= and records what happens in window.__es.
const PAGE = `<!doctype html><meta charset="utf-8"><title>cross-origin stream</title>
<pre id="log"></pre>
<script>
  const src = new URLSearchParams(location.search).get('src');
  const state = window.__es = { opened: false, events: [], errors: 0, readyState: null };
  const es = new EventSource(src, { withCredentials: true });
  es.onopen = () => { state.opened = true; };
  es.onmessage = (e) => {
    state.events.push(e.data);
    document.getElementById('log').textContent += e.data + '\\n';
  };
  es.onerror = () => { state.errors += 1; state.readyState = es.readyState; };
</script>`;

function pageServer() {
  const server = createServer((req, res) => {
    if (req.url.startsWith('/page')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

let browser = null;
let pages = null;
let gw = null;
let pageOrigin = null;

before(async () => {
  if (skip) return;
  pages = await pageServer();
  pageOrigin = `http://127.0.0.1:${pages.address().port}`;
  gw = new Gateway(`
- path: /allowed/{id}
  sse: {channel: "allowed:{id}"}
  plugins:
    - cors: {origins: ["${pageOrigin}"], credentials: true}
- path: /other/{id}
  sse: {channel: "other:{id}"}
  plugins:
    - cors: {origins: ["https://elsewhere.example"], credentials: true}
`);
  await gw.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS,
    headless: true, timeout: 30000 });
});

after(async () => {
  if (browser) await browser.close();
  if (gw) {
    try {
      await gw.stop();
    } finally {
      await gw.cleanup();
    }
  }
  if (pages) await new Promise((ok) => pages.close(ok));
});

async function openPage(path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  // localhost, not 127.0.0.1: another origin than the page's, so the stream is cross-origin.
  const src = `http://localhost:${gw.port}${path}`;
  await page.goto(`${pageOrigin}/page?src=${encodeURIComponent(src)}`);
  return { page, context };
}

test('EventSource withCredentials from an allowed origin receives the events',
  { skip, timeout: 60000 }, async () => {
    const { page, context } = await openPage('/allowed/c1');
    try {
      await page.waitForFunction(() => window.__es.opened);
      await gw.publish('allowed:c1', '{"n":1}');
      await gw.publish('allowed:c1', '{"n":2}');
      await page.waitForFunction(() => window.__es.events.length === 2);
      const state = await page.evaluate(() => window.__es);
      assert.deepEqual(state.events, ['{"n":1}', '{"n":2}']);
      assert.equal(state.errors, 0);
    } finally {
      await context.close();
    }
  });

test('EventSource from an origin the route does not allow fails and gets no event',
  { skip, timeout: 60000 }, async () => {
    const { page, context } = await openPage('/other/c2');
    try {
      // The browser refuses the answer (no Access-Control-Allow-Origin for this page).
      await page.waitForFunction(() => window.__es.errors > 0);
      await gw.publish('other:c2', '{"n":1}');
      const state = await page.evaluate(() => window.__es);
      assert.equal(state.opened, false);
      assert.deepEqual(state.events, []);
    } finally {
      await context.close();
    }
  });
