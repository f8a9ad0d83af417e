// Starts and stops a real streamgate-worker and streamgate-api on free loopback ports, with the
// demo media (scripts/make-media.sh) for the api to serve.

import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const outDir = path.resolve(here, '..', 'out');

/** Whether 127.0.0.1:port can be listened on now (then released for the program to bind). */
function canListen(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port on 127.0.0.1 below the kernel's ephemeral range, as tests/support/free_port.cpp
 * picks them: a client reconnecting to a program that is down (a page to a restarted api, an
 * api to a restarted worker) could otherwise connect to itself and hold the port the program
 * must bind again.
 */
export async function freePort() {
  const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const highest = Math.max(10_001, (first > 10_000 ? first : 32_768) - 1);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (highest - 10_000 + 1));
    if (await canListen(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

export async function freePorts(count) {
  const ports = new Set();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

// The newest build of a program in a build directory (any preset), when no env var names it.
function newestBuilt(relative) {
  const candidates = readdirSync(repoRoot)
    .filter((d) => d.startsWith('build'))
    .map((d) => path.join(repoRoot, d, relative))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return candidates[0] ?? null;
}

export function resolvePrograms() {
  let api = process.env.STREAMGATE_API || newestBuilt(path.join('api', 'streamgate-api'));
  let worker = process.env.STREAMGATE_WORKER || null;
  // Prefer the worker of the same build directory as the api.
  if (!worker && api) {
    const sibling = path.join(path.dirname(path.dirname(api)), 'worker', 'streamgate-worker');
    worker = existsSync(sibling) ? sibling : null;
  }
  worker ??= newestBuilt(path.join('worker', 'streamgate-worker'));
  if (!api || !worker) {
    throw new Error('streamgate-api / streamgate-worker not found: build them, or set STREAMGATE_API and STREAMGATE_WORKER');
  }
  const webRoot = process.env.STREAMGATE_WEB_ROOT || path.join(repoRoot, 'web');
  const catalog = process.env.STREAMGATE_CATALOG || path.join(repoRoot, 'data', 'catalog.json');
  // Beside the api's build (git-ignored, kept between runs: make-media.sh skips clips made).
  const mediaRoot = process.env.STREAMGATE_MEDIA_ROOT || path.join(path.dirname(path.dirname(api)), 'e2e-media');
  return { worker: [worker], api: [api], webRoot, catalog, mediaRoot };
}

/**
 * Every flag of the programs also reads a STREAMGATE_* variable: the children get the test's
 * environment without them, so a stray variable (this test's own inputs included) changes nothing.
 */
function childEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STREAMGATE_')));
}

// Children still running when this process goes (a failed assertion that skips cleanup, a
// runner's timeout) are killed with it, so no stray api or worker keeps a port.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
}

export class Proc {
  /** env: variables set for this child on top of childEnv() (the api's admin token, say). */
  constructor(name, argv, logFile, env = {}) {
    this.name = name;
    this.argv = argv;
    this.logFile = logFile;
    this.exited = null;
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n$ ${argv.join(' ')}\n`);
    this.child = spawn(argv[0], argv.slice(1), { env: { ...childEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.pipe(log, { end: false });
    this.child.stderr.pipe(log, { end: false });
    running.add(this.child);
    this.exit = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this.child);
        this.exited = { code, signal };
        resolve(this.exited);
      });
      this.child.on('error', (err) => {
        this.exited = { code: -1, signal: null, error: err };
        resolve(this.exited);
      });
    });
  }

  /** SIGTERM (the programs finish in-flight work), SIGKILL if still running after the grace. */
  async stop(graceMs = 5000) {
    if (this.exited) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => { if (!this.exited) this.child.kill('SIGKILL'); }, graceMs);
    const result = await this.exit;
    clearTimeout(timer);
    return result;
  }

  tail(lines = 40) {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

/** Polls GET /health until 200, failing early when the process died. */
export async function waitHealthy(baseUrl, proc, deadlineMs = 20000) {
  const deadline = Date.now() + deadlineMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.name} exited (${JSON.stringify(proc.exited)}) before it was healthy:\n${proc.tail()}`);
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
      last = `HTTP ${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 100)); // the polling period, not a synchronisation
  }
  throw new Error(`${baseUrl}/health not 200 within ${deadlineMs} ms (last: ${last})\n${proc.tail()}`);
}

/**
 * The clip of every catalog video, made once per media root; concurrent runs are safe (the script
 * renames each finished clip into place).
 */
export async function makeMedia(mediaRoot, catalog) {
  await promisify(execFile)(path.join(repoRoot, 'scripts', 'make-media.sh'), [mediaRoot, catalog], { timeout: 120000 });
}

export class Stack {
  /**
   * name prefixes the process logs in out/; apiArgs are added to the api's flags, apiEnv to its
   * environment.
   */
  constructor({ name = '', apiArgs = [], apiEnv = {} } = {}) {
    this.programs = resolvePrograms();
    this.tmp = mkdtempSync(path.join(os.tmpdir(), 'streamgate-e2e-'));
    this.catalog = this.programs.catalog;
    this.mediaRoot = this.programs.mediaRoot;
    this.logPrefix = name ? `${name}-` : '';
    this.apiArgs = apiArgs;
    this.apiEnv = apiEnv;
    this.worker = null;
    this.api = null;
  }

  async start({ leaseSeconds } = {}) {
    await makeMedia(this.mediaRoot, this.catalog);
    [this.requestsPort, this.eventsPort, this.apiPort] = await freePorts(3);
    this.baseUrl = `http://127.0.0.1:${this.apiPort}`;
    this.leaseSeconds = leaseSeconds;
    const workerArgs = [
      '--requests', `tcp://127.0.0.1:${this.requestsPort}`,
      '--events', `tcp://127.0.0.1:${this.eventsPort}`,
      '--store', `sqlite:${path.join(this.tmp, 'sg.db')}`,
      '--catalog', this.catalog,
    ];
    if (leaseSeconds) workerArgs.push('--lease-seconds', String(leaseSeconds));
    this.workerArgs = workerArgs;
    this.startWorker();
    await this.startApi();
  }

  startWorker() {
    this.worker = new Proc('streamgate-worker', [...this.programs.worker, ...this.workerArgs], path.join(outDir, `${this.logPrefix}worker.log`));
  }

  /** A crash of the worker (SIGKILL) and its start again on the same store and ports. */
  async crashAndRestartWorker() {
    this.worker.child.kill('SIGKILL');
    await this.worker.exit;
    this.startWorker();
    await waitHealthy(this.baseUrl, this.worker);
  }

  async startApi() {
    const args = [
      '--listen', `127.0.0.1:${this.apiPort}`,
      '--requests', `tcp://127.0.0.1:${this.requestsPort}`,
      '--events', `tcp://127.0.0.1:${this.eventsPort}`,
      '--web-root', this.programs.webRoot,
      '--media-root', this.mediaRoot,
      ...this.apiArgs,
    ];
    this.api = new Proc('streamgate-api', [...this.programs.api, ...args], path.join(outDir, `${this.logPrefix}api.log`), this.apiEnv);
    await waitHealthy(this.baseUrl, this.api);
    if (this.worker.exited) throw new Error(`streamgate-worker exited:\n${this.worker.tail()}`);
  }

  async stopApi() {
    const api = this.api;
    this.api = null;
    return api?.stop();
  }

  async stop() {
    await this.api?.stop();
    await this.worker?.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }

  logs() {
    return [this.worker, this.api].filter(Boolean).map((p) => `----- ${p.name} (${p.logFile}) -----\n${p.tail()}`).join('\n');
  }

  /** token: sent as a bearer token (an api with --auth token). */
  async rest(method, pathname, body, { token } = {}) {
    const headers = body ? { 'Content-Type': 'application/json' } : {};
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(this.baseUrl + pathname, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
}
