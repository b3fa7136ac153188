import { FormatError } from './errors.js';

/**
 * Random-access bytes: a file read with positional reads, an in-memory buffer or a browser Blob.
 * `read` may return fewer bytes than asked only at the end of the source.
 */
export interface ByteSource {
  /** Name used in error messages (usually the file path). */
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * A read of a few bytes that nothing will read near again (a probe for image headers at every
   * 64 KiB of a dump): a caching source answers it without filling its cache with whole pages.
   */
  readUncached?(offset: number, length: number): Promise<Uint8Array>;
}

/** A ByteSource over bytes already in memory. */
export class BufferSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array | ArrayBuffer, name = '<buffer>') {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.size = this.bytes.length;
    this.name = name;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return Promise.resolve(this.readSync(offset, length));
  }

  readSync(offset: number, length: number): Uint8Array {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    return this.bytes.subarray(start, end);
  }
}

/** A ByteSource over a Blob or File (browser, or Node's Blob). */
export class BlobSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly blob: Blob;

  constructor(blob: Blob, name = '<blob>') {
    this.blob = blob;
    this.size = blob.size;
    this.name = name;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    return new Uint8Array(await this.blob.slice(start, end).arrayBuffer());
  }
}

/** Positional read primitive a shell provides (e.g. fs.read on a file handle). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * Wraps a positional reader with a small LRU page cache, so many small reads of neighbouring
 * structures cost one system call per page, while a many-GB file is never read whole.
 */
export class PagedSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly readAt: ReadAt;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly pages = new Map<number, Promise<Uint8Array>>();

  constructor(name: string, size: number, readAt: ReadAt, pageSize = 64 * 1024, maxPages = 64) {
    this.name = name;
    this.size = size;
    this.readAt = readAt;
    this.pageSize = pageSize;
    this.maxPages = maxPages;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    if (end === start) return new Uint8Array(0);
    // Large reads bypass the cache: they are bulk memory or stream loads.
    if (end - start > this.pageSize * 4) return this.readAt(start, end - start);
    const firstPage = Math.floor(start / this.pageSize);
    const lastPage = Math.floor((end - 1) / this.pageSize);
    if (firstPage === lastPage) {
      const page = await this.page(firstPage);
      const base = firstPage * this.pageSize;
      return page.subarray(start - base, end - base);
    }
    const out = new Uint8Array(end - start);
    for (let p = firstPage; p <= lastPage; p++) {
      const page = await this.page(p);
      const base = p * this.pageSize;
      const from = Math.max(start, base);
      const to = Math.min(end, base + page.length);
      out.set(page.subarray(from - base, to - base), from - start);
    }
    return out;
  }

  /**
   * Loads [0, length) with one read into whole cached pages (at most the cache's size): the first
   * pages of a file, where a dump's header, directory and most small streams lie, then cost one
   * read instead of one per structure.
   */
  async prefetch(length: number): Promise<void> {
    const end = Math.min(this.size, length, this.pageSize * this.maxPages);
    const pages = Math.ceil(end / this.pageSize);
    if (pages === 0) return;
    const bytes = await this.readAt(0, Math.min(this.size, pages * this.pageSize));
    for (let p = 0; p < pages && !this.pages.has(p); p++) {
      this.pages.set(p, Promise.resolve(bytes.subarray(p * this.pageSize, Math.min(bytes.length, (p + 1) * this.pageSize))));
    }
  }

  /** From a page already cached, else exactly the bytes asked for, straight from the reader. */
  readUncached(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    const page = Math.floor(start / this.pageSize);
    if (end === start || page !== Math.floor((end - 1) / this.pageSize) || this.pages.has(page)) return this.read(offset, length);
    return this.readAt(start, end - start);
  }

  private page(index: number): Promise<Uint8Array> {
    const cached = this.pages.get(index);
    if (cached) {
      this.pages.delete(index);
      this.pages.set(index, cached);
      return cached;
    }
    const base = index * this.pageSize;
    const loading = this.readAt(base, Math.min(this.pageSize, this.size - base));
    this.pages.set(index, loading);
    if (this.pages.size > this.maxPages) {
      const oldest = this.pages.keys().next().value;
      if (oldest !== undefined) this.pages.delete(oldest);
    }
    return loading;
  }
}

/** Reads exactly `length` bytes or throws a FormatError naming the structure. */
export async function readExact(
  source: ByteSource,
  offset: number,
  length: number,
  structure: string,
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError(source.name, structure, offset, `invalid range (length ${length})`);
  }
  if (offset + length > source.size) {
    throw new FormatError(
      source.name,
      structure,
      offset,
      `needs ${length} bytes but the file ends at 0x${source.size.toString(16)} (truncated?)`,
    );
  }
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new FormatError(source.name, structure, offset, `short read: ${bytes.length} of ${length} bytes`);
  }
  return bytes;
}
