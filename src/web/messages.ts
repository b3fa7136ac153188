// What the page and its analysis worker say to each other (structured-cloned by postMessage).
import type { FileKind } from '../symbolize/file-set.js';

/** Page → worker: analyse every dump among these files, with the others as their symbols and images. */
export interface AnalyseRequest {
  readonly type: 'analyse';
  readonly files: readonly File[];
}

export type WorkerMessage =
  /** What each file was taken for (by its first bytes), and why a symbol file or image cannot be used. */
  | { readonly type: 'files'; readonly kinds: readonly { readonly name: string; readonly kind: FileKind }[]; readonly notes: readonly string[] }
  | { readonly type: 'progress'; readonly dump: number; readonly name: string; readonly bytesRead: number; readonly size: number }
  /** `html`: the whole report document, as `stackhog --format html` writes it. */
  | { readonly type: 'report'; readonly dump: number; readonly name: string; readonly html: string; readonly bytesRead: number; readonly size: number; readonly notes: readonly string[] }
  | { readonly type: 'failed'; readonly dump: number; readonly name: string; readonly message: string }
  | { readonly type: 'done'; readonly dumps: number };
