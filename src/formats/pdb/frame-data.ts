/**
 * FPO and FrameData records (the DBI debug header's FPO and "new FPO" streams) as Breakpad's STACK
 * WIN records. A stub until the FrameData reader lands: it finds nothing, so callers already wire it.
 */
import type { WindowsFrameInfo } from '../breakpad-sym/index.js';
import type { PdbFile } from './pdb-file.js';

/** The frame data of a PDB, looked up by module-relative address. */
export function readFrameInfo(pdb: PdbFile): Promise<{ find(rva: number): WindowsFrameInfo | undefined }> {
  void pdb;
  return Promise.resolve({ find: () => undefined });
}
