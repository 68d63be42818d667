import { ProtocolError } from './errors.js';
import { unescapeTsv } from './text-escape.js';

/**
 * A parsed ClickHouse type string. `args` holds nested types (`Array(T)`, `Tuple(...)`,
 * `Nullable(T)`), numbers (`Decimal(18, 4)`, `FixedString(3)`) and quoted strings
 * (`DateTime('Asia/Tokyo')`, enum entries `'a' = 1`) as their unquoted text.
 *
 * @example
 * const t: ColumnType = parseColumnType('Nullable(UInt8)'); // { name: 'Nullable', args: [{ name: 'UInt8', args: [] }] }
 */
export interface ColumnType {
  readonly name: string;
  readonly args: readonly (ColumnType | string | number)[];
  /** For `Nested(a UInt8)` and named tuple elements: the element's name. */
  readonly field?: string;
  /** For `Enum8`/`Enum16`: the value of each entry, in the order of `args`. */
  readonly values?: readonly number[];
}

/**
 * Parses a type string as the server prints it in `TabSeparatedWithNamesAndTypes` or
 * `DESCRIBE TABLE`.
 *
 * @example
 * parseColumnType("Array(Nullable(DateTime('Asia/Tokyo')))");
 * // { name: 'Array', args: [{ name: 'Nullable', args: [{ name: 'DateTime', args: ['Asia/Tokyo'] }] }] }
 */
export function parseColumnType(text: string): ColumnType {
  const parser = new TypeParser(text);
  const type = parser.type();
  parser.space();
  if (parser.pos !== text.length) parser.fail('unexpected text after the type');
  return type;
}

/**
 * True when the type is a Decimal or holds one (in an Array, Tuple, Nullable, ...).
 *
 * @example
 * containsDecimal(parseColumnType('Array(Decimal(9, 2))')); // true
 */
export function containsDecimal(type: ColumnType): boolean {
  if (type.name.startsWith('Decimal')) return true;
  return type.args.some((a) => typeof a === 'object' && containsDecimal(a));
}

/**
 * How `insertToTable` writes a column's values when the JSON form alone would be read
 * wrong: `'decimal'`, a string as a bare number (18.16 refuses a quoted Decimal); `'date'`
 * and `'date32'`, a JS `Date` as its UTC day `YYYY-MM-DD` (the only text a Date column
 * reads; epoch seconds would be stored as 1970-01-01); `'datetime64'`, a JS `Date` as epoch
 * seconds with its milliseconds.
 *
 * @example
 * const kind: ColumnEncoding = 'date';
 */
export type ColumnEncoding = 'decimal' | 'date' | 'date32' | 'datetime64';

/**
 * The `ColumnEncoding` a column of this type needs, looking through `Nullable`,
 * `LowCardinality` and `Array`; `undefined` for types the default JSON form suits. A
 * Decimal anywhere inside (a Tuple too) makes the column `'decimal'`.
 *
 * @example
 * columnEncoding(parseColumnType('Array(Nullable(Date))')); // 'date'
 * columnEncoding(parseColumnType("DateTime64(3, 'UTC')")); // 'datetime64'
 * columnEncoding(parseColumnType('DateTime')); // undefined
 */
export function columnEncoding(type: ColumnType): ColumnEncoding | undefined {
  if (containsDecimal(type)) return 'decimal';
  switch (type.name) {
    case 'Date': return 'date';
    case 'Date32': return 'date32';
    case 'DateTime64': return 'datetime64';
    case 'Nullable': case 'LowCardinality': case 'Array': return columnEncoding(type.args[0] as ColumnType);
  }
  return undefined;
}

const FLOAT64: ColumnType = { name: 'Float64', args: [] };
const POINT: ColumnType = { name: 'Tuple', args: [FLOAT64, FLOAT64] };
const arrayOf = (item: ColumnType): ColumnType => ({ name: 'Array', args: [item] });
const GEO: Readonly<Record<string, ColumnType>> = {
  Point: POINT,
  Ring: arrayOf(POINT),
  LineString: arrayOf(POINT),
  Polygon: arrayOf(arrayOf(POINT)),
  MultiLineString: arrayOf(arrayOf(POINT)),
  MultiPolygon: arrayOf(arrayOf(arrayOf(POINT))),
};

/**
 * The type a value of `type` is made of, for the types that are another under a name of
 * their own: the geo types (`Point` is `Tuple(Float64, Float64)`, `Ring` an `Array` of
 * them ...), `Nested(a T, ...)`, an `Array(Tuple(a T, ...))`, and `SimpleAggregateFunction(f, T)`,
 * a T; any other type as it is.
 *
 * @example
 * structuralType(parseColumnType('Ring')); // Array(Tuple(Float64, Float64))
 */
export function structuralType(type: ColumnType): ColumnType {
  if (type.name === 'SimpleAggregateFunction') return structuralType(type.args[type.args.length - 1] as ColumnType);
  const geo = GEO[type.name];
  if (geo !== undefined && type.args.length === 0) return geo;
  if (type.name === 'Nested') return arrayOf({ name: 'Tuple', args: type.args });
  return type;
}

// Types whose parameters are not types, numbers or quoted strings.
const RAW_ARGS = new Set(['JSON', 'Object', 'Dynamic', 'AggregateFunction']);

class TypeParser {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(reason: string): never {
    throw new ProtocolError(`cannot parse column type ${JSON.stringify(this.text)} at ${this.pos}: ${reason}`, 200);
  }

  space(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  ident(): string {
    if (this.text[this.pos] === '`') {
      // A quoted element name: `a b`, with \` and `` inside.
      let out = '';
      this.pos++;
      while (this.pos < this.text.length) {
        const ch = this.text[this.pos++];
        if (ch === '\\') out += this.text[this.pos++] ?? '';
        else if (ch === '`' && this.text[this.pos] === '`') { out += '`'; this.pos++; }
        else if (ch === '`') return out;
        else out += ch;
      }
      this.fail('unterminated quoted name');
    }
    const m = /^[A-Za-z0-9_]+/.exec(this.text.slice(this.pos, this.pos + 200));
    if (!m) this.fail('expected a name');
    this.pos += m[0].length;
    return m[0];
  }

  type(): ColumnType {
    this.space();
    let name = this.ident();
    let field: string | undefined;
    // `name Type` inside Nested(...) or a named Tuple.
    if (this.text[this.pos] === ' ' && /[A-Za-z`]/.test(this.text[this.pos + 1] ?? '')) {
      field = name;
      this.space();
      name = this.ident();
    }
    const args: (ColumnType | string | number)[] = [];
    const values: number[] = [];
    this.space();
    if (this.text[this.pos] === '(' && RAW_ARGS.has(name)) {
      // Parameters that are no types (JSON's `max_dynamic_paths=10, a UInt32, SKIP b`): kept as one text.
      const from = this.pos;
      this.skipBalanced();
      args.push(this.text.slice(from + 1, this.pos - 1));
    } else if (this.text[this.pos] === '(') {
      this.pos++;
      this.space();
      // An empty argument list: `Tuple()`.
      if (this.text[this.pos] === ')') this.pos++;
      else for (;;) {
        this.space();
        args.push(this.arg(values));
        this.space();
        const ch = this.text[this.pos++];
        if (ch === ')') break;
        if (ch !== ',') this.fail('expected , or )');
      }
    }
    const type: ColumnType = values.length > 0 && values.length === args.length ? { name, args, values } : { name, args };
    return field === undefined ? type : { ...type, field };
  }

  arg(values: number[]): ColumnType | string | number {
    const ch = this.text[this.pos];
    if (ch === "'") {
      const text = this.quoted();
      this.space();
      // Enum entries: keep `'name' = value` as the name alone; output prints names.
      if (this.text[this.pos] === '=') {
        this.pos++;
        this.space();
        const m = /^-?\d+/.exec(this.text.slice(this.pos, this.pos + 30));
        if (!m) this.fail('expected an enum value');
        this.pos += m[0].length;
        values.push(Number(m[0]));
      }
      return text;
    }
    if (ch !== undefined && /[-0-9]/.test(ch)) {
      const m = /^-?\d+(?:\.\d+)?/.exec(this.text.slice(this.pos, this.pos + 30));
      if (!m) this.fail('expected a number');
      this.pos += m[0].length;
      return Number(m[0]);
    }
    return this.type();
  }

  skipBalanced(): void {
    let depth = 0;
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos];
      if (ch === "'") { this.quoted(); continue; }
      this.pos++;
      if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) return;
    }
    this.fail('unbalanced parentheses');
  }

  // A quoted literal as ClickHouse writes one (an enum's name, a time zone): its escapes undone.
  quoted(): string {
    const from = ++this.pos;
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++];
      if (ch === '\\') this.pos++;
      else if (ch === "'") return unescapeTsv(this.text.slice(from, this.pos - 1));
    }
    return this.fail('unterminated quoted string');
  }
}
