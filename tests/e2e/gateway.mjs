// Runs the real sluice binary for end-to-end tests: a temp config on a free loopback
// port, wait for /_sluice/health, publish over HTTP, and stop with SIGTERM checking a
// clean exit (status 0, no sanitizer report). The child is tracked by its PID only.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync }
  from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOKEN = 'e2e-token';
const SANITIZER_MARKERS = ['AddressSanitizer', 'runtime error:', 'LeakSanitizer'];
const here = dirname(fileURLToPath(import.meta.url));

// Path of the binary, or null when it is not built (tests then skip).
export function sluiceBin() {
  if (process.env.SLUICE_BIN) return process.env.SLUICE_BIN;
  const fallback = resolve(here, '..', '..', 'build', 'sluice');
  return existsSync(fallback) ? fallback : null;
}

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// routesYaml: the YAML list under `routes:`.
export function makeConfig(port, routesYaml) {
  return [
    `listen: 127.0.0.1:${port}`, 'workers: 1', 'broker:', '  type: memory',
    'publish:', `  token: ${TOKEN}`, 'access_log: stdout', 'drain_timeout: 5s',
    'routes:', routesYaml.trim(), '',
  ].join('\n');
}

export class Gateway {
  constructor(routesYaml) {
    this.routesYaml = routesYaml;
    this.dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
    this.errorPath = join(this.dir, 'error.log');
    this.child = null;
    this.exit = null;
  }

  url(path) { return `http://127.0.0.1:${this.port}${path}`; }

  // The config file for a given port; subclasses may run a whole file of their own.
  configText(port) { return makeConfig(port, this.routesYaml); }

  async start(timeoutMs = 10000) {
    this.port = await freePort();
    const configPath = join(this.dir, 'sluice.yaml');
    writeFileSync(configPath, this.configText(this.port));
    const out = openSync(join(this.dir, 'access.log'), 'w');
    const err = openSync(this.errorPath, 'w');
    this.child = spawn(sluiceBin(), ['-c', configPath], { stdio: ['ignore', out, err] });
    closeSync(out);
    closeSync(err);
    this.exited = new Promise((ok) => this.child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      ok(this.exit);
    }));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.exit === null) {
      try {
        const res = await fetch(this.url('/_sluice/health'), { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return this;
      } catch { /* not listening yet */ }
      await sleep(50);
    }
    await this.kill();
    throw new Error(`sluice did not become healthy (exit ${JSON.stringify(this.exit)})\n` +
      this.errorLog());
  }

  errorLog() { return readFileSync(this.errorPath, 'utf8'); }

  async kill() {
    if (this.child && this.exit === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  // SIGTERM, wait up to timeoutMs, then require exit status 0 and a clean stderr.
  async stop(timeoutMs = 10000) {
    if (this.exit === null) {
      this.child.kill('SIGTERM');
      let timer;
      const late = new Promise((ok) => { timer = setTimeout(() => ok(null), timeoutMs); });
      const done = await Promise.race([this.exited, late]);
      clearTimeout(timer);
      if (done === null) {
        await this.kill();
        throw new Error(`sluice did not exit within ${timeoutMs}ms; killed`);
      }
    }
    const log = this.errorLog();
    const found = SANITIZER_MARKERS.filter((m) => log.includes(m));
    if (this.exit.code !== 0 || found.length) {
      throw new Error(`sluice did not exit cleanly: ${JSON.stringify(this.exit)} ` +
        `${found.join(', ')}\n${log.split('\n').slice(-50).join('\n')}`);
    }
  }

  async cleanup() {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // POST to the publish endpoint; resolves to the assigned position.
  async publish(channel, payload, event) {
    const headers = { Authorization: `Bearer ${TOKEN}` };
    if (event) headers.Event = event;
    const res = await fetch(this.url(`/_sluice/publish/${channel}`), {
      method: 'POST', headers, body: payload, signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`publish answered ${res.status}: ${text}`);
    return JSON.parse(text).position;
  }
}
