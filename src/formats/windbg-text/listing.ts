// Which WinDbg listing a text holds: users paste lm or k output where dps output is wanted.
import { parseDps } from './dps.js';
import { parseKf } from './kf.js';
import { promptCommand, splitLines } from './tokens.js';

export type ListingKind = 'dps' | 'lm' | 'k';

const DUMP_COMMAND = /^d[pdq]s(?:\s|$)/i;
const LM_COMMAND = /^lm/i;
const K_COMMAND = /^k[bcdfnpPv]*(?:\s|$)/;
const LM_HEADER = /^\s*start\s+end\s+module\s+name\b/i;
const K_HEADER = /\b(?:ChildEBP|Child-SP|ChildSP)\b/i;
// The symbol state lm prints after each module name.
const LM_SYMBOL_STATE = /\((?:deferred|pdb symbols|private pdb symbols|public symbols|export symbols|no symbols|codeview symbols)\)/i;

/**
 * What a text is, by the commands typed at its prompts and its column headers, else by its lines:
 * a dps/dds/dqs capture, an lm module list or a k-family stack listing. A dps command anywhere wins,
 * since a capture may hold other commands too; text with no sign of any is taken for dps.
 */
export function listingKind(text: string): ListingKind {
  let lm = 0;
  let k = 0;
  let lmStates = 0;
  for (const line of splitLines(text)) {
    const command = promptCommand(line) ?? (DUMP_COMMAND.test(line.trim()) ? line.trim() : undefined);
    if (command !== undefined && DUMP_COMMAND.test(command)) return 'dps';
    if ((command !== undefined && LM_COMMAND.test(command)) || LM_HEADER.test(line)) lm++;
    else if ((command !== undefined && K_COMMAND.test(command)) || K_HEADER.test(line)) k++;
    if (LM_SYMBOL_STATE.test(line)) lmStates++;
  }
  if (lm > 0 && lm >= k) return 'lm';
  if (k > 0) return 'k';
  // No command nor header: kf rows (Memory ChildEBP RetAddr) read as few dps lines; lm rows carry symbol states.
  const dpsLines = parseDps(text).lines;
  if (lmStates > 0 && lmStates * 2 >= dpsLines) return 'lm';
  if (parseKf(text).length > 2 * dpsLines) return 'k';
  return 'dps';
}
