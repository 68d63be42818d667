/**
 * A first-in first-out queue of buffers that counts its bytes, with `push` and `shift` in
 * constant time however many chunks it holds. (`Array.prototype.shift` moves every element
 * left, so a queue of a million 7-byte chunks costs seconds.) Taken chunks are cleared to
 * `undefined` and the front is cut off once it is half the array.
 *
 * @example
 * const q = new ChunkQueue();
 * q.push(Buffer.from('ab')); q.push(Buffer.from('c'));
 * q.shift(); // <Buffer 61 62>, and q.bytes is 1
 */
export class ChunkQueue {
  private items: (Buffer | undefined)[] = [];
  private start = 0;
  /** The bytes of every chunk in the queue. */
  bytes = 0;

  /** How many chunks wait. */
  get length(): number {
    return this.items.length - this.start;
  }

  push(chunk: Buffer): void {
    this.items.push(chunk);
    this.bytes += chunk.length;
  }

  /** The oldest chunk, left in the queue. */
  first(): Buffer | undefined {
    return this.items[this.start];
  }

  /** Takes the oldest chunk out. */
  shift(): Buffer | undefined {
    if (this.start >= this.items.length) return undefined;
    const chunk = this.items[this.start] as Buffer;
    this.items[this.start++] = undefined;
    this.bytes -= chunk.length;
    if (this.start === this.items.length) {
      this.items.length = 0;
      this.start = 0;
    } else if (this.start >= 1024 && this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return chunk;
  }

  /** Takes the first `bytes` of the oldest chunk (all of it when it has no more). */
  take(bytes: number): Buffer | undefined {
    const first = this.first();
    if (first === undefined || first.length <= bytes) return this.shift();
    this.items[this.start] = first.subarray(bytes);
    this.bytes -= bytes;
    return first.subarray(0, bytes);
  }

  /** The waiting chunks, oldest first (a copy of the list; the queue is unchanged). */
  toArray(): Buffer[] {
    return this.items.slice(this.start) as Buffer[];
  }

  /** The waiting chunks joined into one buffer. */
  concat(): Buffer {
    return Buffer.concat(this.toArray(), this.bytes);
  }

  clear(): void {
    this.items = [];
    this.start = 0;
    this.bytes = 0;
  }
}
