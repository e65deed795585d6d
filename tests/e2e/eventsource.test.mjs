// End-to-end: the real `eventsource` npm client against the real sluice binary (memory
// broker). Every chunk arrives in order exactly once, lastEventId is the position, the
// terminal event ends the stream (reconnect gets 204), and resuming after a disconnect
// (by ?position=N, or automatically by Last-Event-ID) loses and repeats nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { Gateway, sluiceBin } from './gateway.mjs';

const ROUTES = `
- path: /api/analysis/{id}/stream
  sse:
    channel: analysis:{id}
    retry: 100ms
`;
const skip = sluiceBin() ? false : 'sluice is not built (set SLUICE_BIN)';
const CHUNKS = 20;
const chunk = (i) => JSON.stringify({ type: 'chunk', i, text: `part ${i} of the answer` });
const DONE = JSON.stringify({ type: 'done' });
const expected = () => [
  ...Array.from({ length: CHUNKS }, (_, k) => JSON.parse(chunk(k + 1))), { type: 'done' },
];

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

// Resolves with a value, or rejects after ms with a message saying what was awaited.
function within(ms, what, executor) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), ms);
    executor((v) => { clearTimeout(timer); ok(v); }, (e) => { clearTimeout(timer); fail(e); });
  });
}

// Records every message as {id, data} and resolves when `stop(message)` is true.
function collect(es, received, stop, ms = 10000) {
  return within(ms, `messages (got ids ${received.map((m) => m.id)})`, (ok) => {
    es.onmessage = (ev) => {
      const msg = { id: ev.lastEventId, data: JSON.parse(ev.data) };
      received.push(msg);
      if (stop(msg)) ok(received);
    };
  });
}
const isDone = (msg) => msg.data.type === 'done';
const opened = (es) => within(5000, 'open', (ok) => { es.onopen = ok; });

function assertExactlyOnceInOrder(received, positions) {
  assert.deepEqual(received.map((m) => m.data), expected());
  assert.deepEqual(received.map((m) => m.id), positions.map(String));
}

test('every chunk in order exactly once, lastEventId = position, then 204',
  { skip, timeout: 30000 }, () => withGateway(async (gw) => {
    const positions = [];
    for (let i = 1; i <= CHUNKS / 2; i++) positions.push(await gw.publish('analysis:42', chunk(i)));
    const es = new EventSource(gw.url('/api/analysis/42/stream'));
    try {
      const received = [];
      const all = collect(es, received, isDone);
      await opened(es);
      for (let i = CHUNKS / 2 + 1; i <= CHUNKS; i++) {
        positions.push(await gw.publish('analysis:42', chunk(i)));
      }
      positions.push(await gw.publish('analysis:42', DONE));
      assertExactlyOnceInOrder(await all, positions);

      // sluice closes after `done`; EventSource reconnects with Last-Event-ID = the done
      // event's position, gets 204 and stops for good.
      const err = await within(5000, 'the 204 that ends reconnection', (ok) => {
        es.onerror = (ev) => { if (ev.code === 204) ok(ev); };
      });
      assert.equal(err.code, 204);
      assert.equal(es.readyState, EventSource.CLOSED);
      assert.equal(received.length, CHUNKS + 1, 'nothing after done');
    } finally {
      es.close();
    }
  }));

test('resume with ?position=N after closing loses and repeats nothing',
  { skip, timeout: 30000 }, () => withGateway(async (gw) => {
    const positions = [];
    for (let i = 1; i <= CHUNKS / 2; i++) positions.push(await gw.publish('analysis:7', chunk(i)));
    const first = new EventSource(gw.url('/api/analysis/7/stream'));
    const received = [];
    try {
      await collect(first, received, (msg) => msg.id === String(positions.at(-1)));
    } finally {
      first.close();
    }
    // Published while no client is connected.
    for (let i = CHUNKS / 2 + 1; i <= CHUNKS; i++) {
      positions.push(await gw.publish('analysis:7', chunk(i)));
    }
    positions.push(await gw.publish('analysis:7', DONE));

    const last = received.at(-1).id;
    const second = new EventSource(gw.url(`/api/analysis/7/stream?position=${last}`));
    try {
      await collect(second, received, isDone);
    } finally {
      second.close();
    }
    assertExactlyOnceInOrder(received, positions);
  }));

// A fetch for EventSource whose first response body is cut after `cutAfter` bytes, as a
// dropped connection would be; later requests pass through. Records each request.
function droppingFetch(cutAfter, calls) {
  return async (url, init) => {
    const call = { lastEventId: init.headers['Last-Event-ID'] ?? null };
    calls.push(call);
    const res = await fetch(url, init);
    call.status = res.status;
    if (calls.length !== 1 || res.status !== 200) return res;
    const reader = res.body.getReader();
    let seen = 0;
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        if (seen + value.length < cutAfter) {
          seen += value.length;
          return controller.enqueue(value);
        }
        controller.enqueue(value.subarray(0, cutAfter - seen));
        seen = cutAfter;
        controller.close();
        call.cut = true;
        return reader.cancel().catch(() => {});
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

test('automatic reconnect after a dropped connection resumes by Last-Event-ID',
  { skip, timeout: 30000 }, () => withGateway(async (gw) => {
    const positions = [];
    for (let i = 1; i <= CHUNKS; i++) positions.push(await gw.publish('analysis:9', chunk(i)));
    positions.push(await gw.publish('analysis:9', DONE));

    // Cut in the middle of the 11th event: the retry line, 10 whole events, half of one.
    const frame = (i) => `id: ${positions[i - 1]}\ndata: ${chunk(i)}\n\n`;
    let cutAfter = 'retry: 100\n\n'.length + frame(11).length / 2;
    for (let i = 1; i <= 10; i++) cutAfter += frame(i).length;

    const calls = [];
    const es = new EventSource(gw.url('/api/analysis/9/stream'),
      { fetch: droppingFetch(Math.floor(cutAfter), calls) });
    const received = [];
    let beforeCut = [];
    try {
      es.onerror = () => { if (calls.length === 1) beforeCut = [...received]; };
      await collect(es, received, isDone);
    } finally {
      es.close();
    }
    assert.ok(calls[0].cut, 'the first response was not cut');
    assert.ok(calls.length >= 2, 'EventSource did not reconnect');
    const lastBeforeCut = beforeCut.at(-1).id;
    assert.ok(Number(lastBeforeCut) < positions.at(-1), 'the cut came after the end');
    assert.equal(calls[1].lastEventId, lastBeforeCut, 'reconnect must send Last-Event-ID');
    assert.equal(calls[1].status, 200);
    assertExactlyOnceInOrder(received, positions);
  }));
