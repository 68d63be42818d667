/**
 * RowBinary rows read by one function compiled per result header: the common column types
 * (integers up to 32 bits, 64-bit integers that fit a number, Float64, Bool, String,
 * DateTime, Nullable and LowCardinality of these, arrays of fixed-width numbers) are read
 * by code written out in place, over a local byte position; every other column calls its
 * reader from `decode-binary.ts`, so the values are the same whichever way a column is read.
 */
import { BoundedCache } from './bounded-cache.js';
import { type ColumnType, parseColumnType } from './column-type.js';
import { type Input, SAFE_HIGH, numberIfSafe } from './binary-input.js';
import type { RowBuild } from './row-builder.js';
import type { Int64Mode } from './types.js';
import { ProtocolError } from './errors.js';

// Fixed-width numbers: bytes and the Buffer method that reads them.
const FIXED: Readonly<Record<string, readonly [number, string]>> = {
  UInt16: [2, 'readUInt16LE'], Int16: [2, 'readInt16LE'], UInt32: [4, 'readUInt32LE'], Int32: [4, 'readInt32LE'], Float64: [8, 'readDoubleLE'],
};

// Node's Buffer has utf8Slice (what toString('utf8') calls after its checks); otherwise toString.
const utf8 = typeof (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice === 'function'
  ? (from: string, to: string): string => `b.utf8Slice(${from}, ${to})` : (from: string, to: string): string => `b.toString('utf8', ${from}, ${to})`;

// Past this many columns a row is built by the plain builder (a function this long is not optimised well).
const MAX_COLUMNS = 64;

const compiled = new BoundedCache<RowBuild<Input>>({ maxEntries: 256, maxKeyLength: 4_096, maxChars: 256 * 1024 });

/**
 * The compiled row reader for a header, called as `build(readers, input)` like the plain
 * row builder (`readers`: the columns' readers, for the columns it does not write out);
 * `undefined` when no column has a type it writes out, or there are too many columns.
 *
 * @example
 * const build = compiledRowReader(['id', 's'], ['UInt32', 'String'], 'auto');
 * build?.(readers, input); // { id: 1, s: 'a' }
 */
export function compiledRowReader(names: readonly string[], typeTexts: readonly string[], int64: Int64Mode): RowBuild<Input> | undefined {
  if (names.length > MAX_COLUMNS) return undefined;
  // JSON: a column name may hold any character, so no separator could be trusted.
  const key = JSON.stringify([int64, names, typeTexts]);
  const known = compiled.get(key);
  if (known !== undefined) return known;
  const tables: (readonly (string | undefined)[])[] = [];
  const steps = typeTexts.map((text, i) => valueCode(parseColumnType(text), `v${i}`, int64, tables));
  if (steps.every((step) => step === undefined)) return undefined;
  const body = steps.map((step, i) => step ?? delegate(`v${i}`, i)).join('\n');
  const fields = names.map((name, i) => `${name === '__proto__' ? '["__proto__"]' : JSON.stringify(name)}: v${i}`);
  const source = `const b = c.buf, len = b.length; let p = c.pos, n = 0, h = 0; let ${names.map((_, i) => `v${i}`).join(', ')};\n${body}\nc.pos = p;\nreturn {${fields.join(', ')}};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point: one reader per header.
  const constants = tables.map((_, i) => `const t${i} = t[${i}];`).join(' ');
  const build = new Function('k', 't', `${constants}\nreturn function (f, c) {\n${source}\n};`)(KIT, tables) as RowBuild<Input>;
  compiled.set(key, build);
  return build;
}

// What the written-out code calls: a 64-bit value past the halves' fast path, as decode-binary.ts reads it in 'auto' mode.
const KIT = {
  int64: (b: Buffer, p: number): number | bigint => numberIfSafe(b.readBigInt64LE(p)),
  uint64: (b: Buffer, p: number): number | bigint => numberIfSafe(b.readBigUInt64LE(p)),
  // The same error as decode-binary.ts's Enum8 reader.
  noName: (value: number): ProtocolError => new ProtocolError(`Enum8 value ${value} has no name in its type`, 200),
};

// Reads column i with its own reader, from and back to the local position.
const delegate = (v: string, i: number): string => `c.pos = p; ${v} = f[${i}](c); p = c.pos;`;
// Throws the input's "ran short" unless `bytes` more are there.
const need = (bytes: string): string => `if (p + ${bytes} > len) { c.pos = p; throw c.short(p + ${bytes}); }`;

/** The code that reads one value of `type` into `v`, or `undefined` for a type read by its reader. */
function valueCode(type: ColumnType, v: string, int64: Int64Mode, tables: (readonly (string | undefined)[])[]): string | undefined {
  const arg = type.args[0] as ColumnType;
  switch (type.name) {
    case 'UInt8': return `${need('1')} ${v} = b[p++];`;
    case 'Bool': return `${need('1')} ${v} = b[p++] !== 0;`;
    case 'Int8': return `${need('1')} ${v} = (b[p++] << 24) >> 24;`;
    case 'UInt16': case 'Int16': case 'UInt32': case 'Int32': case 'Float64': {
      const [size, method] = FIXED[type.name] as readonly [number, string];
      return `${need(String(size))} ${v} = b.${method}(p); p += ${size};`;
    }
    case 'UInt64': case 'Int64': {
      if (int64 !== 'auto') return undefined;
      // A small high half: a number from the two halves; otherwise read whole (a bigint, or a number after all).
      const signed = type.name === 'Int64';
      return `${need('8')} h = b.${signed ? 'readInt32LE' : 'readUInt32LE'}(p + 4);
${v} = h < ${SAFE_HIGH} && h > -${SAFE_HIGH} ? h * 4294967296 + b.readUInt32LE(p) : k.${signed ? 'int64' : 'uint64'}(b, p); p += 8;`;
    }
    case 'String':
      // A length under 128 is one byte; any other goes through the input's own string reader.
      return `${need('1')} n = b[p];
if (n < 128 && p + 1 + n <= len) { ${v} = n === 0 ? '' : ${utf8('p + 1', 'p + 1 + n')}; p += 1 + n; } else { c.pos = p; ${v} = c.string(); p = c.pos; }`;
    case 'Enum8': {
      // A name for each of the 256 bytes (the value as Int8), looked up in place.
      const names: (string | undefined)[] = new Array<string | undefined>(256).fill(undefined);
      type.args.forEach((name, i) => { names[((type.values?.[i] ?? i + 1) + 256) % 256] = String(name); });
      const t = `t${tables.push(names) - 1}`;
      return `${need('1')} ${v} = ${t}[b[p]]; if (${v} === undefined) { c.pos = p; throw k.noName((b[p] << 24) >> 24); } p++;`;
    }
    case 'DateTime': return `${need('4')} ${v} = new Date(b.readUInt32LE(p) * 1000); p += 4;`;
    case 'LowCardinality': return valueCode(arg, v, int64, tables);
    case 'Nullable': {
      const inner = valueCode(arg, v, int64, tables);
      // An inner type it does not write out: the whole Nullable goes to its reader.
      return inner === undefined ? undefined : `${need('1')} if (b[p++] !== 0) ${v} = null; else { ${inner} }`;
    }
    case 'Array': {
      const item = arg.name === 'UInt8' ? [1, 'readUInt8'] as const : FIXED[arg.name];
      if (item === undefined) return undefined;
      const [size, method] = item;
      // The count first (one byte under 128), then every item's bytes checked at once.
      return `${need('1')} n = b[p];
if (n < 128) p++; else { c.pos = p; n = c.varint(); p = c.pos; }
${need(`n * ${size}`)} ${v} = new Array(n); for (let j = 0; j < n; j++) { ${v}[j] = b.${method}(p); p += ${size}; }`;
    }
  }
  return undefined;
}
