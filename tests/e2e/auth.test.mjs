// End-to-end: the real `eventsource` npm client opening a jwt-protected stream with its
// token in the URL (?access_token=, since EventSource cannot send headers): it opens and
// receives what is published; with a token signed by another key it gets a 401, which
// the client reports and does not retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { EventSource } from 'eventsource';
import { Gateway, sluiceBin } from './gateway.mjs';

const SECRET = 'e2e-jwt-secret-of-at-least-32-bytes!';
const ROUTES = `
- path: /api/jobs/{id}/stream
  sse:
    channel: jobs:{id}
    retry: 100ms
  plugins:
    - jwt: {secret: "${SECRET}", algorithms: [HS256], from: ["query:access_token"], channels_claim: channels}
`;
const skip = sluiceBin() ? false : 'sluice is not built (set SLUICE_BIN)';

const b64url = (text) => Buffer.from(text).toString('base64url');

// An HS256 JWT signed here with node's crypto (sluice verifies it with libjwt).
function hs256(claims, secret = SECRET) {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const exp = () => Math.floor(Date.now() / 1000) + 600;

function within(ms, what, executor) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), ms);
    executor((v) => { clearTimeout(timer); ok(v); }, (e) => { clearTimeout(timer); fail(e); });
  });
}

async function withGateway(fn) {
  const gw = new Gateway(ROUTES);
  try {
    await gw.start();
    await fn(gw);
    await gw.stop();
  } finally {
    await gw.cleanup();
  }
}

test('a token in ?access_token= opens the stream and events arrive',
  { skip, timeout: 30000 }, () => withGateway(async (gw) => {
    const token = hs256({ exp: exp(), channels: ['jobs:*'] });
    const es = new EventSource(gw.url(`/api/jobs/7/stream?access_token=${token}`));
    try {
      const message = within(10000, 'the published event', (ok) => {
        es.onmessage = (ev) => ok(ev);
      });
      await within(5000, 'open', (ok, fail) => {
        es.onopen = ok;
        es.onerror = (ev) => fail(new Error(`stream failed: ${ev.code} ${ev.message}`));
      });
      const position = await gw.publish('jobs:7', '{"state":"running"}');
      const ev = await message;
      assert.equal(ev.data, '{"state":"running"}');
      assert.equal(ev.lastEventId, String(position));
    } finally {
      es.close();
    }
  }));

test('a bad token is a 401 the client reports and does not retry',
  { skip, timeout: 30000 }, () => withGateway(async (gw) => {
    const forged = hs256({ exp: exp(), channels: ['jobs:*'] }, 'not-the-secret-not-the-secret-32b');
    const es = new EventSource(gw.url(`/api/jobs/7/stream?access_token=${forged}`));
    try {
      const err = await within(5000, 'the 401', (ok) => { es.onerror = ok; });
      assert.equal(err.code, 401);
      assert.equal(es.readyState, EventSource.CLOSED);
    } finally {
      es.close();
    }
    // Outside the token's channels: 403.
    const other = new EventSource(gw.url(`/api/jobs/8/stream?access_token=${hs256({ exp: exp(), channels: ['jobs:7'] })}`));
    try {
      const err = await within(5000, 'the 403', (ok) => { other.onerror = ok; });
      assert.equal(err.code, 403);
    } finally {
      other.close();
    }
  }));
