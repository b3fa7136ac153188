// stackhog's Node helpers: files read with positional reads, symbol directories on disk.
export { openDumpSource, openFileSource, openIfExists, readStream, DEFAULT_MAX_STREAM_BYTES, StreamTooLargeError, type OpenFile } from './file-source.js';
export { FileDirectories, symstorePathsOnly } from './directories.js';
export { defaultSymbolCacheDir, SymbolServers, type SymbolServerConfig, type SymbolServerOptions } from './symbol-server.js';
