export type { Chain, ModuleRef, RecoveredFrame, StackView, StartTriple } from './stack-view.js';
export { walkFrom, type WalkFromOptions } from './walk-from.js';
export { findChains, scoreChain, type FindChainsOptions } from './find-chains.js';
export { reconstructStack, startCommand, type Reconstruction, type ReconstructOptions } from './reconstruct.js';
