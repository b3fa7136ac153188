export { MsfFile, MsfStream, isMsf, MSF_MAGIC, type MsfSuperBlock } from './msf.js';
export { readPdbInfo, type PdbInfo } from './info.js';
export { readDbi, NO_STREAM, type Dbi, type DbiHeader, type DbiModule, type DbiDebugStreams, type SectionContribution } from './dbi.js';
export { PdbFile, PdbStream, type SectionHeader } from './pdb-file.js';
export { readFrameInfo, frameInfoIndex, decodeFpoData, decodeFrameData, type PdbFrameInfo } from './frame-data.js';
export { readStringTable, stringTable, type PdbStringTable } from './string-table.js';
export { readPublicSymbols, PublicSymbolFlags, type PublicSymbol } from './public-symbols.js';
export { parseC13Lines, findLine, StringTable, type C13Lines, type LineEntry, type InlineeSourceLine } from './lines.js';
export {
  SymbolKind,
  walkRecords,
  scanCodeSymbols,
  codeSymbolName,
  readProcedureScopes,
  decodeAnnotations,
  scanPublics,
  type CodeSymbol,
  type InlineSite,
  type InlineRange,
  type PublicSymbol as ScannedPublicSymbol,
} from './symbols.js';
export { TypeStream, TypeNames } from './types.js';
