/**
 * A row source's rows read one at a time (`SourceReader`: flattened, checked, their column
 * list known) and written as JSONEachRow lines (`SourceRowWriter`): by the writer compiled
 * for the column list, or by `encodeRow` where the table's types are needed.
 */
import { checkOwnFields, isRowObject } from './checks.js';
import { AbortError, NOT_A_ROW, QueryParamError, TimeoutError, rowRefused } from './errors.js';
import { checkRow, encodeRow } from './encode.js';
import { COMPILE_AFTER, type ChunkWriter, knownRowWriter, rowWriter } from './encode-bytes.js';
import { ColumnListReader } from './prepare.js';
import { type TableSchema, columnNames, flattenNested, partOfNestedTest } from './table-schema.js';
import { checkRanges } from './value-ranges.js';
import type { Row, RowSource } from './types.js';

// Column lists whose rows a source writer counts, for COMPILE_AFTER.
const SEEN_LISTS = 4_096;

/** A row of a source that cannot be written (or read): named by its place, and the insert is cancelled. */
const badRow = (err: unknown, index: number): unknown => rowRefused(err, index, ' (the insert was cancelled at this row)');

/**
 * Writes a source's rows as JSONEachRow lines into chunk writers: straight as bytes by the
 * writer compiled for the row's columns (`rowWriter`) when the table has no column whose
 * values need its type, through `encodeRow` otherwise. A row that cannot be written throws
 * its error named by its place, before any byte of it is written.
 */
export class SourceRowWriter {
  readonly #columns = new ColumnListReader();
  #schema: TableSchema;
  #list: string | undefined;
  #write: ((out: ChunkWriter, row: Row) => void) | undefined;
  #index = 0;
  // How often each column list came, up to COMPILE_AFTER (for at most SEEN_LISTS lists).
  readonly #seen = new Map<string, number>();
  // Column lists whose keys are all columns the statement may be given (when checked).
  readonly #known: Set<string> | undefined;
  // Whether a key names a column (exactly or in another case: a modern server takes it).
  #names: (key: string) => boolean;

  /** True when the last refusal was of a key the table's description lacks (the description may be older than the column). */
  unknownKey = false;

  /** `refuseUnknown`: a key that is not a column the table takes is refused (with a described table). */
  constructor(schema: TableSchema, refuseUnknown = false) {
    this.#schema = schema;
    this.#names = columnNames(schema);
    this.#known = refuseUnknown && schema.types.size > 0 ? new Set() : undefined;
  }

  /** The table's description the rows are written by. */
  get schema(): TableSchema {
    return this.#schema;
  }

  /** Rows are checked and written by `schema`, a fresh description of the table, from now on. */
  redescribed(schema: TableSchema): void {
    this.#schema = schema;
    this.#known?.clear();
    this.#names = columnNames(schema);
    this.#list = undefined;
    this.#write = undefined;
  }

  /** Takes the next row (number `index` of the source): checks it and returns its column list, the statement it belongs to on 18.16. */
  next(row: Row, index: number): string {
    this.#index = index;
    if (!isRowObject(row)) throw badRow(new QueryParamError('row', NOT_A_ROW), index);
    const encoded = this.#schema.encodings.size > 0;
    let given: string;
    try {
      if (!encoded) checkRow(row);
      given = this.#columns.of(row);
      if (encoded && this.#columns.keys.length === 0) checkOwnFields(row);
      if (this.#schema.ranged !== undefined) checkRanges(row, this.#schema.ranged);
    } catch (err) {
      throw badRow(err, index);
    }
    const list = this.#checked(given, index);
    if (encoded) return list;
    if (list !== this.#list || this.#write === undefined) {
      // A column list is compiled once it came COMPILE_AFTER times: rows whose lists all
      // differ would otherwise compile a writer each (80,000 rows: 35 s of CPU).
      const seen = (this.#seen.get(list) ?? 0) + 1;
      if (seen <= COMPILE_AFTER && this.#seen.size < SEEN_LISTS) this.#seen.set(list, seen);
      const keys = this.#columns.keys;
      this.#write = seen >= COMPILE_AFTER ? rowWriter(keys) : knownRowWriter(keys);
      this.#list = list;
    }
    return list;
  }

  // A key that names no column: a statement naming none (a modern server skips unknown
  // fields by default) would drop it silently; refused instead, naming it and its row. A key
  // that names a column in another case is left to the server (a modern one takes it).
  #checked(list: string, index: number): string {
    const known = this.#known;
    if (known === undefined || known.has(list)) return list;
    const { computed } = this.#schema;
    for (const key of this.#columns.keys) {
      this.unknownKey = !this.#names(key);
      const why = this.unknownKey ? `the table has no column ${JSON.stringify(key)}: refused rather than dropped (set input_format_skip_unknown_fields to have the server skip such keys)`
        : computed?.has(key) === true ? `column ${JSON.stringify(key)} is MATERIALIZED or ALIAS: the server computes it, an insert cannot give it` : undefined;
      if (why !== undefined) throw badRow(new QueryParamError(key, why), index);
    }
    if (known.size < SEEN_LISTS) known.add(list);
    return list;
  }

  /** Writes the row `next` took. */
  write(out: ChunkWriter, row: Row): void {
    try {
      if (this.#write !== undefined) return this.#write(out, row);
      out.line(encodeRow(row, this.#schema.encodings));
    } catch (err) {
      throw badRow(err, this.#index);
    }
  }
}

/**
 * How a source's rows are read: `refuseUnknown`, refuse a key that is not a column the table
 * takes; `redescribe`, the table described afresh (asked once, when a key the cached
 * description lacks comes: a column added since); `nestedParts`, tell the rows that give
 * only some of a Nested column's fields (`partOfNested`).
 *
 * @example
 * const reader = new SourceReader(rows(), schema, { refuseUnknown: true });
 */
export interface ReadOptions {
  readonly refuseUnknown?: boolean;
  readonly redescribe?: () => Promise<TableSchema>;
  readonly nestedParts?: boolean;
}

/**
 * Reads a source's rows one at a time: `next()` is the source's own (a promise for an async
 * source), `take(value)` flattens the value's Nested columns, checks it, and leaves it in
 * `row` with its column list in `list`; it returns a promise only when it had to wait (a
 * value that is a promise, or a fresh description of the table).
 *
 * @example
 * for (;;) {
 *   let next: IteratorResult<unknown>;
 *   try { next = await reader.next(); } catch (err) { throw reader.failed(err); }
 *   const taken = reader.take(next);
 *   if (taken === false) break;
 *   if (taken !== true) await taken;
 *   reader.writer.write(out, reader.row);
 * }
 */
export class SourceReader {
  readonly writer: SourceRowWriter;
  /** Rows taken. */
  read = 0;
  /** Values asked of the source (a row asked for may be on its way: the source is no longer as it was). */
  pulled = 0;
  /** The source has no more rows. */
  ended = false;
  /** The row taken last, its Nested columns flattened, and its column list. */
  row: Row = {};
  list = '';
  readonly #source: RowSource;
  #iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  #redescribe: (() => Promise<TableSchema>) | undefined;
  readonly #nestedParts: boolean;
  // Undefined when no row can give part of a Nested column (none asked, or the table has none).
  #partOf: ((row: Row) => boolean) | undefined;
  // Whether a column list gives part of a Nested column (the list decides it).
  readonly #parts = new Map<string, boolean>();

  constructor(source: RowSource, schema: TableSchema, options: ReadOptions = {}) {
    this.#source = source;
    this.writer = new SourceRowWriter(schema, options.refuseUnknown);
    this.#redescribe = options.redescribe;
    this.#nestedParts = options.nestedParts === true;
    this.#partOf = this.#partOfTest(schema);
  }

  #partOfTest(schema: TableSchema): ((row: Row) => boolean) | undefined {
    return this.#nestedParts && schema.nested.size > 0 ? partOfNestedTest(schema) : undefined;
  }

  /** The source's next value (made at the first call: a source the insert never read is left as it was, for a retry). */
  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>> {
    if (this.#iterator === undefined) {
      const source = this.#source as Partial<AsyncIterable<unknown>>;
      this.#iterator = typeof source[Symbol.asyncIterator] === 'function' ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (this.#source as Iterable<unknown>)[Symbol.iterator]();
    }
    this.pulled++;
    return this.#iterator.next();
  }

  /**
   * What the insert rejects with when the source itself failed (its `next()` threw or
   * rejected, or a row it promised rejected): a `QueryParamError` naming the row it did not
   * give, its own error as the `cause`. The caller's failure, not the server's: the pool
   * neither retries it nor counts it against the server.
   */
  failed(err: unknown): QueryParamError {
    const why = err instanceof Error ? err.message : String(err);
    return new QueryParamError(`rows[${this.read}]`, `the row source failed instead of giving this row, and the insert was cancelled here: ${why}`, { cause: err });
  }

  /** Takes `next`, what `next()` gave: `false` at the source's end, else `true`, or a promise of it when it had to wait. */
  take(next: IteratorResult<unknown>): boolean | Promise<true> {
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    return this.#taken(next.value);
  }

  #taken(value: unknown): true | Promise<true> {
    // A sync source's value that is a promise is waited for, as `for await` does.
    if (typeof (value as { then?: unknown } | null)?.then === 'function') {
      return Promise.resolve(value).then((row) => this.#taken(row), (err: unknown) => {
        throw this.failed(err);
      });
    }
    try {
      this.#take(value);
      return true;
    } catch (err) {
      const redescribe = this.#redescribe;
      if (!this.writer.unknownKey || redescribe === undefined) throw err;
      // Once: a key the cached description lacks is looked for in a fresh one, then refused.
      this.#redescribe = undefined;
      return redescribe().then((schema) => {
        this.writer.redescribed(schema);
        this.#parts.clear();
        this.#partOf = this.#partOfTest(schema);
        this.#take(value);
        return true as const;
      }, (failure: unknown) => {
        // The call's own end (its timeout or signal) is told as such; otherwise the refusal.
        throw failure instanceof TimeoutError || failure instanceof AbortError ? failure : err;
      });
    }
  }

  #take(value: unknown): void {
    const { nested } = this.writer.schema;
    let row = value as Row;
    try {
      if (nested.size > 0 && value !== null && typeof value === 'object') row = flattenNested(value as Row, nested);
    } catch (err) {
      throw badRow(err, this.read);
    }
    this.list = this.writer.next(row, this.read);
    this.row = row;
    this.read++;
  }

  /** True when the row taken last gives only some of a Nested column's fields. */
  partOfNested(): boolean {
    if (this.#partOf === undefined) return false;
    let part = this.#parts.get(this.list);
    if (part === undefined) {
      part = this.#partOf(this.row);
      if (this.#parts.size < SEEN_LISTS) this.#parts.set(this.list, part);
    }
    return part;
  }

  /** Ends the source (a generator's `finally` runs, a Readable is destroyed), not waiting for it, once it was asked for a row and has more; a source never asked is left for a retry. */
  close(): void {
    if (this.pulled === 0 || this.ended || this.#iterator === undefined) return;
    this.ended = true;
    const iterator = this.#iterator;
    try {
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    } catch {
      // A source whose return() throws is ended as far as this insert goes.
    }
  }
}

/**
 * A call's timeout and abort signal, for the waits for a source's rows.
 *
 * @example
 * const expiry: Expiry = { timeout: 30_000, signal: AbortSignal.timeout(60_000) };
 */
export interface Expiry {
  readonly timeout: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * A watch on the waits for a source's rows: `expired` rejects with a `TimeoutError` once one
 * wait (while `waiting` is set) lasted `timeout` ms with no row asked for since (a stalled
 * source), or with an `AbortError` when the signal aborts; then `fired` is set. `stop` ends
 * the watch. Sent as `sent()` says. A flag per row and one timer, not a promise per row.
 *
 * @example
 * const watch = stallWatch({ timeout: 1_000 }, () => reader.pulled);
 */
export function stallWatch(expiry: Expiry | undefined, pulled: () => number): { expired: Promise<never> | undefined; waiting: boolean; fired: boolean; stop: () => void } {
  const watch = { expired: undefined as Promise<never> | undefined, waiting: false, fired: false, stop: () => undefined as void };
  if (expiry === undefined) return watch;
  const { timeout, signal } = expiry;
  let fail!: (error: unknown) => void;
  watch.expired = new Promise<never>((_, reject) => (fail = reject));
  watch.expired.catch(() => undefined);
  const end = (error: unknown): void => {
    watch.fired = true;
    fail(error);
  };
  // A wait is seen by the ticks it spans with the same count of rows asked for.
  const every = Math.max(10, Math.min(1_000, timeout / 4));
  let seen = -1;
  let since = 0;
  const check = setInterval(() => {
    const now = Date.now();
    const count = pulled();
    if (!watch.waiting || count !== seen) {
      seen = watch.waiting ? count : -1;
      since = now;
      return;
    }
    if (now - since >= timeout) end(new TimeoutError(timeout, count > 0));
  }, every);
  check.unref();
  const abort = (): void => end(new AbortError(signal?.reason, pulled() > 0));
  if (signal?.aborted === true) abort();
  signal?.addEventListener('abort', abort, { once: true });
  watch.stop = () => {
    clearInterval(check);
    signal?.removeEventListener('abort', abort);
  };
  return watch;
}
