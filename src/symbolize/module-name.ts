// How a module is named in stackhog's output: both the analyses (stack usage keys, stack views) and
// the reports need these, so they live below both.
import type { Module } from '../model/snapshot.js';
import { baseName } from './symbol-store.js';

/** The module's file name, as Breakpad prints it (`test_app.exe`). */
export function moduleName(module: Module): string {
  return baseName(module.codeFile);
}

/** Kernel images WinDbg names `nt` and HALs it names `hal`, whatever their file names. */
const KERNEL_IMAGE = /^(ntoskrnl|ntkrnlmp|ntkrnlpa|ntkrpamp)\.exe$/i;
const HAL_IMAGE = /^hal[a-z]*\.dll$/i;

/** WinDbg's module name: the file name without its extension (`nt` and `hal` for the kernel and the HAL). */
export function windbgModuleName(module: Module): string {
  const file = baseName(module.codeFile);
  if (KERNEL_IMAGE.test(file)) return 'nt';
  if (HAL_IMAGE.test(file)) return 'hal';
  const dot = file.lastIndexOf('.');
  return dot > 0 ? file.slice(0, dot) : file;
}
