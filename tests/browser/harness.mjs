// What every browser test file needs: the tessera binary on a free port with a fresh data
// directory, its admin commands, headless Chromium, and screenshots.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..');
export const BIN = process.env.TESSERA_BIN
  ? resolve(process.cwd(), process.env.TESSERA_BIN)
  : join(ROOT, 'target', 'release', 'tessera');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'target', 'browser-screenshots');

export const STEP_MS = 10_000; // any single browser action or wait
export const TEST_MS = 30_000; // any single test

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function base64url(buf) {
  return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Environment for the server and CLI: no outside config may leak in. */
function childEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('TESSERA_') && k !== 'TESSERA_BIN') delete env[k];
  }
  return env;
}

/** Servers started by this process: never left behind, even if the runner is interrupted. */
const running = new Set();
process.on('exit', () => {
  for (const s of running) if (s.exitCode === null) s.kill('SIGKILL');
});

/** A `tessera serve` on a free loopback port with a data directory of its own. */
export class Tessera {
  /** `args`: more `serve` flags (e.g. `['--registration', 'token']`); `listen`: the address
   *  (a fixed port, when the public URL must name it before the server starts). */
  constructor(args = [], { listen = '127.0.0.1:0' } = {}) {
    this.args = args;
    this.listen = listen;
    this.dataDir = mkdtempSync(join(tmpdir(), 'tessera-browser-'));
    this.log = '';
    this.base = null; // e.g. http://127.0.0.1:40123
    this.process = null;
  }

  /** Starts the server and waits until /healthz answers 200. */
  async start() {
    this.base = await withTimeout(this.#spawn(), 20_000, 'server start');
    await this.#waitHealthy();
    return this;
  }

  #spawn() {
    return new Promise((resolvePromise, reject) => {
      const server = spawn(BIN, ['serve', '--listen', this.listen, '--data-dir', this.dataDir, ...this.args], {
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.process = server;
      running.add(server);
      let firstLine = null;
      let pending = '';
      server.on('error', reject);
      server.on('exit', (code, signal) => {
        running.delete(server);
        if (firstLine === null) {
          reject(new Error(`server exited (${code ?? signal}) before it listened:\n${this.log}`));
        }
      });
      server.stderr.on('data', (d) => (this.log += d));
      server.stdout.on('data', (d) => {
        this.log += d;
        if (firstLine !== null) return;
        pending += d;
        const nl = pending.indexOf('\n');
        if (nl < 0) return;
        firstLine = pending.slice(0, nl);
        const m = firstLine.match(/https?:\/\/[^\s]+/);
        if (!m) {
          reject(new Error(`no URL in the server's first line: ${firstLine}`));
          return;
        }
        resolvePromise(new URL(m[0]).origin);
      });
    });
  }

  async #waitHealthy() {
    const deadline = Date.now() + 20_000;
    let last;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
        last = `status ${res.status}`;
      } catch (e) {
        last = e.message;
      }
      await sleep(100);
    }
    throw new Error(`/healthz never answered 200 (${last})\n${this.log}`);
  }

  /** Runs `tessera ARGS --data-dir DIR` and parses the one JSON object it prints. */
  admin(args, input) {
    const all = [...args, '--data-dir', this.dataDir];
    return withTimeout(
      new Promise((resolvePromise, reject) => {
        const child = spawn(BIN, all, { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('error', reject);
        child.on('close', (code) => {
          if (code !== 0) {
            reject(new Error(`tessera ${all.join(' ')} exited ${code}: ${err || out}`));
            return;
          }
          try {
            resolvePromise(JSON.parse(out));
          } catch (e) {
            reject(new Error(`tessera ${all.join(' ')} printed no JSON: ${out} ${err}`));
          }
        });
        child.stdin.end(input ?? '');
      }),
      20_000,
      `tessera ${all.join(' ')}`,
    );
  }

  /** SIGTERM (SIGKILL after 5 s), then the data directory goes. */
  async stop() {
    const server = this.process;
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 5_000);
      await withTimeout(exited, 10_000, 'server exit').catch(() => {});
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
    if (process.env.TESSERA_BROWSER_LOG && this.log) process.stderr.write(this.log);
  }
}

/** Headless Chromium, as every test file runs it. */
export function launchChromium() {
  mkdirSync(SHOTS, { recursive: true });
  return withTimeout(
    chromium.launch({
      executablePath: CHROMIUM,
      timeout: 30_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }),
    35_000,
    'chromium launch',
  );
}

/** A full-page PNG in target/browser-screenshots/. */
export async function screenshot(p, name) {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, timeout: STEP_MS });
}

export function pathOf(p) {
  return new URL(p.url()).pathname;
}
