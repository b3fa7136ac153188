// stackhog's Node helpers: files read with positional reads, symbol directories on disk.
export { openFileSource, openIfExists, type OpenFile } from './file-source.js';
export { FileDirectories } from './directories.js';
