// A ByteSource that tells how many bytes have been read through it, for a progress display (the
// browser page's worker over a dropped dump). It never buffers: each read goes to the source below.
import type { ByteSource } from './byte-source.js';

/**
 * Counts the bytes read from `inner` and calls `onProgress` with the running total each time it
 * grows past another `step` bytes (and never more often), so a 100 MB read in 64 KiB pages is a
 * hundred calls, not sixteen hundred.
 */
export class ReadProgressSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  /** Bytes returned by reads so far; a byte read twice counts twice. */
  bytesRead = 0;
  private nextReport: number;

  constructor(
    private readonly inner: ByteSource,
    private readonly onProgress: (bytesRead: number) => void,
    private readonly step: number,
  ) {
    this.name = inner.name;
    this.size = inner.size;
    this.nextReport = step;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const bytes = await this.inner.read(offset, length);
    this.bytesRead += bytes.length;
    if (this.bytesRead >= this.nextReport) {
      this.nextReport = (Math.floor(this.bytesRead / this.step) + 1) * this.step;
      this.onProgress(this.bytesRead);
    }
    return bytes;
  }
}
