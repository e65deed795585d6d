// The demo as `deploy/run.sh` runs it, on free loopback ports: sluice on conf/demo.yaml
// (listen port, demo app port and the static root substituted) and the demo app service
// deploy/demo/app.py publishing to it. Both children are tracked by PID and stopped.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gateway, freePort } from '../gateway.mjs';

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// conf/demo.yaml with its addresses moved to the given ports; throws if a line that the
// test relies on is gone, so a change to the demo config is noticed here.
export function demoConfig(sourceDir, port, appPort) {
  let text = readFileSync(join(sourceDir, 'conf', 'demo.yaml'), 'utf8');
  const swap = (from, to) => {
    if (!from.test(text)) throw new Error(`conf/demo.yaml no longer matches ${from}`);
    text = text.replace(from, to);
  };
  swap(/^listen: 127\.0\.0\.1:8080$/m, `listen: 127.0.0.1:${port}`);
  swap(/servers: \[127\.0\.0\.1:3001\]/, `servers: [127.0.0.1:${appPort}]`);
  // The config names the folder relative to conf/; the copy lives in a temp dir.
  swap(/root: \.\.\/deploy\/demo\/public\b.*$/m, `root: ${join(sourceDir, 'deploy', 'demo', 'public')}`);
  return text;
}

// A Gateway (same start/stop/clean-exit checks) that runs a whole config file.
class FileGateway extends Gateway {
  constructor(makeText) {
    super('');
    this.makeText = makeText;
  }

  configText(port) { return this.makeText(port); }
}

async function waitForOk(url, timeoutMs, gaveUp) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gaveUp()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  return false;
}

export class DemoStack {
  constructor(sourceDir, { tokenDelayMs = 20 } = {}) {
    this.sourceDir = sourceDir;
    this.tokenDelayMs = tokenDelayMs;
    this.app = null;
    this.appExit = null;
  }

  url(path) { return this.gateway.url(path); }

  async start() {
    this.appPort = await freePort();
    this.gateway = new FileGateway((port) => demoConfig(this.sourceDir, port, this.appPort));
    await this.gateway.start();
    this.appLogPath = join(this.gateway.dir, 'app.log');
    const log = openSync(this.appLogPath, 'w');
    this.app = spawn('python3', [join(this.sourceDir, 'deploy', 'demo', 'app.py'),
      '--listen', `127.0.0.1:${this.appPort}`, '--sluice', this.gateway.url(''),
      '--token', 'dev-token', '--delay-ms', String(this.tokenDelayMs)],
    { stdio: ['ignore', log, log] });
    closeSync(log);
    this.appExited = new Promise((ok) => this.app.on('exit', (code, signal) => {
      this.appExit = { code, signal };
      ok(this.appExit);
    }));
    const appUrl = `http://127.0.0.1:${this.appPort}/api/health`;
    if (!(await waitForOk(appUrl, 10000, () => this.appExit !== null))) {
      throw new Error(`the demo app did not start (exit ${JSON.stringify(this.appExit)})\n` +
        this.appLog());
    }
    return this;
  }

  appLog() { return readFileSync(this.appLogPath, 'utf8'); }

  // Stops the app (SIGTERM), then sluice with its clean-exit check.
  async stop() {
    if (this.app && this.appExit === null) {
      this.app.kill('SIGTERM');
      const timer = setTimeout(() => this.app.kill('SIGKILL'), 5000);
      await this.appExited;
      clearTimeout(timer);
    }
    if (this.gateway) await this.gateway.stop();
  }

  async cleanup() {
    if (this.app && this.appExit === null) {
      this.app.kill('SIGKILL');
      await this.appExited;
    }
    if (this.gateway) await this.gateway.cleanup();
  }
}
