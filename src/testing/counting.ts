// Test support: byte sources that count what is read from them, so a test can bound the work a
// parse or an analysis does (reads and bytes asked for) instead of timing it.
import type { ByteSource } from '../io/byte-source.js';
import type { ImageBytes } from '../formats/pe/pe-image.js';

/** Reads asked of a source, and the bytes they asked for. */
export interface ReadCounts {
  reads: number;
  bytes: number;
}

/**
 * A ByteSource that counts the reads passed on to another. Past `maxBytes` asked for, reads fail:
 * a parser that regressed to reading without bound stops at once instead of running for minutes.
 */
export class CountingSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  readonly counts: ReadCounts = { reads: 0, bytes: 0 };

  constructor(
    private readonly inner: ByteSource,
    private readonly maxBytes = Infinity,
  ) {
    this.name = inner.name;
    this.size = inner.size;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    this.counts.reads++;
    this.counts.bytes += length;
    if (this.counts.bytes > this.maxBytes) return Promise.reject(new Error(`${this.name}: over the budget of ${this.maxBytes} bytes read`));
    return this.inner.read(offset, length);
  }
}

/** PE image bytes that count the reads passed on (pages, when a table is read page by page). */
export function countingImageBytes(inner: ImageBytes, counts: ReadCounts): ImageBytes {
  return {
    name: inner.name,
    layout: inner.layout,
    read(offset, length) {
      counts.reads++;
      counts.bytes += length;
      return inner.read(offset, length);
    },
  };
}
