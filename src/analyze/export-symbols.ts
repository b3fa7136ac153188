import { publicSymbol } from '../symbolize/provider.js';
import type { ModuleImages } from '../images/module-images.js';
import type { StackFrame } from '../unwind/frame.js';

/**
 * Names frames in modules without a symbol file after their nearest PE export at or below the
 * address, as WinDbg does without PDBs (`kernel32!CreateFileW+0x2a`). Such names are approximate:
 * the frame records that they came from exports.
 */
export async function symbolizeFromExports(frames: readonly StackFrame[], images: ModuleImages): Promise<void> {
  for (const frame of frames) {
    const module = frame.module;
    if (!module || frame.symbol) continue;
    const found = await images.imageFor(module);
    if (!found) continue;
    const rva = Number(frame.instruction - module.base);
    const exports = await found.image.exports();
    const hit = exports.lookup(rva);
    if (!hit) continue;
    // With .pdata the function's start is known: an export before it names some other function.
    const entry = await found.image.functionEntry(rva);
    if (entry && hit.rva < entry.begin) continue;
    frame.symbol = publicSymbol(hit.name, hit.rva);
    frame.symbolSource = 'pe-export';
  }
}
