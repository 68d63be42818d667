/**
 * Text written as UTF-8 straight into large buffers, line by line: a request body of a
 * million rows is built without a string of it (no join, no rope of every line for the
 * garbage collector to trace, no second pass turning the text into bytes). Each line is
 * garbage as soon as it is written, so it dies young.
 *
 * @example
 * const out = new ByteBody();
 * out.write('INSERT INTO `t` FORMAT JSONEachRow\n');
 * out.line('{"a":1}');
 * Buffer.concat(out.chunks()).toString(); // 'INSERT INTO `t` FORMAT JSONEachRow\n{"a":1}\n'
 */
export class ByteBody {
  readonly #full: Buffer[] = [];
  #buf: Buffer;
  #at = 0;

  constructor(firstChunk = 16 * 1024) {
    this.#buf = Buffer.allocUnsafe(firstChunk);
  }

  /** Appends `text` as UTF-8. */
  write(text: string): void {
    // Three bytes per UTF-16 unit is UTF-8's most (a surrogate pair: four bytes for two units).
    const most = text.length * 3;
    if (this.#at + most > this.#buf.length) this.#next(most);
    this.#at += this.#buf.write(text, this.#at);
  }

  /** Appends `text` and a newline. */
  line(text: string): void {
    const most = text.length * 3 + 1;
    if (this.#at + most > this.#buf.length) this.#next(most);
    this.#at += this.#buf.write(text, this.#at);
    this.#buf[this.#at++] = 10;
  }

  /** Everything written, in the chunks it was written to (not joined: a copy of a big body costs as much as writing it). */
  chunks(): Buffer[] {
    return [...this.#full, this.#buf.subarray(0, this.#at)];
  }

  #next(most: number): void {
    if (this.#at > 0) {
      this.#full.push(this.#buf.subarray(0, this.#at));
    }
    // Chunks double up to 4 MiB: a small insert allocates little, a big one few times.
    this.#buf = Buffer.allocUnsafe(Math.max(most, Math.min(this.#buf.length * 2, MAX_CHUNK)));
    this.#at = 0;
  }
}

const MAX_CHUNK = 4 * 1024 * 1024;
