// The analysis, off the page's thread: the dropped files are read in place through Blob.slice
// (never loaded whole), the dumps analysed by the same core as the CLI, and each report rendered
// to the HTML document `stackhog --format html` writes.
import { analyze, BlobSource, FileSet, loadPdbSymbols, PagedSource, renderHtml, SymbolStoreProvider, type ByteSource } from '../index.js';
import { ReadProgressSource } from '../io/read-progress.js';
import type { AnalyseRequest, WorkerMessage } from './messages.js';

/** The part of a dedicated worker's global scope used here (the page's DOM typings do not describe a worker's). */
interface WorkerScope {
  postMessage(message: WorkerMessage): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<AnalyseRequest>) => void): void;
}

const scope = self as unknown as WorkerScope;
/** Progress is told about every 1 MiB read. */
const PROGRESS_STEP = 1 << 20;

/** A dropped file read through a page cache (many small reads of neighbouring structures cost one Blob.slice), counted below the cache. */
function fileSource(file: File, onProgress: (bytesRead: number) => void = () => undefined): { source: ByteSource; read: ReadProgressSource } {
  const read = new ReadProgressSource(new BlobSource(file, file.name), onProgress, PROGRESS_STEP);
  return { source: new PagedSource(file.name, file.size, (offset, length) => read.read(offset, length)), read };
}

async function analyseFiles(files: readonly File[]): Promise<void> {
  let set: FileSet;
  try {
    set = await FileSet.of(files.map((f) => fileSource(f).source));
  } catch (e) {
    // A file the browser can no longer read (moved or deleted since it was chosen).
    scope.postMessage({ type: 'failed', dump: 0, name: files[0]?.name ?? '', message: e instanceof Error ? e.message : String(e) });
    scope.postMessage({ type: 'done', dumps: 1 });
    return;
  }
  scope.postMessage({ type: 'files', kinds: set.entries.map((e) => ({ name: e.source.name, kind: e.kind })), notes: set.notes });
  // The entries are the files in order; each dump gets a source of its own whose reads are told as progress.
  const dumps = files.filter((_, i) => set.entries[i]!.kind === 'dump');
  for (const [index, file] of dumps.entries()) {
    const post = (bytesRead: number): void => scope.postMessage({ type: 'progress', dump: index, name: file.name, bytesRead, size: file.size });
    const { source, read } = fileSource(file, post);
    try {
      const symbols = new SymbolStoreProvider([set.symbols], 64, { pdbLoader: loadPdbSymbols });
      const analysis = await analyze(source, {
        // As the CLI: only a given store is searched, so a module is "missing symbols" only when symbol files were given.
        ...(set.hasSymbolFiles ? { symbols } : {}),
        images: [set.images],
      });
      const html = renderHtml(analysis, { source: file.name });
      const notes = [...symbols.warnings, ...analysis.notes, ...analysis.limits, ...analysis.warnings];
      scope.postMessage({ type: 'report', dump: index, name: file.name, html, bytesRead: read.bytesRead, size: file.size, notes });
    } catch (e) {
      scope.postMessage({ type: 'failed', dump: index, name: file.name, message: e instanceof Error ? e.message : String(e) });
    }
  }
  scope.postMessage({ type: 'done', dumps: dumps.length });
}

scope.addEventListener('message', (event) => {
  if (event.data.type === 'analyse') void analyseFiles(event.data.files);
});
