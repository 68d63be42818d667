/**
 * Values a column's type cannot hold, which the server would store altered rather than
 * refuse when they come as text: an integer outside its type's range (wrapped: 300 into a
 * UInt8 is 44), a `Date` outside DateTime's 1970 to 2106 (clamped). Checked against the
 * table's description before anything is sent, for the columns written without their type,
 * by a check made once per column type.
 */
import type { ColumnType } from './column-type.js';
import { QueryParamError, rowRefused } from './errors.js';
import { withAllRefused } from './refusals.js';
import { epochSeconds } from './params.js';
import { EPOCH_TEXT_END_MS } from './encode.js';
import { isPlainObject } from './checks.js';
import type { Row } from './types.js';

/** A column's check: throws `QueryParamError` naming `name` (and the element) for a value its type cannot hold. */
export type RangeCheck = (value: unknown, name: string) => void;

// Bits and signedness of the integer types.
const INTEGERS: Readonly<Record<string, readonly [number, boolean]>> = {
  UInt8: [8, false], UInt16: [16, false], UInt32: [32, false], UInt64: [64, false], UInt128: [128, false], UInt256: [256, false],
  Int8: [8, true], Int16: [16, true], Int32: [32, true], Int64: [64, true], Int128: [128, true], Int256: [256, true],
};
const INTEGER_TEXT = /^[-+]?\d+$/;

/**
 * The check of a column of `type`, or `undefined` when its values need none: an integer or
 * a DateTime, alone or inside `Nullable`, `LowCardinality`, `Array`, `Tuple` (named or not),
 * `Map` (its keys and values) or `SimpleAggregateFunction`; without `dates`, the integers only
 * (for a column whose encoder refuses such a `Date` itself).
 * A non-finite number for an integer column, and an empty string, are refused too (the
 * server stored 0, or failed after the rows before were sent).
 *
 * @example
 * rangeCheck(parseColumnType('UInt8'))?.(300, 'n'); // throws: parameter n: 300 is outside UInt8 (0 to 255)
 */
export function rangeCheck(type: ColumnType, dates = true): RangeCheck | undefined {
  const integer = INTEGERS[type.name];
  if (integer !== undefined) return integerCheck(type.name, integer);
  switch (type.name) {
    case 'DateTime':
      if (!dates) return undefined;
      return (value, name) => {
        if (value instanceof Date) {
          const ms = value.getTime();
          if (!(ms >= 0 && ms < EPOCH_TEXT_END_MS)) epochSeconds(value, name);
        }
      };
    case 'Nullable': case 'LowCardinality':
      return rangeCheck(type.args[0] as ColumnType, dates);
    case 'Array': {
      const inner = rangeCheck(type.args[0] as ColumnType, dates);
      if (inner === undefined) return undefined;
      return (value, name) => {
        if (!Array.isArray(value)) return;
        // The element's path is written only for a refusal.
        for (let i = 0; i < value.length; i++) {
          try {
            inner(value[i], name);
          } catch {
            inner(value[i], `${name}[${i}]`);
          }
        }
      };
    }
    case 'SimpleAggregateFunction':
      return rangeCheck(type.args[type.args.length - 1] as ColumnType, dates);
    case 'Tuple': {
      const elements = type.args as readonly ColumnType[];
      const inner = elements.map((e) => rangeCheck(e, dates));
      if (inner.every((c) => c === undefined)) return undefined;
      const fields = elements.map((e) => e.field);
      const each = (value: unknown, name: string, path: boolean): void => {
        if (Array.isArray(value)) inner.forEach((check, i) => check?.(value[i], path ? `${name}.${fields[i] ?? i + 1}` : name));
        else if (isPlainObject(value)) inner.forEach((check, i) => { const f = fields[i]; if (f !== undefined) check?.(value[f] ?? null, path ? `${name}.${f}` : name); });
      };
      // The element's path is written only for a refusal, as for an Array.
      return (value, name) => {
        try {
          each(value, name, false);
        } catch {
          each(value, name, true);
        }
      };
    }
    case 'Map': {
      const [key, item] = (type.args as readonly ColumnType[]).map((t) => rangeCheck(t, dates));
      if (key === undefined && item === undefined) return undefined;
      const entry = (k: unknown, v: unknown, name: string): void => {
        try {
          key?.(k, name);
          if (v !== null && v !== undefined) item?.(v, name);
        } catch {
          key?.(k, `${name} key ${String(k)}`);
          item?.(v, `${name}[${String(k)}]`);
        }
      };
      return (value, name) => {
        if (value instanceof Map) for (const [k, v] of value as Map<unknown, unknown>) entry(k, v, name);
        else if (isPlainObject(value)) for (const k in value) entry(k, value[k], name);
      };
    }
  }
  return undefined;
}

/**
 * Checks each of `rows` by the checks of its columns (`[name, check]`), a refusal named by
 * its place among them when there are several.
 *
 * @example
 * refuseOutOfRange(rows, schema.ranged ?? []); // throws QueryParamError: parameter rows[3].at: Date 2250-... is outside DateTime's range
 */
export function refuseOutOfRange(rows: readonly Row[], columns: readonly (readonly [string, RangeCheck])[]): void {
  if (columns.length === 0) return;
  // Every refused row is found (the async writer reports each alone and sends the rest once).
  const refused: QueryParamError[] = [];
  for (let i = 0; i < rows.length; i++) {
    try {
      checkRanges(rows[i] as Row, columns);
    } catch (err) {
      if (rows.length === 1) throw err;
      refused.push(rowRefused(err, i) as QueryParamError);
    }
  }
  if (refused.length > 0) throw withAllRefused(refused);
}

/**
 * Checks one row by the checks of its columns.
 *
 * @example
 * checkRanges({ n: 300 }, [['n', rangeCheck(parseColumnType('UInt8'))!]]); // throws
 */
export function checkRanges(row: Row, columns: readonly (readonly [string, RangeCheck])[]): void {
  for (let i = 0; i < columns.length; i++) {
    const [name, check] = columns[i] as readonly [string, RangeCheck];
    const value = row[name];
    if (value !== null && value !== undefined) check(value, name);
  }
}

function integerCheck(typeName: string, [bits, signed]: readonly [number, boolean]): RangeCheck {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  // The common case, without a bigint: a safe integer within these (a wider type's: of the right sign).
  const low = bits > 53 ? (signed ? -Number.MAX_SAFE_INTEGER : 0) : Number(min);
  const high = bits > 53 ? Number.MAX_SAFE_INTEGER : Number(max);
  // Decimal text of fewer digits than the bound's is within it (the sign allowing): no bigint made.
  const digits = String(max).length - 1;
  return (value, name) => {
    if (typeof value === 'number') {
      if (value >= low && value <= high && Number.isInteger(value)) return;
      if (!Number.isFinite(value)) throw new QueryParamError(name, `${value} cannot be stored in ${typeName}`);
      // A fraction is the server's to read or refuse.
      if (!Number.isInteger(value)) return;
      return outside(BigInt(value), value, name);
    }
    if (typeof value === 'bigint') return outside(value, value, name);
    if (typeof value === 'string') {
      if (value === '') throw new QueryParamError(name, `an empty string is no ${typeName} (the server would store 0)`);
      const negative = value.charCodeAt(0) === 45;
      const length = value.length - (negative || value.charCodeAt(0) === 43 ? 1 : 0);
      if (length <= digits && (signed || !negative) && INTEGER_TEXT.test(value)) return;
      if (INTEGER_TEXT.test(value)) outside(BigInt(value), value, name);
    }
  };
  // Made once per column type, not once per value.
  function outside(n: bigint, given: unknown, name: string): void {
    if (n < min || n > max) throw new QueryParamError(name, `${String(given)} is outside ${typeName} (${min} to ${max})`);
  }
}
