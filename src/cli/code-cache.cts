/**
 * Loads one of the build's CommonJS bundles (dist/cli/*.bundle.cjs) through V8's code cache: the
 * bytecode of every function a previous run compiled is kept beside the bundle as `<bundle>.v8cache`
 * and handed back to V8, so a start skips parsing and compiling most of the ~800 KB bundle. Node 20
 * has no compile cache of its own for this (module.enableCompileCache arrived in Node 22).
 *
 * V8 checks the cache against its own version, its flags and the source, and rejects one that does
 * not fit; the bundle is then compiled as usual and the cache is written again. `npm run build`
 * writes it once by running the sample; later runs only read it. Writing is atomic (a temporary
 * file renamed into place) and its failure (a read-only install) is silent: the cache only saves
 * time.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createRequire, wrap } from 'node:module';
import { Script } from 'node:vm';

export interface LoadedBundle {
  /** The bundle's module.exports. */
  readonly exports: Record<string, unknown>;
  /** True when V8 took the cache; false when there was none or it was rejected. */
  readonly cached: boolean;
  /** Writes the cache from what has been compiled so far, when this load could not use it; once. */
  saveCache(): void;
}

export function loadBundle(file: string): LoadedBundle {
  const cacheFile = `${file}.v8cache`;
  // A shebang line is not JavaScript inside the CommonJS wrapper.
  const source = readFileSync(file, 'utf8').replace(/^#!.*/, '');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The bundles hold no import() (scripts/bundle.mjs turns it into require()).
  const script = new Script(wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const cached = cachedData !== undefined && script.cachedDataRejected !== true;
  const module = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  let saved = cached;
  return {
    exports: module.exports,
    cached,
    saveCache() {
      if (saved) return;
      saved = true;
      const part = `${dirname(file)}/.${basename(cacheFile)}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      try {
        writeFileSync(part, script.createCachedData());
        renameSync(part, cacheFile);
      } catch {
        // Read-only or full: the next start compiles the bundle again, nothing more.
      }
    },
  };
}
