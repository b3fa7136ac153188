// Test support: the real `stackhog serve` in a child process (dist/cli/main.js), its URL read from
// the first line it prints, stopped with a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface RunningServe {
  readonly url: string;
  readonly child: ChildProcess;
  /** Sends the signal and resolves with how the process ended and what it wrote on stderr. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts `stackhog serve --port 0 ...args`; rejects with its stderr when it ends before printing a URL. */
export function startServe(...args: string[]): Promise<RunningServe> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n');
      if (line.length < 2) return;
      resolve({
        url: line[0]!,
        child,
        stop: async (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return { ...(await exited), stderr };
        },
      });
    });
    void exited.then(({ code }) => reject(new Error(`stackhog serve ended (exit ${code}) before printing its URL: ${stderr}`)));
  });
}
