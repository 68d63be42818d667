/**
 * Insert bodies in `TabSeparated`, for servers before 22.1 (which read no
 * `RowBinaryWithNamesAndTypes`): rows whose every value has its column's plain form, the
 * same rows and the same check as the binary path, written as text by a row writer compiled
 * once per column list and types. A server parses this text in about two thirds of the time
 * it takes for the same rows as JSONEachRow (no keys, no quotes: 71 MB against 125 MB for a
 * million rows of the benchmark's 8 columns), and, unlike binary bytes, text is read by the
 * table's type as it is when the statement runs: a column whose type changed since it was
 * described reads the text as that type, or refuses it, as JSONEachRow would.
 *
 * Values: integers and bigints as digits; floats as JavaScript prints them, `nan`, `inf`,
 * `-inf`; strings with ClickHouse's escapes (`\\`, `\'`, `\t`, `\n`, `\0`, `\b`, `\f`, `\r`,
 * `\xHH`); a DateTime as its ten digits of epoch seconds; an enum by its name; `\N` for a
 * null; arrays as `[1,'a',NULL]`, their strings and DateTimes quoted.
 */
import type { ColumnType } from './column-type.js';
import { type ChunkWriter, MALFORMED, put, rowParts, writeAscii, writeInteger, writeSeconds } from './encode-bytes.js';
import { type FormMakers, type Gen, type InsertPlan, type RowCodec, type RowForm, binaryGens, compiledRowCodec } from './encode-compiled.js';
import { escapeText, isWellFormed } from './params.js';
import type { ColumnTypes } from './encode-binary.js';
import type { Row } from './types.js';

/**
 * How to write rows giving exactly `keys` as TabSeparated: the statement's head, then one
 * line per row. Made once per statement.
 *
 * @example
 * const plan = tsvPlan(insertHead('`t`', '(`id`)', 'TabSeparated'), ['id'], types);
 * if (plan && rows.every(plan.fits)) for (const part of plan.parts(rows, new ChunkWriter())) send(part.chunks);
 */
export interface TsvPlan extends InsertPlan {
  readonly unreadable: string;
}

/**
 * The plan for rows giving `keys`, after the statement line `head` (`insertHead(...,
 * 'TabSeparated')`), or `undefined` when a column is not in `types`, its type has no plain
 * form here, or the list is too wide to compile (the statement goes as JSONEachRow).
 *
 * @example
 * tsvPlan(insertHead('`t`', '(`id`)', 'TabSeparated'), ['id'], new Map([['id', { type: parseColumnType('UInt32'), text: 'UInt32' }]]));
 */
export function tsvPlan(head: string, keys: readonly string[], types: ColumnTypes): TsvPlan | undefined {
  const parsed: ColumnType[] = [];
  const texts: string[] = [];
  for (const key of keys) {
    const column = types.get(key);
    if (!column) return undefined;
    parsed.push(column.type);
    texts.push(column.text);
  }
  const rows: RowCodec | undefined = compiledRowCodec(keys, parsed, texts, TSV_FORM);
  if (rows === undefined) return undefined;
  const plan: TsvPlan = {
    head, fits: rows.fits, write: rows.write, parts: (all, out) => tsvParts(plan, all, out),
    // After the columns a tab where the line must end: refused whatever their types. It follows the last whole row (a row that
    // throws is taken back), with no empty line before it, which a String column would read as a row.
    unreadable: `\u0000 the client stopped this insert: a row no longer encodes${'\t'.repeat(keys.length + 1)}\n`,
  };
  return plan;
}

/**
 * The statement's body in parts, as `binaryParts` gives a binary one: the head, then each
 * row; every part is the chunks filled so far and the rows written by then.
 *
 * @example
 * for (const part of tsvParts(plan, rows)) send(part.chunks);
 */
export function tsvParts(plan: TsvPlan, rows: readonly Row[], out: ChunkWriter): Generator<{ chunks: Buffer[]; rows: number }> {
  out.text(plan.head);
  return rowParts(rows, plan.write, out);
}

// A column's text as code: `write(v)` in a TabSeparated field, `quoted(v)` inside an array.
interface TextGen extends Gen {
  quoted(v: string): string;
}

// A call of a kit function with the writer's local buffer and position handed over and taken back.
const call = (expr: string): string => `out.pos = pos; ${expr}; buf = out.buf; pos = out.pos;`;
const both = (code: (v: string) => string): Pick<TextGen, 'write' | 'quoted'> => ({ write: code, quoted: code });
const bytes = (text: string): string => [...Buffer.from(text)].map((b) => `buf[pos++] = ${b};`).join(' ');
const literal = (text: string): string => `if (pos + ${text.length} > buf.length) { out.pos = pos; out.room(${text.length}); buf = out.buf; pos = out.pos; } ${bytes(text)}`;

// Each form's check is the binary form's (the same values are taken); its writing is text.
function tsvMakers(consts: unknown[]): FormMakers<TextGen> {
  const bin = binaryGens(consts);
  const number = both((v) => call(`kit.number(out, ${v})`));
  return {
    integer: (b, signed) => ({ ...bin.integer(b, signed), ...number }),
    integer64: (signed) => ({ ...bin.integer64(signed), ...both((v) => call(`if (typeof ${v} === 'bigint') kit.ascii(out, String(${v})); else kit.integer(out, ${v})`)) }),
    float64: { ...bin.float64, ...number },
    bool: { ...bin.bool, ...both((v) => `if (${v} === true || ${v} === 1) { ${literal('true')} } else { ${literal('false')} }`) },
    string: { ...bin.string, write: (v) => call(`kit.escaped(out, ${v}, 0)`), quoted: (v) => call(`kit.escaped(out, ${v}, 39)`) },
    dateTime: { ...bin.dateTime, write: (v) => call(`kit.seconds(out, ${v}.getTime(), 0)`), quoted: (v) => call(`kit.seconds(out, ${v}.getTime(), 39)`) },
    enumeration(type) {
      const names = new Map<number, string>();
      type.args.forEach((name, i) => names.set((type.values ?? [])[i] as number, String(name)));
      const byCode = `K[${consts.push(names) - 1}]`;
      const name = (v: string): string => `(typeof ${v} === 'string' ? ${v} : ${byCode}.get(${v}))`;
      return { ...bin.enumeration(type), write: (v) => call(`kit.escaped(out, ${name(v)}, 0)`), quoted: (v) => call(`kit.escaped(out, ${name(v)}, 39)`) };
    },
    nullable: (inner) => ({
      ...bin.nullable(inner),
      write: (v) => `if (${v} === null) { ${literal('\\N')} } else { ${inner.write(v)} }`,
      quoted: (v) => `if (${v} === null) { ${literal('NULL')} } else { ${inner.quoted(v)} }`,
    }),
    array(inner, depth) {
      const [e, j] = [`e${depth}`, `j${depth}`];
      const code = (v: string): string => `${literal('[')} for (let ${j} = 0; ${j} < ${v}.length; ${j}++) { const ${e} = ${v}[${j}]; if (${j} > 0) { ${literal(',')} } ${inner.quoted(e)} } ${literal(']')}`;
      return { ...bin.array(inner, depth), ...both(code) };
    },
  };
}

// What the written-out code calls.
const TSV_KIT = {
  integer: writeInteger,
  ascii: writeAscii,
  // A Float64 or an integer: digits, JavaScript's shortest text, or ClickHouse's words for the rest.
  number(out: ChunkWriter, v: number): void {
    if (Number.isSafeInteger(v)) writeInteger(out, v);
    else if (Number.isFinite(v)) writeAscii(out, String(v));
    else put(out, v > 0 ? INF : v < 0 ? MINUS_INF : NAN);
  },
  escaped: writeEscaped,
  seconds: writeSeconds,
  malformed: MALFORMED,
};
const [INF, MINUS_INF, NAN] = ['inf', '-inf', 'nan'].map((w) => Buffer.from(w));

/** The TabSeparated form: its makers, its kit, a tab between columns and a newline after. */
export const TSV_FORM: RowForm<TextGen> = { name: 'tsv', makers: tsvMakers, kit: TSV_KIT, between: literal('\t'), end: literal('\n') };

// A string with ClickHouse's escapes, in quotes when `quote` is a quote's code (39) and not 0.
// Printable ASCII is copied a byte a character; a string with anything else is escaped as
// text and written as UTF-8. Throws MALFORMED for a lone surrogate (no UTF-8 form).
function writeEscaped(out: ChunkWriter, text: string, quote: number): void {
  const n = text.length;
  out.room(n + 2);
  const buf = out.buf;
  let at = out.pos;
  if (quote !== 0) buf[at++] = quote;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 92 || c === 39) {
      out.pos = at;
      writeRest(out, text.slice(i));
      if (quote !== 0) put(out, QUOTE);
      return;
    }
    buf[at++] = c;
  }
  if (quote !== 0) buf[at++] = quote;
  out.pos = at;
}
const QUOTE = Buffer.from("'");

function writeRest(out: ChunkWriter, text: string): void {
  if (!isWellFormed(text)) throw MALFORMED;
  const escaped = escapeText(text);
  out.room(escaped.length * 3);
  out.pos += out.buf.write(escaped, out.pos, 'utf8');
}
