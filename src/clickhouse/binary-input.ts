/**
 * The cursor the RowBinary readers read from, and the two ways reading stops: a type no
 * reader exists for, and bytes that end inside a value (for a stream: wait for more).
 */
import { ProtocolError } from './errors.js';

/**
 * Thrown while compiling readers for a column type the binary decoder cannot read (an
 * `AggregateFunction` state, say): the caller asks for the text form instead.
 *
 * @example
 * try { decodeRowBinary(bytes, ctx); } catch (e) { if (e instanceof UnsupportedBinaryType) retryAsText(); }
 */
export class UnsupportedBinaryType extends ProtocolError {
  constructor(readonly typeName: string) {
    super(`cannot read a ${typeName} value in RowBinary`, 200);
  }
}

/**
 * The bytes end inside a value: an error for a whole body, "wait for more" for a stream.
 *
 * @example
 * try { read(input); } catch (e) { if (e instanceof Incomplete) waitFor(e.needed); }
 */
export class Incomplete extends ProtocolError {
  /** `at`: where the value starts; `needed`: the offset it reaches; `length`: the body's. */
  constructor(at: number, readonly needed: number, length = at) {
    super(`RowBinary body ends inside a value: the value at byte ${at} takes ${needed - at} bytes, the body has ${Math.max(0, length - at)} of them`, 200);
  }
}

// Buffer's own UTF-8 slice, without toString's argument checks (a tenth of a string's cost
// when strings are short); toString where a runtime lacks it.
type SlicingBuffer = Buffer & { utf8Slice(start: number, end: number): string };
const OWN_SLICE = typeof (Buffer.prototype as Partial<SlicingBuffer>).utf8Slice === 'function';

/**
 * What a partial input throws when it runs short (made once: a stream runs short at the end
 * of almost every chunk, and an error's stack costs more than the chunk's rows); the offset
 * it needs is the input's `needed`.
 *
 * @example
 * try { read(input); } catch (e) { if (e === SHORT) waitFor(input.needed); }
 */
export const SHORT = new Incomplete(0, 0);

/**
 * A 64-bit value whose high 32-bit half is within ±2^21 is within ±(2^53 - 1): read as a
 * number from its two halves, no bigint made.
 *
 * @example
 * if (high < SAFE_HIGH && high > -SAFE_HIGH) return high * 0x1_0000_0000 + low;
 */
export const SAFE_HIGH = 0x20_0000;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A bigint as a number when it is a safe integer, else as it is (`int64: 'auto'`).
 *
 * @example
 * numberIfSafe(5n); // 5
 * numberIfSafe(2n ** 60n); // 1152921504606846976n
 */
export function numberIfSafe(big: bigint): number | bigint {
  return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
}

/**
 * A cursor over the body.
 *
 * @example
 * const input = new Input(Buffer.from([42])); input.u8(); // 42
 */
export class Input {
  pos = 0;
  /** For a `partial` input that ran short: the offset the value being read needs to reach. */
  needed = 0;

  /** `partial`: the bytes of a stream so far; running short is then the common case, thrown without an error's stack. */
  constructor(readonly buf: Buffer, readonly partial = false) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.short(this.pos + n);
  }

  /** What running short of bytes before `end` throws: `Incomplete`, or for a partial input the shared `SHORT`. */
  short(end: number): Incomplete {
    if (!this.partial) return new Incomplete(this.pos, end, this.buf.length);
    this.needed = end;
    return SHORT;
  }

  varint(): number {
    // Most lengths are under 128: one byte.
    const first = this.buf[this.pos];
    if (first !== undefined && first < 0x80) {
      this.pos++;
      return first;
    }
    let value = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const byte = this.buf[this.pos++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
      if (shift > 49) throw new ProtocolError(`RowBinary length at byte ${this.pos} is too large`, 200);
    }
  }

  bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    if (end > this.buf.length) throw this.short(end);
    this.pos = end;
    if (n === 0) return '';
    return OWN_SLICE ? (this.buf as SlicingBuffer).utf8Slice(start, end) : this.buf.toString('utf8', start, end);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
}

/**
 * Reads one value at the cursor and moves it past.
 *
 * @example
 * const read: Reader = (input) => input.u8();
 */
export type Reader = (input: Input) => unknown;
