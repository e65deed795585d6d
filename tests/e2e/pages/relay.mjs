// The browser test's front door on loopback: a TCP relay that serves the test page and
// its scripts itself and passes every /api/ connection byte for byte to sluice, so the
// browser talks to sluice's own HTTP and SSE framing. It reads the head of each /api/
// request (path, Last-Event-ID) and lets the test decide per request: pass through,
// answer with an error status, or cut the connection right after relaying the event
// with a given id (a dropped connection in the middle of a stream).
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

const MAX_HEAD = 64 * 1024;

// Splits a response into what may be forwarded now and whether to cut: forwards the
// head, then whole events only, up to and including the event whose id is cutAfterId.
class SseCutter {
  constructor(cutAfterId) {
    this.cutAfterId = String(cutAfterId);
    this.pending = Buffer.alloc(0);
    this.inBody = false;
    this.passThrough = false;
  }

  feed(chunk) {
    if (this.passThrough) return { pass: chunk, cut: false };
    this.pending = Buffer.concat([this.pending, chunk]);
    const parts = [];
    if (!this.inBody) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return { pass: Buffer.alloc(0), cut: false };
      const head = this.pending.subarray(0, end + 4);
      parts.push(head);
      this.pending = this.pending.subarray(end + 4);
      this.inBody = true;
      if (!head.toString('latin1').startsWith('HTTP/1.1 200')) {
        this.passThrough = true;
        parts.push(this.pending);
        return { pass: Buffer.concat(parts), cut: false };
      }
    }
    for (;;) {
      const end = this.pending.indexOf('\n\n');
      if (end < 0) break;
      const block = this.pending.subarray(0, end + 2);
      this.pending = this.pending.subarray(end + 2);
      parts.push(block);
      const id = /^id: ?(.*)$/m.exec(block.toString('utf8'));
      if (id && id[1] === this.cutAfterId) return { pass: Buffer.concat(parts), cut: true };
    }
    return { pass: Buffer.concat(parts), cut: false };
  }
}

export class PageRelay {
  // files: {"/path": {file, type}} served locally; decide(request, n) for the n-th
  // (0-based) /api/ request answers {} (pass), {status: 503} (refuse) or {cutAfterId: N}.
  constructor({ sluicePort, files, decide }) {
    this.sluicePort = sluicePort;
    this.files = files;
    this.decide = decide;
    this.requests = [];     // every /api/ request: {path, lastEventId, action, cut}
    this.sockets = new Set();
    this.server = createServer((socket) => this.accept(socket));
  }

  listen() {
    return new Promise((ok, fail) => {
      this.server.once('error', fail);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = this.server.address().port;
        ok(this);
      });
    });
  }

  url(path) { return `http://127.0.0.1:${this.port}${path}`; }

  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((ok) => this.server.close(() => ok()));
  }

  track(socket) {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    return socket;
  }

  accept(browser) {
    this.track(browser);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) browser.destroy();
        return;
      }
      browser.off('data', onData);
      browser.pause();
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const [method, path] = lines[0].split(' ');
      const header = (name) => {
        const line = lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
        return line === undefined ? null : line.slice(name.length + 1).trim();
      };
      if (!path.startsWith('/api/')) {
        this.serveFile(browser, method, path);
      } else {
        this.relay(browser, head, { method, path, lastEventId: header('Last-Event-ID') });
      }
    };
    browser.on('data', onData);
  }

  serveFile(browser, method, path) {
    const entry = this.files[path.split('?')[0]];
    const body = entry && method === 'GET' ? readFileSync(entry.file) : Buffer.from('not found');
    const status = entry && method === 'GET' ? '200 OK' : '404 Not Found';
    // Connection: close keeps later requests off this connection, so each /api/ request
    // arrives on a connection of its own, where the relay can read its head.
    browser.end(Buffer.concat([Buffer.from(
      `HTTP/1.1 ${status}\r\nContent-Type: ${entry ? entry.type : 'text/plain'}\r\n` +
      `Content-Length: ${body.length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`),
    body]));
  }

  relay(browser, head, request) {
    const action = this.decide(request, this.requests.length) ?? {};
    request.action = action;
    this.requests.push(request);
    if (action.status) {
      browser.end(`HTTP/1.1 ${action.status} Refused By Test\r\nContent-Length: 0\r\n` +
        'Connection: close\r\n\r\n');
      return;
    }
    const sluice = this.track(createConnection({ host: '127.0.0.1', port: this.sluicePort }));
    sluice.setNoDelay(true);
    browser.setNoDelay(true);
    const cutter = action.cutAfterId === undefined ? null : new SseCutter(action.cutAfterId);
    sluice.on('connect', () => {
      sluice.write(head);
      browser.pipe(sluice);
      browser.resume();
    });
    sluice.on('data', (chunk) => {
      if (!cutter) {
        browser.write(chunk);
        return;
      }
      const { pass, cut } = cutter.feed(chunk);
      if (pass.length) browser.write(pass);
      if (cut) {
        request.cut = true;
        sluice.destroy();
        browser.end();
      }
    });
    sluice.on('end', () => browser.end());
    sluice.on('close', () => browser.end());
    browser.on('close', () => sluice.destroy());
  }
}

// Content types for `files` entries.
export const JS = 'text/javascript; charset=utf-8';
export const HTML = 'text/html; charset=utf-8';
