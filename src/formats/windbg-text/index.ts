export { parseDps } from './dps.js';
export type { DpsCapture, DpsRange, DpsSymbol } from './dps.js';
export { parseLm } from './lm.js';
export type { LmModule } from './lm.js';
export { parseKf } from './kf.js';
export { listingKind, type ListingKind } from './listing.js';
export type { KfRow } from './kf.js';
export { parseSymbol } from './tokens.js';
export type { WindbgSymbol } from './tokens.js';
