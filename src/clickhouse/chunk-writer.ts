/**
 * The byte chunks an insert's body is written into, and handed over from as they fill.
 */

// A chunk is handed over once it holds this many bytes; the first chunks are smaller (a
// one-row insert allocates 16 KiB), each twice the one before.
const CHUNK_FILL = 256 * 1024;
const FIRST_CHUNK = 16 * 1024;

/**
 * Bytes written into chunks (16 KiB, then twice as big each time up to about 256 KiB); a full
 * chunk is taken (`take`) and a new one begun, never reused (the socket may still hold it).
 *
 * @example
 * const out = new ChunkWriter();
 * out.text('INSERT INTO `t` FORMAT JSONEachRow\n');
 * out.line('{"a":1}');
 * Buffer.concat(out.take()).toString(); // 'INSERT INTO `t` FORMAT JSONEachRow\n{"a":1}\n'
 */
export class ChunkWriter {
  buf: Buffer = Buffer.allocUnsafe(FIRST_CHUNK);
  pos = 0;
  /** Chunks filled while a row was written (a row bigger than the room left). */
  readonly ready: Buffer[] = [];

  /** True once the chunk is worth handing over. */
  get full(): boolean {
    return this.pos >= CHUNK_FILL;
  }

  /** Makes room for `n` more bytes, starting a new chunk if need be. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > 0) this.ready.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(this.#nextSize(), n));
    this.pos = 0;
  }

  /** Appends `text` as UTF-8. */
  text(text: string): void {
    // Three bytes per UTF-16 unit is UTF-8's most (a surrogate pair: four bytes for two units).
    this.room(text.length * 3);
    this.pos += this.buf.write(text, this.pos);
  }

  /** Appends `text` and a newline. */
  line(text: string): void {
    this.room(text.length * 3 + 1);
    this.pos += this.buf.write(text, this.pos);
    this.buf[this.pos++] = 10;
  }

  /** Drops what was written since `ready` held `chunks` chunks and `pos` bytes were in the one being filled (nothing taken since). */
  rewind(chunks: number, pos: number): void {
    if (this.ready.length > chunks) {
      this.buf = this.ready[chunks] as Buffer;
      this.ready.length = chunks;
    }
    this.pos = pos;
  }

  /** The chunks written so far (the ones filled first); the writer starts afresh. */
  take(): Buffer[] {
    const out = this.ready.splice(0);
    if (this.pos > 0) out.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(this.#nextSize());
    this.pos = 0;
    return out;
  }

  #nextSize(): number {
    return Math.min(this.buf.length * 2, CHUNK_FILL + 4096);
  }
}
