/**
 * The text forms of values read from RowBinary: what the server prints for a Decimal, a
 * UUID, an IP address, a day, a time of day, and the lossless forms this client gives for
 * a DateTime64 of precision above 3 and for JSON with integers past 2^53.
 */
import { ProtocolError } from './errors.js';
import type { Int64Mode } from './types.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A Decimal's text: every digit, padded to the column's scale (as 18.16 prints it, so
 * both engines give the same text).
 *
 * @example
 * decimalText(-50n, 3); // '-0.050'
 */
export function decimalText(value: bigint, scale: number): string {
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    const whole = digits.slice(0, digits.length - scale);
    // Padded to the column's scale, as 18.16 prints it: the same text from either engine.
    digits = `${whole}.${digits.slice(digits.length - scale)}`;
  }
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUID's text from its 16 RowBinary bytes.
 *
 * @example
 * uuidText(bytes); // '61f0c404-5cb3-11e7-907b-a6006ad3dba0'
 */
export function uuidText(b: Buffer): string {
  // Two UInt64, each little-endian: the text reads each half from its last byte to its first.
  let hex = '';
  for (let i = 7; i >= 0; i--) hex += HEX[b[i] as number];
  for (let i = 15; i >= 8; i--) hex += HEX[b[i] as number];
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * An IPv4 address's text from its UInt32 value.
 *
 * @example
 * ipv4Text(0x01020304); // '1.2.3.4'
 */
export function ipv4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * An IPv6 address (16 bytes, network order) as the server prints it: the longest run of
 * two or more zero groups as `::`, an IPv4-mapped or -compatible address with its last 32
 * bits dotted.
 *
 * @example
 * ipv6Text(Buffer.from('00000000000000000000ffff01020304', 'hex')); // '::ffff:1.2.3.4'
 */
export function ipv6Text(b: Buffer): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) best = -1;
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
    return `${bestLen === 6 ? '::' : '::ffff:'}${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += (words[i] as number).toString(16);
    if (i < 7) out += ':';
  }
  return out;
}

const DAY_MS = 86_400_000;

/**
 * A Date or Date32 (days since 1970-01-01) as `YYYY-MM-DD`.
 *
 * @example
 * dayText(0); // '1970-01-01'
 */
export function dayText(days: number): string {
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A `DateTime64` of precision above 3 as an ISO 8601 UTC text with all its digits, e.g.
 * `2020-01-01T00:00:00.123456789Z` (a JS `Date` would keep milliseconds only).
 *
 * @example
 * preciseInstant(1_577_836_800_123_456n, 6); // '2020-01-01T00:00:00.123456Z'
 */
export function preciseInstant(ticks: bigint, precision: number): string {
  const per = 10n ** BigInt(precision);
  let seconds = ticks / per;
  let fraction = ticks % per;
  if (fraction < 0n) { fraction += per; seconds -= 1n; }
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${whole}.${fraction.toString().padStart(precision, '0')}Z`;
}

/**
 * A `Time` or `Time64` value as the server prints it: `[-]HH:MM:SS[.fff]`, hours past 24
 * as they are (`100:00:00`).
 *
 * @example
 * timeText(-5n, 0); // '-00:00:05'
 */
export function timeText(ticks: bigint, precision: number): string {
  const negative = ticks < 0n;
  let rest = negative ? -ticks : ticks;
  const per = 10n ** BigInt(precision);
  const fraction = rest % per;
  rest /= per;
  const two = (n: bigint): string => n.toString().padStart(2, '0');
  const text = `${two(rest / 3600n)}:${two((rest / 60n) % 60n)}:${two(rest % 60n)}`;
  return `${negative ? '-' : ''}${text}${precision > 0 ? `.${fraction.toString().padStart(precision, '0')}` : ''}`;
}

/**
 * Parses JSON text as `JSON.parse` does, except that an integer outside the safe range
 * keeps its digits: a bigint (int64 `'auto'`/`'bigint'`) or its text (`'string'`).
 *
 * @example
 * parseJson('{"a":12345678901234567890}', 'auto'); // { a: 12345678901234567890n }
 */
export function parseJson(text: string, int64: Int64Mode): unknown {
  if (!/\d{16}/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON text: the careful reader below says where, as the client's error, not a bare SyntaxError.
    }
  }
  const p = { pos: 0 };
  const fail = (): never => { throw new ProtocolError(`cannot parse JSON value at ${p.pos}: ${JSON.stringify(text.slice(0, 100))}`, 200); };
  const space = (): void => { while (/\s/.test(text[p.pos] ?? '')) p.pos++; };
  const value = (): unknown => {
    space();
    const ch = text[p.pos];
    if (ch === '{') {
      p.pos++;
      const out: Record<string, unknown> = {};
      space();
      if (text[p.pos] === '}') { p.pos++; return out; }
      for (;;) {
        space();
        const key = str();
        space();
        if (text[p.pos++] !== ':') fail();
        setOwn(out, key, value());
        space();
        const next = text[p.pos++];
        if (next === '}') return out;
        if (next !== ',') fail();
      }
    }
    if (ch === '[') {
      p.pos++;
      const out: unknown[] = [];
      space();
      if (text[p.pos] === ']') { p.pos++; return out; }
      for (;;) {
        out.push(value());
        space();
        const next = text[p.pos++];
        if (next === ']') return out;
        if (next !== ',') fail();
      }
    }
    if (ch === '"') return str();
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?|^true|^false|^null/.exec(text.slice(p.pos, p.pos + 400));
    if (!m) return fail();
    p.pos += m[0].length;
    const token = m[0];
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (token === 'null') return null;
    if (m[1] === undefined && m[2] === undefined && token.replace('-', '').length > 15) {
      const big = BigInt(token);
      if (big > MAX_SAFE || big < -MAX_SAFE) return int64 === 'string' ? token : big;
    }
    return Number(token);
  };
  const str = (): string => {
    if (text[p.pos] !== '"') fail();
    let end = p.pos + 1;
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    if (end >= text.length) fail();
    const out = JSON.parse(text.slice(p.pos, end + 1)) as string;
    p.pos = end + 1;
    return out;
  };
  const out = value();
  space();
  if (p.pos !== text.length) fail();
  return out;
}

function setOwn(row: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  else row[name] = value;
}

/**
 * The shortest decimal that reads back as the same Float32, as the server prints it.
 *
 * @example
 * shortestFloat32(Math.fround(1.1)); // 1.1
 */
export function shortestFloat32(value: number): number {
  // An integer below 2^24 is exact in a Float32 and printed whole; a larger one may have fewer digits (123456792 is 123456790).
  if (!Number.isFinite(value) || (Number.isInteger(value) && Math.abs(value) < 16_777_216)) return value;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(9));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/**
 * A BFloat16 (the upper 16 bits of a Float32) as a number.
 *
 * @example
 * bfloat16(0x3f80); // 1
 */
export function bfloat16(bits: number): number {
  u32[0] = bits << 16;
  return f32[0] as number;
}

/**
 * A FixedString without the NUL bytes that pad it.
 *
 * @example
 * stripNuls('ab\0\0'); // 'ab'
 */
export function stripNuls(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end--;
  return end === text.length ? text : text.slice(0, end);
}

