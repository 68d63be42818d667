// The bytes of RowBinary values, written by hand for the decoders' tests.

/** An unsigned LEB128 length or count. */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return out;
}

/** A String: its UTF-8 length, then its bytes. */
export const str = (s: string): number[] => { const b = [...Buffer.from(s, 'utf8')]; return [...varint(b.length), ...b]; };

/** An integer of `bytes` bytes, little-endian (two's complement for a negative one). */
export const le = (value: bigint, bytes: number): number[] => Array.from({ length: bytes }, (_, i) => Number((BigInt.asUintN(bytes * 8, value) >> BigInt(8 * i)) & 0xffn));
