/**
 * A `stackhog batch` worker thread: one DumpSession for its whole life (so a symbol file parsed for
 * one dump serves the next), one dump per task, answered as the JSON line to append.
 */
import { workerData } from 'node:worker_threads';
import { isFormatError, OptionError } from '../io/errors.js';
import { DumpOpenError, DumpSession, type SessionSettings } from '../node/dump-session.js';
import { StreamTooLargeError } from '../node/file-source.js';
import { toJson } from '../report/json.js';

export interface BatchWorkerData {
  readonly settings: SessionSettings;
  readonly threads: 'all' | 'crashed';
}

export interface BatchTask {
  readonly path: string;
  /** A folder of symbols for this dump alone (a service upload's), searched before the session's. */
  readonly symbols?: string;
}

export interface BatchResult {
  readonly path: string;
  /** The JSON line (no newline): the `--format json` document with `path` first, or `{ path, error, status }`. */
  readonly line: string;
  readonly signature: string | undefined;
  readonly error: string | undefined;
  /** 0 (analysed), 2 (damaged input or failed), 4 (a limit was hit): the CLI's exit codes. */
  readonly exit: 0 | 2 | 4;
  readonly ms: number;
}

const data = workerData as BatchWorkerData;
let session: DumpSession | undefined;

/** Why a dump could not be analysed, in one line. */
function reason(e: unknown): string {
  if (e instanceof DumpOpenError) return `cannot open: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`;
  if (isFormatError(e) || e instanceof OptionError || e instanceof StreamTooLargeError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

export default async function analyseOne(task: BatchTask): Promise<BatchResult> {
  const started = performance.now();
  session ??= new DumpSession(data.settings);
  // A dump with symbols of its own gets a session of its own: the shared one keeps its cache intact.
  const own = task.symbols !== undefined ? new DumpSession({ ...data.settings, symbols: [task.symbols, ...data.settings.symbols] }) : undefined;
  try {
    const run = await (own ?? session).analyzeFile(task.path, { maxStreamBytes: 0 });
    const doc = toJson(run.analysis, { threads: data.threads }) as Record<string, unknown>;
    const a = run.analysis;
    return {
      path: task.path,
      line: JSON.stringify({ path: task.path, ...doc }),
      signature: a.signature.signature,
      error: undefined,
      exit: a.warnings.length > 0 ? 2 : a.limits.length > 0 ? 4 : 0,
      ms: performance.now() - started,
    };
  } catch (e) {
    const error = reason(e);
    return { path: task.path, line: JSON.stringify({ path: task.path, status: 'ERROR', error }), signature: undefined, error, exit: 2, ms: performance.now() - started };
  } finally {
    await own?.close();
  }
}
