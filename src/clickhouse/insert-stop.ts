/**
 * Where an insert of rows stopped, noted on the error it failed with: which statement of
 * how many, and which rows were never sent. The protocol layer notes it; a caller that must
 * not store a row twice (the pool's async writer) reads it.
 */
import { rowRefused } from './errors.js';
import type { Row, Settings } from './types.js';

/**
 * Where an insert of rows stopped, for a caller that must know what was stored before it
 * sends anything again (the pool's async writer): the statements before `index` were
 * stored (their answers came); `queryId` is the one sent last, whose answer was lost or
 * refused; `inFlight` are its rows, `after` the rows of the statements never sent.
 *
 * @example
 * const stop = insertStopOf(error);
 * if (stop && stop.index > 0) console.log(`${stop.index} of ${stop.of} statements stored`);
 */
export interface InsertStop {
  readonly queryId: string;
  readonly index: number;
  readonly of: number;
  readonly inFlight: readonly Row[];
  readonly after: readonly Row[];
}

const stops = new WeakMap<object, InsertStop>();

/**
 * Notes on `err` (returned) where an insert of `of` statements stopped.
 *
 * @example
 * throw stoppedAt(error, { queryId, index: i, of: groups.length, inFlight: group.rows, after: [] });
 */
export function stoppedAt(err: unknown, stop: InsertStop): unknown {
  if (typeof err === 'object' && err !== null) stops.set(err, stop);
  return err;
}

/**
 * Where the insert that failed with `err` stopped, when it was an insert of rows from an
 * array (see `InsertStop`), noted on `err` or on an error it wraps (its `cause`, a few
 * levels down); undefined for anything else.
 *
 * @example
 * const stop = insertStopOf(error); // { queryId: 'colonnade-…-1', index: 1, of: 2, … }
 */
export function insertStopOf(err: unknown): InsertStop | undefined {
  let at = err;
  for (let depth = 0; depth < 4 && typeof at === 'object' && at !== null; depth++) {
    const stop = stops.get(at);
    if (stop !== undefined) return stop;
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}

// The place, among the rows being written, of the row whose writing threw the error (see `rowParts`).
const failedRows = new WeakMap<object, number>();

/**
 * Notes on `err` (returned) that writing `rows[index]` threw it.
 *
 * @example
 * try { write(out, rows[i]); } catch (err) { throw failedAt(err, i); }
 */
export function failedAt(err: unknown, index: number): unknown {
  if (typeof err === 'object' && err !== null) failedRows.set(err, index);
  return err;
}

/**
 * `err`, thrown while one of `rows` was written (`failedAt` noted which), refused as that
 * row's, named by its place `placeOf(row, index)` among the caller's rows; `err` itself when no
 * row was noted. When `block` rows or more of the statement went before that row, the
 * server may have stored them already (it writes a text body's rows a block of its
 * `max_insert_block_size` at a time): the refusal says so.
 *
 * @example
 * refusal = placedRefusal(err, group.rows, (row) => rows.indexOf(row), 1_048_576); // parameter rows[9999].pad: ...
 */
export function placedRefusal(err: unknown, rows: readonly Row[], placeOf: (row: Row, index: number) => number, block = Infinity): unknown {
  const at = typeof err === 'object' && err !== null ? failedRows.get(err) : undefined;
  if (at === undefined) return err;
  const stored = Math.floor(at / block) * block;
  return rowRefused(err, placeOf(rows[at] as Row, at), stored > 0 ? ` (the server may have stored the statement's first ${stored} rows already: it writes ${block} rows at a time, its max_insert_block_size)` : '');
}

/**
 * What a caller's settings do to a text statement stopped by its unreadable line: `lenient`
 * when `input_format_allow_errors_num` or `_ratio` would let the server skip that line (and
 * store the rows before it), so the body is encoded whole before a byte is sent; `block`,
 * the rows the server writes at a time (`max_insert_block_size`, 1,048,576 unless set).
 *
 * @example
 * const { lenient, block } = textStop(server.settings, defaults.settings, options.settings);
 */
export function textStop(...settings: (Settings | undefined)[]): { readonly lenient: boolean; readonly block: number } {
  const given = (name: string): unknown => settings.reduce<unknown>((found, s) => s?.[name] ?? found, undefined);
  const block = Number(given('max_insert_block_size') ?? 1_048_576);
  return { lenient: given('input_format_allow_errors_num') !== undefined || given('input_format_allow_errors_ratio') !== undefined, block: block > 0 ? block : 1_048_576 };
}

/**
 * A statement's body from its `parts`, encoded whole before any of it is sent: a row that no
 * longer encodes (changed since its check) throws `refused(error)`, nothing sent.
 *
 * @example
 * const chunks = encodedFirst(plan.parts(rows, new ChunkWriter()), (e) => e);
 */
export function encodedFirst(parts: Generator<{ chunks: Buffer[]; rows: number }>, refused: (error: unknown) => unknown): Buffer[] {
  try {
    return [...parts].flatMap((part) => part.chunks);
  } catch (err) {
    throw refused(err);
  }
}
