/**
 * Decoding of `RowBinaryWithNamesAndTypes` results (servers 22.1+): one reader per column,
 * compiled once per header from the column types, reading each value from its bytes. The
 * binary form says what the text forms leave ambiguous (a `NULL` inside a `Variant`, a
 * `Dynamic` value's type, a `Map`'s keys) and needs no time-zone lookup for `DateTime`.
 * The JS form of each type is the README's "Type mapping" table.
 */
import { BoundedCache } from './bounded-cache.js';
import { type RowBuild, rowBuilder } from './row-builder.js';
import { compiledRowReader } from './decode-compiled.js';
import { type ColumnType, parseColumnType, structuralType } from './column-type.js';
import { ProtocolError } from './errors.js';
import { Input, type Reader, SAFE_HIGH, UnsupportedBinaryType, numberIfSafe } from './binary-input.js';
import { SELECT_FORMAT } from './prepare.js';
import type { Int64Mode, Row, Settings } from './types.js';
import {
  bfloat16, dayText, decimalText, ipv4Text, ipv6Text, parseJson, preciseInstant, shortestFloat32, stripNuls, timeText, uuidText,
} from './binary-values.js';

/**
 * What a binary select needs of the server whatever the caller's settings: JSON values as
 * their text, and the header's types as names.
 *
 * @example
 * queryPath(server, [options.settings, BINARY_SETTINGS], queryId);
 */
export const BINARY_SETTINGS: Settings = { output_format_binary_write_json_as_string: 1, output_format_binary_encode_types_in_binary_format: 0 };

const TEXT_FORMAT = `FORMAT ${SELECT_FORMAT}`;

/**
 * A prepared select's body asking for `RowBinaryWithNamesAndTypes` instead of text;
 * `undefined` for a body that does not end in the select format.
 *
 * @example
 * binarySelectBody('SELECT 1\nFORMAT TabSeparatedWithNamesAndTypes'); // 'SELECT 1\nFORMAT RowBinaryWithNamesAndTypes'
 */
export function binarySelectBody(body: string): string | undefined {
  return body.endsWith(TEXT_FORMAT) ? `${body.slice(0, -TEXT_FORMAT.length)}FORMAT RowBinaryWithNamesAndTypes` : undefined;
}

/**
 * What binary decoding needs besides the body.
 *
 * @example
 * decodeRowBinary(bytes, { int64: 'auto' } satisfies BinaryContext);
 */
export interface BinaryContext {
  readonly int64: Int64Mode;
}

export { UnsupportedBinaryType, Input, type Reader } from './binary-input.js';

/**
 * Decodes a `RowBinaryWithNamesAndTypes` body into row objects (see the README's "Type
 * mapping"). Throws `ProtocolError` when the bytes end inside a row or do not match the
 * header, and `UnsupportedBinaryType` for a column type it cannot read.
 *
 * @example
 * decodeRowBinary(Buffer.from([1, 1, 0x78, 5, 0x55, 0x49, 0x6e, 0x74, 0x38, 42]), { int64: 'auto' }); // [{ x: 42 }]
 */
export function decodeRowBinary(body: Buffer, context: BinaryContext): Row[] {
  if (body.length === 0) return [];
  const input = new Input(body);
  const { readers, build } = readHeader(input, context);
  const rows: Row[] = [];
  while (input.pos < body.length) rows.push(build(readers, input));
  return rows;
}

/**
 * The header of a `RowBinaryWithNamesAndTypes` body at the cursor (column count, names,
 * types): the column names, a reader per column and the compiled row builder.
 *
 * @example
 * const { names, readers, build } = readHeader(new Input(body), { int64: 'auto' });
 */
export function readHeader(input: Input, context: BinaryContext): { names: string[]; readers: Reader[]; build: RowBuild<Input> } {
  const count = input.varint();
  const names: string[] = [];
  const typeTexts: string[] = [];
  for (let i = 0; i < count; i++) names.push(input.string());
  for (let i = 0; i < count; i++) typeTexts.push(input.string());
  const readers = readersOf(typeTexts, context);
  return { names, readers, build: compiledRowReader(names, typeTexts, context.int64) ?? rowBuilder<Input>(names, 'cursor') };
}

function setField(row: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  else row[name] = value;
}

// Readers per int64 mode and header types: a result of the same shape compiles once.
const compiled = new BoundedCache<Reader[]>({ maxEntries: 256, maxKeyLength: 4_096, maxChars: 256 * 1024 });

/**
 * The readers of a header's column types, compiled once per shape.
 *
 * @example
 * const [readId] = readersOf(['UInt32'], { int64: 'auto' });
 */
export function readersOf(typeTexts: readonly string[], context: BinaryContext): Reader[] {
  const key = JSON.stringify([context.int64, typeTexts]);
  let readers = compiled.get(key);
  if (readers === undefined) {
    readers = typeTexts.map((t) => readerOf(parseColumnType(t), context));
    compiled.set(key, readers);
  }
  return readers;
}

/**
 * The reader of one value of `type` in RowBinary. Throws `UnsupportedBinaryType` for a
 * type it cannot read.
 *
 * @example
 * const read = readerOf(parseColumnType('Nullable(UInt8)'), { int64: 'auto' });
 */
export function readerOf(type: ColumnType, context: BinaryContext): Reader {
  const arg = (i: number): ColumnType => type.args[i] as ColumnType;
  switch (type.name) {
    case 'UInt8': return (r) => r.u8();
    case 'Bool': return (r) => r.u8() !== 0;
    case 'Int8': return fixed(1, (b, p) => b.readInt8(p));
    case 'UInt16': return fixed(2, (b, p) => b.readUInt16LE(p));
    case 'Int16': return fixed(2, (b, p) => b.readInt16LE(p));
    case 'UInt32': return fixed(4, (b, p) => b.readUInt32LE(p));
    case 'Int32': return fixed(4, (b, p) => b.readInt32LE(p));
    case 'UInt64': return wide(8, false, context.int64);
    case 'Int64': return wide(8, true, context.int64);
    case 'UInt128': return wide(16, false, context.int64);
    case 'Int128': return wide(16, true, context.int64);
    case 'UInt256': return wide(32, false, context.int64);
    case 'Int256': return wide(32, true, context.int64);
    case 'Float32': return fixed(4, (b, p) => shortestFloat32(b.readFloatLE(p)));
    case 'Float64': return fixed(8, (b, p) => b.readDoubleLE(p));
    case 'BFloat16': return fixed(2, (b, p) => bfloat16(b.readUInt16LE(p)));
    case 'String': return (r) => r.string();
    case 'FixedString': {
      const n = type.args[0] as number;
      return (r) => stripNuls(r.bytes(n).toString('utf8'));
    }
    case 'UUID': return (r) => uuidText(r.bytes(16));
    case 'IPv4': return fixed(4, (b, p) => ipv4Text(b.readUInt32LE(p)));
    case 'IPv6': return (r) => ipv6Text(r.bytes(16));
    case 'Date': return fixed(2, (b, p) => dayText(b.readUInt16LE(p)));
    case 'Date32': return fixed(4, (b, p) => dayText(b.readInt32LE(p)));
    case 'DateTime': return fixed(4, (b, p) => new Date(b.readUInt32LE(p) * 1000));
    case 'DateTime64': {
      const precision = type.args[0] as number;
      if (precision <= 3) {
        const scale = 10 ** (3 - precision);
        return fixed(8, (b, p) => new Date(Number(b.readBigInt64LE(p)) * scale));
      }
      return fixed(8, (b, p) => preciseInstant(b.readBigInt64LE(p), precision));
    }
    case 'Time': return fixed(4, (b, p) => timeText(BigInt(b.readInt32LE(p)), 0));
    case 'Time64': {
      const precision = type.args[0] as number;
      return fixed(8, (b, p) => timeText(b.readBigInt64LE(p), precision));
    }
    case 'Enum8': case 'Enum16': {
      const names = new Map<number, string>();
      type.args.forEach((name, i) => names.set(type.values?.[i] ?? i + 1, String(name)));
      const read = type.name === 'Enum8' ? fixed(1, (b, p) => b.readInt8(p)) : fixed(2, (b, p) => b.readInt16LE(p));
      return (r) => {
        const value = read(r) as number;
        const name = names.get(value);
        if (name === undefined) throw new ProtocolError(`${type.name} value ${value} has no name in its type`, 200);
        return name;
      };
    }
    case 'Decimal': case 'Decimal32': case 'Decimal64': case 'Decimal128': case 'Decimal256': {
      const [precision, scale] = type.name === 'Decimal' ? [type.args[0] as number, type.args[1] as number] : [decimalPrecision(type.name), type.args[0] as number];
      const bytes = precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
      if (bytes === 4) return fixed(4, (b, p) => decimalText(BigInt(b.readInt32LE(p)), scale));
      if (bytes === 8) return fixed(8, (b, p) => decimalText(b.readBigInt64LE(p), scale));
      return (r) => decimalText(signedInt(r.bytes(bytes)), scale);
    }
    case 'Nullable': {
      const inner = readerOf(arg(0), context);
      return (r) => (r.u8() !== 0 ? null : inner(r));
    }
    case 'LowCardinality': case 'SimpleAggregateFunction':
      return readerOf(type.name === 'LowCardinality' ? arg(0) : arg(type.args.length - 1), context);
    case 'Nothing': return (r) => { r.u8(); return null; };
    case 'Array': {
      const item = readerOf(arg(0), context);
      return (r) => {
        const n = r.varint();
        // Made at its length (a pushed array keeps room for 16 or more), unless the length
        // is more than the bytes left could hold: then the bytes run out first.
        const out: unknown[] = n <= r.buf.length - r.pos ? new Array<unknown>(n) : [];
        for (let i = 0; i < n; i++) out[i] = item(r);
        return out;
      };
    }
    case 'Tuple': {
      const items = type.args.map((a) => readerOf(a as ColumnType, context));
      const fields = type.args.map((a) => (a as ColumnType).field);
      if (fields.length > 0 && fields.every((f) => f !== undefined)) {
        const keys = fields as string[];
        return (r) => {
          const out: Record<string, unknown> = {};
          for (let i = 0; i < items.length; i++) setField(out, keys[i] as string, (items[i] as Reader)(r));
          return out;
        };
      }
      return (r) => items.map((item) => item(r));
    }
    case 'Map': {
      const key = readerOf(arg(0), context);
      const value = readerOf(arg(1), context);
      return (r) => {
        const n = r.varint();
        const out = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) {
          const k = key(r);
          out.set(k, value(r));
        }
        return out;
      };
    }
    case 'Nested': case 'Point': case 'Ring': case 'LineString': case 'Polygon': case 'MultiLineString': case 'MultiPolygon':
      return readerOf(structuralType(type), context);
    case 'Variant': {
      const variants = type.args.map((a) => readerOf(a as ColumnType, context));
      return (r) => {
        const which = r.u8();
        if (which === 255) return null;
        const read = variants[which];
        if (read === undefined) throw new ProtocolError(`Variant discriminator ${which} is out of range`, 200);
        return read(r);
      };
    }
    case 'Dynamic': return dynamicReader(context);
    case 'JSON': case 'Object': {
      // Asked as text (output_format_binary_write_json_as_string=1), parsed keeping every integer digit.
      return (r) => parseJson(r.string(), context.int64);
    }
    case 'IntervalNanosecond': case 'IntervalMicrosecond': case 'IntervalMillisecond': case 'IntervalSecond':
    case 'IntervalMinute': case 'IntervalHour': case 'IntervalDay': case 'IntervalWeek': case 'IntervalMonth':
    case 'IntervalQuarter': case 'IntervalYear':
      return wide(8, true, context.int64);
  }
  throw new UnsupportedBinaryType(type.name);
}

function fixed(size: number, read: (buf: Buffer, at: number) => unknown): Reader {
  return (r) => {
    r.need(size);
    const at = r.pos;
    r.pos += size;
    return read(r.buf, at);
  };
}

function wide(size: 8 | 16 | 32, signed: boolean, mode: Int64Mode): Reader {
  const raw: Reader = size === 8
    ? fixed(8, signed ? (b, p) => b.readBigInt64LE(p) : (b, p) => b.readBigUInt64LE(p))
    : (r) => (signed ? signedInt(r.bytes(size)) : unsignedInt(r.bytes(size)));
  if (mode === 'bigint') return raw;
  if (mode === 'string') return (r) => String(raw(r));
  // A 64-bit value whose high half is small is a safe number: read as two halves, no bigint made.
  if (size === 8) {
    return (r) => {
      r.need(8);
      const at = r.pos;
      const high = signed ? r.buf.readInt32LE(at + 4) : r.buf.readUInt32LE(at + 4);
      if (high < SAFE_HIGH && high > -SAFE_HIGH) {
        r.pos += 8;
        return high * 0x1_0000_0000 + r.buf.readUInt32LE(at);
      }
      return numberIfSafe(raw(r) as bigint);
    };
  }
  return (r) => numberIfSafe(raw(r) as bigint);
}

// A 128- or 256-bit integer, little-endian.
function unsignedInt(bytes: Buffer): bigint {
  let out = 0n;
  for (let i = bytes.length - 8; i >= 0; i -= 8) out = (out << 64n) | bytes.readBigUInt64LE(i);
  return out;
}

function signedInt(bytes: Buffer): bigint {
  const value = unsignedInt(bytes);
  const bits = BigInt(bytes.length * 8);
  return (bytes[bytes.length - 1] as number) & 0x80 ? value - (1n << bits) : value;
}

function decimalPrecision(name: string): number {
  return name === 'Decimal32' ? 9 : name === 'Decimal64' ? 18 : name === 'Decimal128' ? 38 : 76;
}

// Dynamic values carry their type in the binary type encoding: the reader of each type met is compiled once.
function dynamicReader(context: BinaryContext): Reader {
  const byType = new Map<string, Reader>();
  return (r) => {
    const start = r.pos;
    const type = binaryType(r);
    if (type.name === 'Nothing') return null;
    const key = r.buf.toString('latin1', start, r.pos);
    let read = byType.get(key);
    if (read === undefined) {
      read = readerOf(type, context);
      if (byType.size < 256) byType.set(key, read);
    }
    return read(r);
  };
}

const SIMPLE_TYPES: Record<number, string> = {
  0x00: 'Nothing', 0x01: 'UInt8', 0x02: 'UInt16', 0x03: 'UInt32', 0x04: 'UInt64', 0x05: 'UInt128', 0x06: 'UInt256',
  0x07: 'Int8', 0x08: 'Int16', 0x09: 'Int32', 0x0a: 'Int64', 0x0b: 'Int128', 0x0c: 'Int256', 0x0d: 'Float32',
  0x0e: 'Float64', 0x0f: 'Date', 0x10: 'Date32', 0x11: 'DateTime', 0x15: 'String', 0x1d: 'UUID', 0x28: 'IPv4',
  0x29: 'IPv6', 0x2d: 'Bool', 0x31: 'BFloat16', 0x32: 'Time',
};
const INTERVALS = ['Nanosecond', 'Microsecond', 'Millisecond', 'Second', 'Minute', 'Hour', 'Day', 'Week', 'Month', 'Quarter', 'Year'];

/**
 * Reads a type in the server's binary type encoding (how a `Dynamic` value names its
 * type) as a `ColumnType`.
 *
 * @example
 * binaryType(input); // { name: 'Array', args: [{ name: 'UInt8', args: [] }] } for bytes 1E 01
 */
function binaryType(r: Input): ColumnType {
  const code = r.u8();
  const simple = SIMPLE_TYPES[code];
  if (simple !== undefined) return { name: simple, args: [] };
  const t = (name: string, args: ColumnType['args'] = []): ColumnType => ({ name, args });
  const list = (): ColumnType[] => Array.from({ length: r.varint() }, () => binaryType(r));
  const named = (): ColumnType[] => Array.from({ length: r.varint() }, () => {
    const field = r.string();
    return { ...binaryType(r), field };
  });
  switch (code) {
    case 0x12: return t('DateTime', [r.string()]);
    case 0x13: return t('DateTime64', [r.u8()]);
    case 0x14: { const p = r.u8(); return t('DateTime64', [p, r.string()]); }
    case 0x16: return t('FixedString', [r.varint()]);
    case 0x17: case 0x18: {
      const n = r.varint();
      const names: string[] = [];
      const values: number[] = [];
      for (let i = 0; i < n; i++) {
        names.push(r.string());
        const b = r.bytes(code === 0x17 ? 1 : 2);
        values.push(code === 0x17 ? b.readInt8(0) : b.readInt16LE(0));
      }
      return { name: code === 0x17 ? 'Enum8' : 'Enum16', args: names, values };
    }
    case 0x19: case 0x1a: case 0x1b: case 0x1c: { const p = r.u8(); return t('Decimal', [p, r.u8()]); }
    case 0x1e: return t('Array', [binaryType(r)]);
    case 0x1f: return t('Tuple', list());
    case 0x20: return t('Tuple', named());
    case 0x22: {
      const kind = r.u8();
      return t(`Interval${INTERVALS[kind] ?? 'Unknown'}`);
    }
    case 0x23: return t('Nullable', [binaryType(r)]);
    case 0x26: return t('LowCardinality', [binaryType(r)]);
    case 0x27: { const k = binaryType(r); return t('Map', [k, binaryType(r)]); }
    case 0x2a: return t('Variant', list());
    case 0x2b: r.u8(); return t('Dynamic');
    case 0x2c: return t(r.string());
    case 0x2f: return t('Nested', named());
    case 0x30: {
      // JSON(...) parameters: read past them; the value comes as text.
      r.u8(); r.varint(); r.u8();
      const typed = r.varint();
      for (let i = 0; i < typed; i++) { r.string(); binaryType(r); }
      for (let k = 0; k < 2; k++) { const n = r.varint(); for (let i = 0; i < n; i++) r.string(); }
      return t('JSON');
    }
    case 0x34: return t('Time64', [r.u8()]);
  }
  throw new UnsupportedBinaryType(`type code 0x${code.toString(16)}`);
}

