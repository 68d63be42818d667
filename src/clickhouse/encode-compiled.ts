/**
 * The RowBinary row writer of an insert plan, compiled once per column list and types: each
 * column's check and bytes are written out in place over a local buffer and position, and
 * each value is read by a named property, so that no call dispatches on the column's type.
 * It writes the same bytes as the codecs of `encode-binary.ts` (which write the rows of a
 * plan too wide to compile) and takes the same values; the tests hold the two together.
 */
import { BoundedCache } from './bounded-cache.js';
import type { ColumnType } from './column-type.js';
import { type ChunkWriter, MALFORMED, writeText } from './encode-bytes.js';
import { EPOCH_TEXT_END_MS, encodePlain } from './encode.js';
import { QueryParamError } from './errors.js';
import type { Row } from './types.js';

/**
 * How one big statement of an insert is written (`binaryPlan`, `tsvPlan`): made once per
 * statement, for rows giving the same columns.
 *
 * @example
 * if (plan && rows.every(plan.fits)) for (const part of plan.parts(rows, new ChunkWriter())) send(part.chunks);
 */
export interface InsertPlan {
  /** The statement's line, `INSERT INTO ... FORMAT ...`. */
  readonly head: string;
  /** True when every value of `row` has its column's plain form. */
  readonly fits: (row: Row) => boolean;
  /** Writes `row`, which must fit (checked again: a row changed since throws). */
  readonly write: (out: ChunkWriter, row: Row) => void;
  /** For a text body, a line no row of these columns reads as (the server then refuses the statement); undefined for a binary body. */
  readonly unreadable: string | undefined;
  /** The body in parts: the head, then the rows; each part the chunks filled so far and the rows written by then. */
  readonly parts: (rows: readonly Row[], out: ChunkWriter) => Generator<{ chunks: Buffer[]; rows: number }>;
}

/**
 * A plan's row check and row writer: `fits` is true when every value has its column's binary
 * form; `write` writes a row that fits, and throws `QueryParamError` naming the column of a
 * value that no longer does (the caller changed it since).
 *
 * @example
 * const rows = compiledRowCodec(['id'], [parseColumnType('UInt32')], ['UInt32']);
 * if (rows && rows.fits(row)) rows.write(out, row);
 */
export interface RowCodec {
  readonly fits: (row: Row) => boolean;
  readonly write: (out: ChunkWriter, row: Row) => void;
}

/**
 * A way to write rows: its column forms (`makers`), what their code calls (`kit`, with
 * `malformed`, what a string without a UTF-8 form throws), and the code written between two
 * columns and after the last. `BINARY_FORM` is RowBinary's; `encode-tsv.ts` has TabSeparated's.
 *
 * @example
 * compiledRowCodec(keys, types, texts, BINARY_FORM);
 */
export interface RowForm<G extends Gen = Gen> {
  readonly name: string;
  readonly makers: (consts: unknown[]) => FormMakers<G>;
  readonly kit: { readonly malformed: Error };
  readonly between: string;
  readonly end: string;
}

/** RowBinary: each column's bytes, nothing between them. */
export const BINARY_FORM: RowForm = { name: 'binary', makers: (consts) => binaryGens(consts), kit: { text: writeText, malformed: MALFORMED }, between: '', end: '' } as RowForm;

// Past this many columns the codecs write the row (a function this long is not optimised well).
const MAX_COLUMNS = 64;

const compiled = new BoundedCache<RowCodec>({ maxEntries: 256, maxKeyLength: 8_192, maxChars: 256 * 1024 });

/**
 * The compiled check and writer for rows giving `keys` (in that order) into columns of
 * `types`; `undefined` for a plan too wide to compile or a type it has no code for (the
 * codecs then write the rows). Types must be ones `encode-binary.ts` has a codec for.
 *
 * @example
 * compiledRowCodec(['id', 's'], [parseColumnType('UInt32'), parseColumnType('String')], ['UInt32', 'String'])?.write(out, { id: 1, s: 'a' });
 */
export function compiledRowCodec<G extends Gen>(keys: readonly string[], types: readonly ColumnType[], typeTexts: readonly string[], form: RowForm<G> = BINARY_FORM as RowForm<G>): RowCodec | undefined {
  if (keys.length === 0 || keys.length > MAX_COLUMNS) return undefined;
  const cacheKey = `${form.name}\u0001${keys.join('\u0000')}\u0001${typeTexts.join('\u0000')}`;
  const known = compiled.get(cacheKey);
  if (known !== undefined) return known;
  const consts: unknown[] = [];
  const makers = form.makers(consts);
  const gens = types.map((type) => binaryForm(type, makers));
  if (gens.some((g) => g === undefined)) return undefined;
  const read = (i: number): string => `v = row[${JSON.stringify(keys[i])}];`;
  const fits = (gens as Gen[]).map((g, i) => `${read(i)} ${g.check('v', 'return false;')}`).join('\n');
  const write = (gens as G[]).map((g, i) => {
    const code = `${read(i)} ${g.check('v', `{ out.pos = pos; throw changed(${i}); }`)} ${g.write('v')}`;
    // A string that changed into one without a UTF-8 form: refused as the text encoder refuses it, naming the column or element.
    return g.text ? `try { ${code} } catch (err) { if (err === kit.malformed) plain(v, keys[${i}]); throw err; }` : code;
  }).join(`\n${form.between}\n`);
  const source = `const END = ${EPOCH_TEXT_END_MS};
    return {
      fits(row) { let v, t; ${fits}\nreturn true; },
      write(out, row) { let buf = out.buf, pos = out.pos, v, t, h, l, n, c; ${write}\n${form.end}\nout.pos = pos; },
    };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point: one writer per column list.
  const make = new Function('keys', 'kit', 'K', 'changed', 'plain', 'isSafe', source) as (
    keys: readonly string[], kit: RowForm['kit'], consts: unknown[], changed: (i: number) => Error, plain: typeof encodePlain, isSafe: (v: unknown) => boolean) => RowCodec;
  const names = [...keys];
  const codec = make(names, form.kit, consts, (i) => changedError(names[i] as string), encodePlain, Number.isSafeInteger);
  compiled.set(cacheKey, codec);
  return codec;
}

/** The error for a value changed after its check (the same words as the codecs'). */
export function changedError(key: string): QueryParamError {
  return new QueryParamError(key, 'changed after the insert was called, to a value the column cannot take as it is: the statement is cancelled');
}

/**
 * One column type as code: `check(v, fail)` runs `fail` unless value `v` has the type's
 * plain form; `write(v)` appends its bytes (at `buf`/`pos`, making room first); `text`
 * when a string is written (which can fail on a lone surrogate).
 *
 * @example
 * const gen: Gen = { check: (v, fail) => `if (typeof ${v} !== 'string') ${fail}`, write: (v) => `kit.text(out, ${v});`, text: true };
 */
export interface Gen {
  check(v: string, fail: string): string;
  write(v: string): string;
  readonly text: boolean;
}

const room = (n: number): string => `if (pos + ${n} > buf.length) { out.pos = pos; out.room(${n}); buf = out.buf; pos = out.pos; }`;

// The low `bytes` bytes of the integer in `x`, little-endian (two's complement for a negative one).
function le(x: string, bytes: number): string {
  const out = [`buf[pos++] = ${x} & 255;`];
  for (let i = 1; i < bytes; i++) out.push(`buf[pos++] = (${x} >>> ${8 * i}) & 255;`);
  return out.join(' ');
}

function integer(bytes: number, signed: boolean): Gen {
  const lo = signed ? -(2 ** (bytes * 8 - 1)) : 0;
  const hi = signed ? 2 ** (bytes * 8 - 1) - 1 : 2 ** (bytes * 8) - 1;
  return {
    check: (v, fail) => `if (!(typeof ${v} === 'number' && isSafe(${v}) && ${v} >= ${lo} && ${v} <= ${hi})) ${fail}`,
    write: (v) => `${room(bytes)} ${le(v, bytes)}`,
    text: false,
  };
}

function integer64(signed: boolean): Gen {
  const [lo, hi] = signed ? ['-9223372036854775808n', '9223372036854775807n'] : ['0n', '18446744073709551615n'];
  return {
    check: (v, fail) => `if (!(typeof ${v} === 'number' ? isSafe(${v})${signed ? '' : ` && ${v} >= 0`} : typeof ${v} === 'bigint' && ${v} >= ${lo} && ${v} <= ${hi})) ${fail}`,
    // A number as its two's complement halves: the high half floors, the low is what is left.
    write: (v) => `${room(8)} if (typeof ${v} === 'bigint') { buf.${signed ? 'writeBigInt64LE' : 'writeBigUInt64LE'}(${v}, pos); pos += 8; }
      else { h = Math.floor(${v} / 4294967296); l = ${v} - h * 4294967296; ${le('l', 4)} ${le('h', 4)} }`,
    text: false,
  };
}

const float64: Gen = {
  check: (v, fail) => `if (typeof ${v} !== 'number') ${fail}`,
  // -0 as 0, as the text path writes it.
  write: (v) => `${room(8)} buf.writeDoubleLE(${v} + 0, pos); pos += 8;`,
  text: false,
};

const bool: Gen = {
  check: (v, fail) => `if (!(typeof ${v} === 'boolean' || ${v} === 0 || ${v} === 1)) ${fail}`,
  write: (v) => `${room(1)} buf[pos++] = ${v} === true || ${v} === 1 ? 1 : 0;`,
  text: false,
};

const string: Gen = {
  check: (v, fail) => `if (typeof ${v} !== 'string') ${fail}`,
  write: (v) => `out.pos = pos; kit.text(out, ${v}); buf = out.buf; pos = out.pos;`,
  text: true,
};

// A Date within DateTime's range, as its whole seconds.
const dateTime: Gen = {
  check: (v, fail) => `if (!(${v} instanceof Date && (t = ${v}.getTime()) >= 0 && t < END)) ${fail}`,
  write: (v) => `${room(4)} t = Math.floor(${v}.getTime() / 1000); ${le('t', 4)}`,
  text: false,
};

function enumeration(type: ColumnType, consts: unknown[]): Gen {
  const byName = new Map<string, number>();
  type.args.forEach((name, i) => byName.set(String(name), (type.values ?? [])[i] as number));
  const names = `K[${consts.push(byName) - 1}]`;
  const codes = `K[${consts.push(new Set(byName.values())) - 1}]`;
  const width = type.name === 'Enum8' ? 1 : 2;
  return {
    check: (v, fail) => `if (!(typeof ${v} === 'string' ? ${names}.has(${v}) : typeof ${v} === 'number' && ${codes}.has(${v}))) ${fail}`,
    write: (v) => `${room(width)} c = typeof ${v} === 'string' ? ${names}.get(${v}) : ${v}; ${le('c', width)}`,
    text: false,
  };
}

function nullable(inner: Gen): Gen {
  return {
    check: (v, fail) => `if (${v} !== null) { ${inner.check(v, fail)} }`,
    write: (v) => `${room(1)} if (${v} === null) buf[pos++] = 1; else { buf[pos++] = 0; ${inner.write(v)} }`,
    text: inner.text,
  };
}

// An array's items are `e<depth>`, counted by `j<depth>`: a nested array has names of its own.
function array(inner: Gen, depth: number): Gen {
  const [e, j] = [`e${depth}`, `j${depth}`];
  return {
    check: (v, fail) => `if (!Array.isArray(${v})) ${fail} for (let ${j} = 0; ${j} < ${v}.length; ${j}++) { const ${e} = ${v}[${j}]; ${inner.check(e, fail)} }`,
    // The length as unsigned LEB128, then the items.
    write: (v) => `${room(5)} n = ${v}.length; while (n >= 128) { buf[pos++] = (n & 127) | 128; n >>>= 7; } buf[pos++] = n;
      for (let ${j} = 0; ${j} < ${v}.length; ${j}++) { const ${e} = ${v}[${j}]; ${inner.write(e)} }`,
    text: inner.text,
  };
}

/**
 * Makers of each column type's binary form, for `binaryForm`: the codecs of
 * `encode-binary.ts` and the code written here are made from the same decision of which
 * types have one. `array` gets its nesting depth (1 for a column's own array).
 *
 * @example
 * const makers: FormMakers<string> = { integer: (b) => `int${b * 8}`, ... };
 */
export interface FormMakers<T> {
  integer(bytes: 1 | 2 | 4, signed: boolean): T;
  integer64(signed: boolean): T;
  readonly float64: T;
  readonly bool: T;
  readonly string: T;
  readonly dateTime: T;
  enumeration(type: ColumnType): T;
  nullable(inner: T): T;
  array(inner: T, depth: number): T;
}

const FIXED: Readonly<Record<string, readonly [1 | 2 | 4, boolean]>> = {
  UInt8: [1, false], UInt16: [2, false], UInt32: [4, false], Int8: [1, true], Int16: [2, true], Int32: [4, true],
};

/**
 * A column type's binary form as `make` builds it, or `undefined` for a type without a plain
 * one (integers up to 64 bits, Float64, Bool, String, DateTime, Enum8/16, and Nullable,
 * LowCardinality and Array of these have one).
 *
 * @example
 * binaryForm(parseColumnType('Array(UInt8)'), makers); // makers.array(makers.integer(1, false), 1)
 */
export function binaryForm<T>(type: ColumnType, make: FormMakers<T>, depth = 1): T | undefined {
  const fixed = FIXED[type.name];
  if (fixed) return make.integer(fixed[0], fixed[1]);
  switch (type.name) {
    case 'UInt64': return make.integer64(false);
    case 'Int64': return make.integer64(true);
    case 'Float64': return make.float64;
    case 'Bool': return make.bool;
    case 'String': return make.string;
    case 'DateTime': return make.dateTime;
    case 'Enum8': case 'Enum16': return type.values && type.values.length === type.args.length ? make.enumeration(type) : undefined;
    case 'LowCardinality': return binaryForm(type.args[0] as ColumnType, make, depth);
    case 'Nullable': {
      const inner = binaryForm(type.args[0] as ColumnType, make, depth);
      return inner && make.nullable(inner);
    }
    case 'Array': {
      const inner = binaryForm(type.args[0] as ColumnType, make, depth + 1);
      return inner && make.array(inner, depth);
    }
    default: return undefined;
  }
}

/**
 * The RowBinary code of each form; an enumeration's names and codes go into the compiled
 * function's constants `consts`. Other forms take their checks from these.
 *
 * @example
 * binaryForm(parseColumnType('UInt32'), binaryGens([]))?.check('v', 'return false;');
 */
export const binaryGens = (consts: unknown[]): FormMakers<Gen> => ({
  integer, integer64, float64, bool, string, dateTime, nullable, array, enumeration: (type) => enumeration(type, consts),
});
