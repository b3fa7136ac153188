#!/usr/bin/env node
/**
 * The `stackhog` command as installed (package.json's bin, ./stackhog): the CLI bundle loaded through
 * V8's code cache (code-cache.cts), which saves about a fifth of a small dump's time. The cache is
 * written at exit when this start could not use it.
 */
import { join } from 'node:path';
import { loadBundle } from './code-cache.cjs';

const bundle = loadBundle(join(__dirname, 'main.bundle.cjs'));
if (!bundle.cached) process.once('exit', () => bundle.saveCache());
