/**
 * The async writer's mailbox: a bounded FIFO of units (a batch of rows for one table, or one
 * prepared SQL request), plus the batches still open for more rows. It lives in the
 * `Writer` object, outside the writer actor, so a restarted actor resumes the same queue.
 * Pure data structure: no timers, no I/O; time enters as `now`.
 */
import type { PreparedRequest, Row } from '../../clickhouse/index.js';

/**
 * What the writer does when its mailbox is full: refuse the new row, or evict the oldest
 * unsent one (each dropped row goes to onError).
 *
 * @example
 * definePool({ connectionStrings, asyncMailbox: 50_000, asyncOverflow: 'drop_oldest' satisfies AsyncOverflowPolicy });
 */
export type AsyncOverflowPolicy = 'drop_newest' | 'drop_oldest';

/**
 * One unit of work: the rows of one table batch (sent as one insert), or one request.
 * Once `request` is set (first attempt) the unit is frozen: same rows, same bytes at every
 * retry, until part of it is known to be stored (`keep`: the rest is built afresh).
 *
 * @example
 * const unit = mailbox.head(); if (unit) unit.request ??= build(unit);
 */
export interface WriterUnit {
  /** Order of sealing; flush() waits for every unit up to a sequence number. */
  seq: number;
  readonly table: string | undefined;
  /** The rows handed to onError; for a SQL request one row `{ type, body }`. */
  rows: Row[];
  /** Rows before this index were evicted (drop_oldest) before the first attempt. */
  start: number;
  /** Time the batch was opened; it is sealed at `openedAt + flushInterval` at the latest. */
  readonly openedAt: number;
  /** Frozen at the first attempt and reused for every retry. */
  request: PreparedRequest | undefined;
  /** Outcome of an attempt still running (survives an actor restart, so it is not re-sent). */
  pending: Promise<void> | undefined;
  attempts: number;
  /** Failures that consume the retry budget (not "server unreachable"). */
  failures: number;
  evicted: boolean;
  /** An attempt of it may have been stored (its outcome unknown, sent again as it was): it is never split into a request of other bytes. */
  uncertain: boolean;
  /** Halvings left to the batch this unit is (part of) once the server refused its data (`halve`), shared by its parts. */
  halvings?: { left: number } | undefined;
  /** A summary: inspection tools serialize the actor's context, and rows and bodies stay out of it. */
  toJSON(): { seq: number; table: string | undefined; rows: number; attempts: number };
}

/**
 * Rows (or entries) the unit still counts for in the mailbox.
 *
 * @example
 * const head = mailbox.head(); if (head) console.log(unitSize(head));
 */
export function unitSize(unit: WriterUnit): number {
  return unit.evicted ? 0 : unit.rows.length - unit.start;
}

/**
 * The rows of a unit that onError receives (without those evicted before it was sent).
 *
 * @example
 * onError(error, unitRows(unit));
 */
export function unitRows(unit: WriterUnit): Row[] {
  return unit.start === 0 ? unit.rows : unit.rows.slice(unit.start);
}

/**
 * Limits and hooks of a mailbox.
 *
 * @example
 * new Mailbox({ capacity: 100_000, batchSize: 10_000, overflow: 'drop_newest', now: () => clock.now(), onDrop: report, onReady: wake });
 */
export interface MailboxOptions {
  readonly capacity: number;
  readonly batchSize: number;
  readonly overflow: AsyncOverflowPolicy;
  readonly now: () => number;
  /** Rows that did not fit (or were evicted); called synchronously, so keep it cheap. */
  readonly onDrop: (rows: readonly Row[]) => void;
  /** A unit became ready to send, or the first open batch appeared. */
  readonly onReady: () => void;
}

/** Halvings of one refused batch, it and its parts together: a row at fault in 10,000 is found in about 14; 64 bounds the sends when many are. */
const HALVINGS = 64;
/** The largest batch halved: far below a block the server writes on its own (1,048,576 rows), so a refused one stored nothing. */
const HALVED_UP_TO = 100_000;

/**
 * Bounded mailbox of the async writer. `size` counts rows (and request entries) not yet
 * written or dead-lettered, including the one being sent.
 *
 * @example
 * const box = new Mailbox({ capacity: 10, batchSize: 2, overflow: 'drop_newest', now: Date.now, onDrop() {}, onReady() {} });
 * box.pushRows('logs', [{ a: 1 }]);
 */
/** What a finished slot holds until the array is compacted: nothing to send, nothing retained. */
const GONE: WriterUnit = Object.freeze({
  seq: 0, table: undefined, rows: [], start: 0, openedAt: 0, request: undefined, pending: undefined,
  attempts: 0, failures: 0, evicted: true, uncertain: false, halvings: undefined, toJSON: () => ({ seq: 0, table: undefined, rows: 0, attempts: 0 }),
}) as WriterUnit;

export class Mailbox {
  size = 0;
  readonly #units: WriterUnit[] = [];
  #first = 0;
  readonly #open = new Map<string, WriterUnit>();
  #nextSeq = 1;
  /** Index before which every unit is evicted or frozen: where eviction resumes. */
  #scan = 0;

  readonly #opts: MailboxOptions;

  constructor(opts: MailboxOptions) {
    this.#opts = opts;
  }

  /** Adds rows of one table to its open batch, sealing batches that reach `batchSize`. */
  pushRows(table: string, rows: readonly Row[]): void {
    let n = rows.length;
    if (this.size + n > this.#opts.capacity) n = this.#makeRoom(rows);
    if (n === 0) return;
    let batch = this.#open.get(table);
    let ready = batch === undefined && this.#open.size === 0;
    for (let i = 0; i < n; i++) {
      if (batch === undefined) {
        batch = newUnit(table, this.#opts.now());
        this.#open.set(table, batch);
      }
      batch.rows.push(rows[i] as Row);
      if (batch.rows.length - batch.start >= this.#opts.batchSize) {
        this.#seal(batch);
        batch = undefined;
        ready = true;
      }
    }
    this.size += n;
    if (ready) this.#opts.onReady();
  }

  /** Queues one SQL request behind every row enqueued before it (open batches are sealed). */
  pushRequest(request: PreparedRequest): void {
    const row: Row = { type: request.type, body: request.body };
    if (this.size + 1 > this.#opts.capacity && this.#makeRoom([row]) === 0) return;
    this.sealAll();
    const unit = newUnit(undefined, this.#opts.now());
    unit.rows.push(row);
    unit.request = request;
    this.#append(unit);
    this.size += 1;
    this.#opts.onReady();
  }

  /** The oldest unit still to send, or undefined. */
  head(): WriterUnit | undefined {
    while (this.#first < this.#units.length) {
      const unit = this.#units[this.#first] as WriterUnit;
      if (!unit.evicted) return unit;
      this.#removeHead();
    }
    return undefined;
  }

  /**
   * The next units to send together, oldest first: up to `limit` table batches, stopping
   * at a SQL request; the request itself only once everything before it is done, alone.
   */
  wave(limit: number): WriterUnit[] {
    const out: WriterUnit[] = [];
    if (this.head() === undefined) return out;
    for (let i = this.#first; i < this.#units.length && out.length < limit; i++) {
      const unit = this.#units[i] as WriterUnit;
      if (unit.evicted) continue;
      if (unit.table === undefined) {
        if (out.length === 0) out.push(unit);
        break;
      }
      out.push(unit);
    }
    return out;
  }

  /** Removes a unit once it is written or dead-lettered; returns its row count (0 when it was already gone). */
  complete(unit: WriterUnit): number {
    if (unit.evicted || unit.seq === 0) return 0;
    const n = unitSize(unit);
    this.size -= n;
    unit.evicted = true;
    this.head(); // drops finished units from the front
    return n;
  }

  /**
   * Part of a sealed unit was stored: it keeps only `rows` (those not stored) and is built
   * afresh at its next attempt. Returns how many rows it gave up (stored).
   */
  keep(unit: WriterUnit, rows: readonly Row[]): number {
    if (unit.evicted || unit.seq === 0) return 0;
    const stored = unitSize(unit) - rows.length;
    // A new array: the request sent before may still read the old one.
    unit.rows = rows.slice();
    unit.start = 0;
    unit.request = undefined;
    this.size -= stored;
    return stored;
  }

  /**
   * A table batch the server refused for the data of a row it does not name reliably (nothing
   * was stored): it keeps its first half, and the second becomes a unit of its own right
   * after it, of the same sequence (a flush waits for both) and as frozen (never evicted).
   * False when it is one row, more than `HALVED_UP_TO`, a statement, or its batch was halved
   * `HALVINGS` times already.
   */
  halve(unit: WriterUnit): boolean {
    const size = unitSize(unit);
    const at = unit.evicted || unit.table === undefined || size < 2 || size > HALVED_UP_TO ? -1 : this.#units.indexOf(unit, this.#first);
    unit.halvings ??= { left: HALVINGS };
    if (at < 0 || unit.halvings.left <= 0) return false;
    unit.halvings.left--;
    const rows = unitRows(unit);
    const half = Math.ceil(rows.length / 2);
    const rest: WriterUnit = { ...newUnit(unit.table, unit.openedAt), seq: unit.seq, rows: rows.slice(half), attempts: unit.attempts, halvings: unit.halvings };
    unit.rows = rows.slice(0, half);
    unit.start = 0;
    unit.request = undefined;
    this.#units.splice(at + 1, 0, rest);
    if (this.#scan > at) this.#scan++;
    return true;
  }

  /** Seals every open batch whose interval has passed. */
  sealDue(interval: number): void {
    const now = this.#opts.now();
    for (const batch of this.#open.values()) {
      if (batch.openedAt + interval > now) break; // opened in time order
      this.#seal(batch);
    }
  }

  /** Seals every open batch now (flush, drain, or a request acting as a barrier). */
  sealAll(): void {
    for (const batch of this.#open.values()) this.#seal(batch);
  }

  /** Milliseconds until the oldest open batch is due, or undefined when none is open. */
  dueIn(interval: number): number | undefined {
    for (const batch of this.#open.values()) return Math.max(0, batch.openedAt + interval - this.#opts.now());
    return undefined;
  }

  /** Sequence number of the last sealed unit: flush() waits until the head is past it. */
  lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /** True when nothing sealed at or before `seq` is still queued. */
  doneUpTo(seq: number): boolean {
    const unit = this.head();
    return unit === undefined || unit.seq > seq;
  }

  /** Empties the mailbox (sealing open batches) and returns the rows of each unit left, oldest first. */
  takeAll(): Row[][] {
    this.sealAll();
    const left: Row[][] = [];
    for (let unit = this.head(); unit !== undefined; unit = this.head()) {
      left.push(unitRows(unit));
      this.complete(unit);
    }
    return left;
  }

  #seal(batch: WriterUnit): void {
    this.#open.delete(batch.table as string);
    if (unitSize(batch) > 0) this.#append(batch);
  }

  #append(unit: WriterUnit): void {
    unit.seq = this.#nextSeq++;
    this.#units.push(unit);
  }

  #removeHead(): void {
    // The slot must not keep the finished unit: its rows, lines and request would stay
    // reachable until the next compaction (up to 1024 batches, gigabytes at 10,000 rows each).
    this.#units[this.#first] = GONE;
    this.#first++;
    // Compact now and then instead of shift(), which is O(n) on long queues.
    if (this.#first > 1024 && this.#first * 2 > this.#units.length) {
      this.#units.splice(0, this.#first);
      this.#scan = Math.max(0, this.#scan - this.#first);
      this.#first = 0;
    }
  }

  /** Applies the overflow policy; returns how many of the incoming rows fit. */
  #makeRoom(incoming: readonly Row[]): number {
    const { capacity, overflow } = this.#opts;
    const need = this.size + incoming.length - capacity;
    if (overflow === 'drop_oldest') {
      const evicted = this.#evict(need);
      if (evicted.length > 0) this.#opts.onDrop(evicted);
    }
    const fit = Math.max(0, Math.min(incoming.length, capacity - this.size));
    if (fit < incoming.length) this.#opts.onDrop(fit === 0 ? incoming : incoming.slice(fit));
    return fit;
  }

  /** Evicts up to `n` of the oldest rows never sent (a unit once attempted is frozen). */
  #evict(n: number): Row[] {
    const out: Row[] = [];
    const take = (unit: WriterUnit): void => {
      if (unit.attempts > 0 || unit.pending !== undefined || unit.evicted) return;
      const k = Math.min(n - out.length, unitSize(unit));
      for (let i = 0; i < k; i++) out.push(unit.rows[unit.start + i] as Row);
      unit.start += k;
      this.size -= k;
      if (unitSize(unit) === 0) {
        unit.evicted = true;
        // Its slot stays until the units before it are done: it must not keep the rows it gave up.
        unit.rows.length = 0;
        unit.start = 0;
      }
    };
    let i = Math.max(this.#first, this.#scan);
    for (; i < this.#units.length && out.length < n; i++) take(this.#units[i] as WriterUnit);
    this.#scan = i > 0 && unitSize(this.#units[i - 1] as WriterUnit) > 0 ? i - 1 : i;
    for (const batch of this.#open.values()) {
      if (out.length >= n) break;
      take(batch);
      if (batch.evicted) this.#open.delete(batch.table as string);
    }
    return out;
  }
}

function newUnit(table: string | undefined, openedAt: number): WriterUnit {
  return {
    seq: 0,
    table,
    rows: [],
    start: 0,
    openedAt,
    request: undefined,
    pending: undefined,
    attempts: 0,
    failures: 0,
    evicted: false,
    uncertain: false,
    halvings: undefined,
    toJSON() {
      return { seq: this.seq, table: this.table, rows: unitSize(this), attempts: this.attempts };
    },
  };
}

/**
 * A row as it is at the call, owned by the writer from then on: its own object, and its own
 * copies of the values a caller could change in place (a `Date`, an array, a `Map`, a nested
 * object), so every attempt (and every re-encoding for the table's column types) sends the
 * same bytes, and onError reports the row as it was given.
 *
 * @example
 * const kept = captureRow(row); row.ts.setTime(0); // kept.ts is unchanged
 */
export function captureRow(row: Row): Row {
  const kept: Row = { ...row };
  for (const key in kept) {
    const value = kept[key];
    // An assignment, not defineProperty: every key is an own data property of the copy
    // already (a column named __proto__ too), and the object keeps its fast shape.
    if (typeof value === 'object' && value !== null) kept[key] = copyValue(value);
  }
  return kept;
}

function copyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) {
    const copy = value.slice();
    for (let i = 0; i < copy.length; i++) {
      const element: unknown = copy[i];
      if (typeof element === 'object' && element !== null) copy[i] = copyValue(element);
    }
    return copy;
  }
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [copyValue(k), copyValue(v)]));
  if (ArrayBuffer.isView(value)) return value instanceof DataView ? value : (value as Uint8Array).slice();
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) Object.defineProperty(copy, k, { value: copyValue(v), writable: true, enumerable: true, configurable: true });
  return copy;
}
