/**
 * A row source's rows written as JSONEachRow lines, each checked first: the writer compiled
 * for its column list, or `encodeRow` where the table's types are needed.
 */
import { QueryParamError, rowRefused } from './errors.js';
import { checkRow, encodeRow } from './encode.js';
import { COMPILE_AFTER, type ChunkWriter, knownRowWriter, rowWriter } from './encode-bytes.js';
import { ColumnListReader } from './prepare.js';
import type { TableSchema } from './table-schema.js';
import type { Row } from './types.js';

// Column lists whose rows a source writer counts, for COMPILE_AFTER.
const SEEN_LISTS = 4_096;

/** A row of a source that cannot be written: named by its place, and the insert is cancelled. */
const badRow = (err: unknown, index: number): unknown => rowRefused(err, index, ' (the insert was cancelled at this row)');

/**
 * Writes a source's rows as JSONEachRow lines into chunk writers: straight as bytes by the
 * writer compiled for the row's columns (`rowWriter`) when the table has no column whose
 * values need its type, through `encodeRow` otherwise. A row that cannot be written throws
 * its error named by its place, before any byte of it is written.
 */
export class SourceRowWriter {
  readonly #columns = new ColumnListReader();
  readonly #schema: TableSchema;
  #list: string | undefined;
  #write: ((out: ChunkWriter, row: Row) => void) | undefined;
  #index = 0;
  // How often each column list came, up to COMPILE_AFTER (for at most SEEN_LISTS lists).
  readonly #seen = new Map<string, number>();

  // Column lists whose keys are all columns the statement may be given (when checked).
  readonly #known: Set<string> | undefined;
  // The description keys are checked against (described afresh: see `redescribed`).
  #columnsOf: TableSchema;

  /** True when the last refusal was of a key the table's description lacks (the description may be older than the column). */
  unknownKey = false;

  /** `refuseUnknown`: a key that is not a column the table takes is refused (with a described table). */
  constructor(schema: TableSchema, refuseUnknown = false) {
    this.#schema = schema;
    this.#columnsOf = schema;
    this.#known = refuseUnknown && schema.types.size > 0 ? new Set() : undefined;
  }

  /** Keys are checked against `schema`, a fresh description of the table, from now on. */
  redescribed(schema: TableSchema): void {
    this.#columnsOf = schema;
    this.#known?.clear();
  }

  /** Takes the next row (number `index` of the source): checks it and returns its column list, the statement it belongs to on 18.16. */
  next(row: Row, index: number): string {
    this.#index = index;
    if (this.#schema.encodings.size > 0) return this.#checked(this.#columns.of(row), index);
    try {
      checkRow(row);
    } catch (err) {
      throw badRow(err, index);
    }
    const list = this.#checked(this.#columns.of(row), index);
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
  // fields by default) would drop it silently; refused instead, naming it and its row.
  #checked(list: string, index: number): string {
    const known = this.#known;
    if (known === undefined || known.has(list)) return list;
    const { types, computed } = this.#columnsOf;
    for (const key of this.#columns.keys) {
      this.unknownKey = !types.has(key);
      const why = !types.has(key) ? `the table has no column ${JSON.stringify(key)}: refused rather than dropped (set input_format_skip_unknown_fields to have the server skip such keys)`
        : computed?.has(key) === true ? `column ${JSON.stringify(key)} is MATERIALIZED or ALIAS: the server computes it, an insert cannot give it` : undefined;
      if (why !== undefined) throw badRow(new QueryParamError(key, why), index);
    }
    if (known.size < SEEN_LISTS) known.add(list);
    return list;
  }

  /** Writes the row `next` took. */
  write(out: ChunkWriter, row: Row): void {
    if (this.#write !== undefined) return this.#write(out, row);
    try {
      out.line(encodeRow(row, this.#schema.encodings));
    } catch (err) {
      throw badRow(err, this.#index);
    }
  }
}
