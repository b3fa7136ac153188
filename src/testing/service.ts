// Test support for the processing service: a real redis-server (Debian's package, which .ci/run
// installs) on 127.0.0.1 on a free port, in a folder of its own, with append-only persistence so a
// restart keeps what was written; and the real `stackhog worker` / `stackhog api` as child
// processes, each ready once it has printed its first line. Everything is stopped by the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REDIS_SERVER = '/usr/bin/redis-server';
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export function hasRedis(): boolean {
  return existsSync(REDIS_SERVER);
}

/** One line naming the missing server and how to get it; undefined when it is there. */
export function missingRedisNote(): string | undefined {
  if (hasRedis()) return undefined;
  return `stackhog tests: ${REDIS_SERVER} is missing, so the processing-service tests (stackhog api, worker, enqueue, results on a real queue) are skipped. They need Debian's redis-server package: apt-get install -y redis-server (.ci/run installs it).`;
}

/** node:test options for a test that needs redis-server. */
export const needsRedis: { readonly skip: string | false } = { skip: hasRedis() ? false : `${REDIS_SERVER} is missing (apt-get install -y redis-server)` };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM: it finishes writing its append-only file) and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPing(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${output()}`);
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (r.stdout?.trim() === 'PONG') return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`redis-server on port ${port} does not answer: ${output()}`);
}

export async function startRedis(): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'stackhog-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  let output = '';
  const launch = async (): Promise<void> => {
    output = '';
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
    await waitForPing(port, child, () => output);
  };
  const halt = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** The first line it printed on stderr (the API's carries its URL). */
  readonly firstLine: string;
  stderr(): string;
  /** Sends the signal (default SIGTERM) and resolves when the process has ended. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `stackhog <args>` and resolves once it has printed a line on stderr. */
export function startStackhog(args: readonly string[]): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let ready = false;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (ready || !stderr.includes('\n')) return;
      ready = true;
      resolve({
        child,
        firstLine: stderr.slice(0, stderr.indexOf('\n')),
        stderr: () => stderr,
        stop: async (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
    void exited.then(({ code }) => {
      if (!ready) reject(new Error(`stackhog ${args[0]} ended (exit ${code}) before it was ready: ${stderr}`));
    });
  });
}

/** The API's URL, from its first line ("stackhog api: listening on http://..."). */
export function apiUrl(api: ServiceProcess): string {
  const m = /listening on (http:\/\/\S+)/.exec(api.firstLine);
  if (!m) throw new Error(`not an API start line: ${api.firstLine}`);
  return m[1]!;
}

/** Polls `check` every 50 ms until it returns a value, for at most `tries` rounds. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, tries = 1200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`gave up waiting: ${what}`);
}

// Run as a script (`node dist/testing/service.js`, as `npm test` does): the one line, when it applies.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const note = missingRedisNote();
  if (note) console.log(note);
}
