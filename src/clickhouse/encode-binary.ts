/**
 * Insert bodies in `RowBinaryWithNamesAndTypes`, for servers that read it (22.1+) and rows
 * whose every value has an exact binary form for its column's type. The header names each
 * column with the type `DESCRIBE TABLE` gave, and the server checks it against the table
 * (`input_format_with_types_use_header`, on by default): a table changed since it was
 * described refuses the statement at its header, before any row is read, instead of
 * reading bytes as the wrong type.
 *
 * Only types whose binary form is plain are written this way: integers up to 64 bits,
 * Float64, Bool, String, DateTime, Enum8/16, and Nullable, LowCardinality and Array of
 * these. A value of another form (a string for an integer column, a number for a
 * DateTime) or a column of another type leaves the whole statement to JSONEachRow, which
 * reads every form the client accepts.
 */
import type { ColumnType } from './column-type.js';
import { ChunkWriter, MALFORMED, put, rowParts, writeLength, writeText } from './encode-bytes.js';
import { EPOCH_TEXT_END_MS, encodePlain } from './encode.js';
import { type FormMakers, type InsertPlan, type RowCodec, binaryForm, changedError, compiledRowCodec } from './encode-compiled.js';
import type { Row } from './types.js';

/** A column's binary form: whether a value has one, and writing it (only values that fit). */
interface Codec {
  fits(value: unknown): boolean;
  write(out: ChunkWriter, value: unknown): void;
}

/**
 * How to write rows giving exactly `keys` in binary: the statement's head, then the
 * header and one row after another. Made once per statement.
 *
 * @example
 * const plan = binaryPlan('`t`', ['id', 'name'], types);
 * if (plan && rows.every(plan.fits)) for (const chunk of binaryParts(plan, rows)) send(chunk);
 */
export interface BinaryPlan extends InsertPlan {
  readonly header: Buffer;
  readonly unreadable: undefined;
}

/**
 * The table's column types as `DESCRIBE TABLE` gives them: parsed, and the text the header carries.
 *
 * @example
 * const types: ColumnTypes = new Map([['id', { type: parseColumnType('UInt32'), text: 'UInt32' }]]);
 */
export type ColumnTypes = ReadonlyMap<string, { readonly type: ColumnType; readonly text: string }>;

/**
 * The plan for rows giving `keys`, after the statement line `head` (`insertHead(...,
 * 'RowBinaryWithNamesAndTypes')`), or `undefined` when a column is not in `types` or its
 * type has no plain binary form here (the statement goes as JSONEachRow).
 *
 * @example
 * binaryPlan(insertHead('`t`', '(`id`)', 'RowBinaryWithNamesAndTypes'), ['id'], new Map([['id', { type: parseColumnType('UInt32'), text: 'UInt32' }]]));
 */
export function binaryPlan(head: string, keys: readonly string[], types: ColumnTypes, compile = true): BinaryPlan | undefined {
  if (keys.length === 0) return undefined;
  const codecs: Codec[] = [];
  const header = new ChunkWriter();
  writeLength(header, keys.length);
  const texts: string[] = [];
  const parsed: ColumnType[] = [];
  for (const key of keys) {
    const column = types.get(key);
    const codec = column && codecFor(column.type);
    if (!column || !codec) return undefined;
    codecs.push(codec);
    texts.push(column.text);
    parsed.push(column.type);
    writeText(header, key);
  }
  for (const text of texts) writeText(header, text);
  const rows = (compile ? compiledRowCodec(keys, parsed, texts) : undefined) ?? codecRows(keys, codecs);
  const plan: BinaryPlan = {
    head, header: Buffer.concat(header.take()), fits: rows.fits, write: rows.write, unreadable: undefined, parts: (all, out) => binaryParts(plan, all, out),
  };
  return plan;
}

// The rows of a plan written by its columns' codecs, one call per value (a plan too wide to compile).
function codecRows(keys: readonly string[], codecs: readonly Codec[]): RowCodec {
  const n = keys.length;
  const fits = (row: Row): boolean => {
    for (let i = 0; i < n; i++) if (!(codecs[i] as Codec).fits(row[keys[i] as string])) return false;
    return true;
  };
  const write = (out: ChunkWriter, row: Row): void => {
    for (let i = 0; i < n; i++) {
      const codec = codecs[i] as Codec;
      const value = row[keys[i] as string];
      if (!codec.fits(value)) throw changedError(keys[i] as string);
      try {
        codec.write(out, value);
      } catch (err) {
        // A string that changed into one without a UTF-8 form: refused as the text encoder refuses it.
        if (err === MALFORMED) encodePlain(value, keys[i] as string);
        throw err;
      }
    }
  };
  return { fits, write };
}

/**
 * The statement's body in parts, as `statementParts` gives a JSONEachRow one: the head and
 * header, then each row; every part is the chunks filled so far and the rows written by then.
 *
 * @example
 * for (const part of binaryParts(plan, rows)) send(part.chunks);
 */
export function binaryParts(plan: BinaryPlan, rows: readonly Row[], out = new ChunkWriter()): Generator<{ chunks: Buffer[]; rows: number }> {
  out.text(plan.head);
  put(out, plan.header);
  return rowParts(rows, plan.write, out);
}

const isSafe = Number.isSafeInteger;

function integer(bytes: 1 | 2 | 4, signed: boolean): Codec {
  const lo = signed ? -(2 ** (bytes * 8 - 1)) : 0;
  const hi = signed ? 2 ** (bytes * 8 - 1) - 1 : 2 ** (bytes * 8) - 1;
  const put = bytes === 1 ? (b: Buffer, v: number, at: number) => { b[at] = v & 0xff; }
    : bytes === 2 ? (signed ? (b: Buffer, v: number, at: number) => b.writeInt16LE(v, at) : (b: Buffer, v: number, at: number) => b.writeUInt16LE(v, at))
      : signed ? (b: Buffer, v: number, at: number) => b.writeInt32LE(v, at) : (b: Buffer, v: number, at: number) => b.writeUInt32LE(v, at);
  return {
    fits: (v) => typeof v === 'number' && isSafe(v) && v >= lo && v <= hi,
    write(out, v) {
      out.room(bytes);
      put(out.buf, v as number, out.pos);
      out.pos += bytes;
    },
  };
}

const TWO_32 = 2 ** 32;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function integer64(signed: boolean): Codec {
  return {
    fits: (v) => (typeof v === 'number' ? isSafe(v) && (signed || v >= 0)
      : typeof v === 'bigint' && (signed ? v >= I64_MIN && v <= I64_MAX : v >= 0n && v <= U64_MAX)),
    write(out, v) {
      out.room(8);
      if (typeof v === 'bigint') {
        if (signed) out.buf.writeBigInt64LE(v, out.pos);
        else out.buf.writeBigUInt64LE(v, out.pos);
      } else {
        // Two's complement halves of a safe integer: the high half floors, the low is what is left.
        const high = Math.floor((v as number) / TWO_32);
        out.buf.writeUInt32LE((v as number) - high * TWO_32, out.pos);
        out.buf.writeInt32LE(high, out.pos + 4);
      }
      out.pos += 8;
    },
  };
}

const float64: Codec = {
  fits: (v) => typeof v === 'number',
  write(out, v) {
    out.room(8);
    // -0 as 0, as the text path writes it.
    out.buf.writeDoubleLE((v as number) + 0, out.pos);
    out.pos += 8;
  },
};

const bool: Codec = {
  fits: (v) => typeof v === 'boolean' || v === 0 || v === 1,
  write(out, v) {
    out.room(1);
    out.buf[out.pos++] = v === true || v === 1 ? 1 : 0;
  },
};

const string: Codec = {
  fits: (v) => typeof v === 'string',
  write: (out, v) => writeText(out, v as string),
};

// A Date within DateTime's range, as its whole seconds (what the JSONEachRow path sends too).
const dateTime: Codec = {
  fits: (v) => v instanceof Date && v.getTime() >= 0 && v.getTime() < EPOCH_TEXT_END_MS,
  write(out, v) {
    out.room(4);
    out.buf.writeUInt32LE(Math.floor((v as Date).getTime() / 1000), out.pos);
    out.pos += 4;
  },
};

function enumeration(type: ColumnType): Codec {
  const byName = new Map<string, number>();
  type.args.forEach((name, i) => byName.set(String(name), (type.values ?? [])[i] as number));
  const known = new Set(byName.values());
  const width = type.name === 'Enum8' ? 1 : 2;
  const code = (v: unknown): number | undefined => (typeof v === 'string' ? byName.get(v) : typeof v === 'number' && known.has(v) ? v : undefined);
  return {
    fits: (v) => code(v) !== undefined,
    write(out, v) {
      out.room(width);
      if (width === 1) out.buf.writeInt8(code(v) as number, out.pos);
      else out.buf.writeInt16LE(code(v) as number, out.pos);
      out.pos += width;
    },
  };
}

function nullable(inner: Codec): Codec {
  return {
    fits: (v) => v === null || inner.fits(v),
    write(out, v) {
      out.room(1);
      out.buf[out.pos++] = v === null ? 1 : 0;
      if (v !== null) inner.write(out, v);
    },
  };
}

function array(inner: Codec): Codec {
  return {
    fits(v) {
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (!inner.fits(v[i])) return false;
      return true;
    },
    write(out, v) {
      const items = v as unknown[];
      writeLength(out, items.length);
      for (let i = 0; i < items.length; i++) inner.write(out, items[i]);
    },
  };
}

const CODECS: FormMakers<Codec> = { integer, integer64, float64, bool, string, dateTime, enumeration, nullable, array: (inner) => array(inner) };

function codecFor(type: ColumnType): Codec | undefined {
  return binaryForm(type, CODECS);
}
