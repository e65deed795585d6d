// Browser end-to-end for HTTP/2 (docs/tls.md): headless Chromium opens one page with 20
// EventSources to the same origin. Over https (ALPN h2, a test certificate made with the
// openssl tool) all 20 streams open on ONE connection and each receives its own event;
// the same page over plain HTTP/1.1 gets only the browser's six connections per origin,
// and the other 14 EventSources wait: the reason HTTP/2 is served. The browser trusts the
// test certificate the way one pins a certificate in Chromium, by the SHA-256 of its public
// key (--ignore-certificate-errors-spki-list), not by ignoring certificate errors: any other
// certificate on that origin would still be refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gateway, freePort, makeConfig, sluiceBin } from './gateway.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const STREAMS = 20;

let chromium = null;
try {
  ({ chromium } = await import('playwright-core'));
} catch { /* reported as a skip below */ }

const haveOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const skip = !sluiceBin() ? 'sluice is not built (set SLUICE_BIN)'
  : !chromium ? 'playwright-core is missing (run npm ci in tests/e2e)'
    : !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (deploy/install-deps.sh --test)`
      : !haveOpenssl ? 'no openssl tool (deploy/install-deps.sh --test)' : false;

// The page: 20 EventSources to the page's own origin, each recording its first event.
const PAGE = `<!doctype html><meta charset="utf-8"><title>20 streams</title>
<script>
window.got = {};
window.opened = 0;
for (let i = 0; i < ${STREAMS}; i++) {
  const es = new EventSource('/s/h2-' + i);
  es.onopen = () => { window.opened++; };
  es.onmessage = (e) => { window.got[i] = e.data; };
}
</script>`;

const ROUTES = `
- path: /s/{id}
  sse:
    channel: c:{id}
- prefix: /page/
  static:
    root: @SITE@
`;

// base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate: what Chromium's
// --ignore-certificate-errors-spki-list takes.
function spkiHash(certFile) {
  const spki = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

// A plain listener (health checks, publishing, the HTTP/1.1 page) and a TLS one.
class TlsGateway extends Gateway {
  constructor() {
    super(ROUTES);
    this.site = join(this.dir, 'site');
    execFileSync('mkdir', ['-p', this.site]);
    writeFileSync(join(this.site, 'index.html'), PAGE);
    this.cert = join(this.dir, 'cert.pem');
    this.key = join(this.dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-keyout', this.key, '-out', this.cert, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  }

  configText(port) {
    const text = makeConfig(port, ROUTES.replace('@SITE@', this.site));
    return text.replace(`listen: 127.0.0.1:${port}`,
      `listen:\n  - 127.0.0.1:${port}\n  - address: 127.0.0.1:${this.tlsPort}\n` +
      `    tls: {cert: ${this.cert}, key: ${this.key}}`);
  }

  async start() {
    this.tlsPort = await freePort();
    return super.start();
  }

  async metric(name) {
    const res = await fetch(this.url('/_sluice/metrics'), { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.split(' ').pop());
    }
    return sum;
  }

  async waitMetric(name, predicate, what, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let value = null;
    while (Date.now() < deadline) {
      value = await this.metric(name);
      if (predicate(value)) return value;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`timed out waiting for ${what} (${name} = ${value})`);
  }
}

// A browser that trusts exactly the certificate in `certFile` (and the usual CAs).
function launchTrusting(certFile) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 30000,
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiHash(certFile)}`] });
}

test(`Chromium: ${STREAMS} EventSources over https share one HTTP/2 connection; over ` +
  'HTTP/1.1 only six open', { skip, timeout: 90000 }, async () => {
  const gw = new TlsGateway();
  try {
    await gw.start();
    // Without the pin the self-signed certificate is refused: the pin is what trusts it.
    const untrusting = await chromium.launch({ executablePath: CHROMIUM, headless: true,
      timeout: 30000, args: CHROMIUM_ARGS });
    try {
      const page = await (await untrusting.newContext()).newPage();
      await assert.rejects(page.goto(`https://localhost:${gw.tlsPort}/page/index.html`),
        /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await untrusting.close();
    }
    const browser = await launchTrusting(gw.cert);
    const context = await browser.newContext();  // certificate errors are not ignored
    try {
      const page = await context.newPage();
      await page.goto(`https://localhost:${gw.tlsPort}/page/index.html`);
      await gw.waitMetric('sluice_sse_streams_open', (v) => v === STREAMS, `${STREAMS} streams`);
      await page.waitForFunction((n) => window.opened === n, STREAMS, { timeout: 15000 });
      // One HTTP/2 connection carries the page and every stream.
      assert.equal(await gw.metric('sluice_http2_connections_open'), 1);
      assert.ok(await gw.metric('sluice_http2_streams_open') >= STREAMS);
      for (let i = 0; i < STREAMS; i++) await gw.publish(`c:h2-${i}`, `event-${i}`);
      await page.waitForFunction((n) => Object.keys(window.got).length === n, STREAMS,
        { timeout: 15000 });
      const got = await page.evaluate(() => window.got);
      for (let i = 0; i < STREAMS; i++) assert.equal(got[i], `event-${i}`);
      await page.close();
      await gw.waitMetric('sluice_sse_streams_open', (v) => v === 0, 'the streams closed');

      // The same page over HTTP/1.1: six connections per origin, six streams.
      const page1 = await context.newPage();
      await page1.goto(gw.url('/page/index.html'));
      await gw.waitMetric('sluice_sse_streams_open', (v) => v === 6, 'six HTTP/1.1 streams');
      for (let i = 0; i < STREAMS; i++) await gw.publish(`c:h2-${i}`, `again-${i}`);
      await page1.waitForFunction(() => Object.values(window.got).filter((v) => v.startsWith('again-')).length === 6,
        null, { timeout: 15000 });
      const got1 = await page1.evaluate(() => ({ got: window.got, opened: window.opened }));
      assert.equal(got1.opened, 6, 'only six EventSources opened');
      assert.equal(Object.keys(got1.got).length, 6, 'the other 14 received nothing');
      assert.equal(await gw.metric('sluice_sse_streams_open'), 6);
      await page1.close();
    } finally {
      await context.close();
      await browser.close();
    }
    await gw.stop();
  } finally {
    await gw.cleanup();
  }
});
