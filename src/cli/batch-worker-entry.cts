/**
 * The file piscina starts each `stackhog batch` thread from: the worker bundle loaded through V8's
 * code cache (code-cache.cts). A thread that could not use the cache writes it after its first
 * dump, when the code a dump needs has been compiled.
 */
import { join } from 'node:path';
import { loadBundle } from './code-cache.cjs';

type Task = (task: unknown) => Promise<unknown>;
const SAVE_AFTER_TASKS = 1;

const bundle = loadBundle(join(__dirname, 'batch-worker.bundle.cjs'));
const analyseOne = bundle.exports.default as Task;
let done = 0;

export = async function (task: unknown): Promise<unknown> {
  const result = await analyseOne(task);
  if (++done === SAVE_AFTER_TASKS) bundle.saveCache();
  return result;
};
