/**
 * The pool's async writer: `asyncInsert`, `asyncInsertToTable` and `asyncQuery` hand their
 * work here and return. The `Writer` object owns the bounded mailbox and outlives the
 * writer actor (`writer.machine.ts`), so when the supervisor restarts a crashed actor the
 * new one resumes the same queue; Pillar loses it.
 */
import { createActor, type AnyActorRef } from 'xstate';
import { BoundedCache, checkRows, insertRequest, quoteIdentifier, type PreparedRequest, type Row, type TransportError } from '../../clickhouse/index.js';
import type { ChildSpec, Clock } from '../../otp/index.js';
import { equalJitter } from '../backoff.js';
import { classifyFailure, isPoolGone, refusesRowData } from '../failures.js';
import { MailboxFullError, WriteOutcomeUnknownError, WriterStoppedError } from './errors.js';
import { Mailbox, captureRow, unitRows, unitSize, type WriterUnit } from './mailbox.js';
import { forWriter, judgeFailure, refusedRows, traced, type SendTrace, type WriteOutcomes } from './outcome.js';
import { writerMachine, type WriterIO } from './writer.machine.js';
import type { WriterOptions, WriterStats } from './writer-options.js';

export type { OnErrorHook, WriterOptions, WriterStats } from './writer-options.js';

/**
 * What the pool calls on its writer.
 *
 * @example
 * writer.enqueueRows('logs', [row]);
 * writer.enqueueRequest(prepare({ type: 'query', sql: 'OPTIMIZE TABLE logs' }));
 * await writer.flush();
 */
export interface Writer {
  /** The otp child spec of the writer actor; its `stop` drains within the shutdown time and reports what it could not write through onError. */
  readonly spec: ChildSpec;
  /** Rows checked at once (`checkRow`: a bad one is refused in the caller, nothing queued), batched per table; copied at the call. */
  enqueueRows(table: string, rows: readonly Row[]): void;
  /** A prepared `insert`/`query` (asyncInsert / asyncQuery), sent alone, in order. */
  enqueueRequest(request: PreparedRequest): void;
  /** Resolves when everything enqueued before the call is written (or dead-lettered). */
  flush(): Promise<void>;
  stats(): WriterStats;
  /**
   * The pool's broker or connections are gone (a sibling crashed, so the writer is about to be
   * restarted, not shut down): a drain could only wait, so it keeps the queue for the next actor.
   */
  poolDown(): void;
}

/**
 * What `createWriter` needs. `random`, `shutdown` and `concurrency` have defaults.
 *
 * @example
 * const deps: WriterDeps = { id: 'writer', options, clock: realClock, run: (request) => pool.run(request) };
 */
export interface WriterDeps {
  readonly id: string;
  readonly options: WriterOptions;
  readonly clock: Clock;
  /** Sends one prepared request through the pool, noting in `trace` the server it went to; rejects as the broker does. */
  readonly run: (request: PreparedRequest, trace: SendTrace) => Promise<void>;
  /** How to find out what became of a send whose answer was lost; without it, such a send is reported as unknown. */
  readonly outcomes?: WriteOutcomes;
  readonly random?: () => number;
  /** Milliseconds the supervisor gives `spec.stop`; the drain ends a little before. */
  readonly shutdown?: number;
  /** Table batches sent at once (default 3). SQL requests always go alone. */
  readonly concurrency?: number;
}

/**
 * Creates the pool's async writer. Nothing is sent until the supervisor starts `spec`.
 *
 * @example
 * const writer = createWriter({ id: 'writer', options, clock: realClock, run: (req) => pool.run(req) });
 * const app = await startSupervisor([writer.spec]);
 * writer.enqueueRows('logs', [row]);
 * await writer.flush();
 */
export function createWriter(deps: WriterDeps): Writer {
  return new AsyncWriter(deps);
}

interface FlushWaiter {
  readonly seq: number;
  readonly resolve: () => void;
}

const noop = (): void => {};
/** How long a queue kept for a restart waits for it before it is reported as not written. */
const ORPHAN_GRACE_MS = 2_000;

class AsyncWriter implements Writer {
  readonly spec: ChildSpec;
  readonly #opts: WriterOptions;
  #clock: Clock;
  readonly #random: () => number;
  readonly #concurrency: number;
  /** Units attempted at least once and not yet written or dead-lettered. */
  readonly #active = new Set<WriterUnit>();
  readonly #mailbox: Mailbox;
  readonly #quoted = new BoundedCache<string>({ maxEntries: 1_024, maxKeyLength: 1_024, maxChars: 256 * 1024 });
  readonly #io: WriterIO;
  #actor: AnyActorRef | undefined;
  #asleep = false;
  #closed = false;
  #draining = false;
  /**
   * The pool's broker or connections are gone (told by `poolDown()`, or seen in a failure),
   * so this writer is about to be restarted: a drain cannot make progress. Until the next start.
   */
  #poolGone = false;
  #endDrain: ((keep: boolean) => void) | undefined;
  /** The timer that reports a kept queue when no restart follows. */
  #orphaned: unknown;
  #flushes: FlushWaiter[] = [];
  #drops: Row[] = [];
  #written = 0;
  #dropped = 0;
  #failed = 0;
  #retried = 0;

  readonly #deps: WriterDeps;

  constructor(deps: WriterDeps) {
    this.#deps = deps;
    this.#opts = deps.options;
    this.#clock = deps.clock;
    this.#random = deps.random ?? Math.random;
    this.#concurrency = Math.max(1, deps.concurrency ?? 3);
    this.#mailbox = new Mailbox({
      capacity: this.#opts.mailbox,
      batchSize: this.#opts.batchSize,
      overflow: this.#opts.overflow,
      now: () => this.#clock.now(),
      onDrop: (rows) => this.#drop(rows),
      onReady: () => this.#wake(),
    });
    this.#io = {
      next: () => {
        if (this.#draining) this.#mailbox.sealAll();
        else this.#mailbox.sealDue(this.#opts.flushInterval);
        return this.#mailbox.wave(this.#concurrency);
      },
      dueIn: () => this.#mailbox.dueIn(this.#opts.flushInterval),
      sleep: () => {
        this.#asleep = true;
      },
      send: (wave) => Promise.allSettled(wave.map((unit) => unit.pending ?? this.#attempt(unit))),
      settle: (wave, outcomes) => {
        let delay: number | undefined;
        wave.forEach((unit, i) => {
          unit.pending = undefined;
          const outcome = outcomes[i] as PromiseSettledResult<void>;
          if (outcome.status === 'fulfilled') {
            this.#written += this.#complete(unit);
            return;
          }
          const retryIn = this.#failure(unit, outcome.reason);
          if (retryIn !== undefined) delay = Math.max(delay ?? 0, retryIn);
        });
        return delay;
      },
    };
    const shutdown = deps.shutdown ?? 5000;
    this.spec = {
      id: deps.id,
      restart: 'permanent',
      shutdown,
      start: (context) => this.#start(context?.clock),
      stop: () => this.#drain(shutdown - Math.min(250, shutdown / 10)),
    };
  }

  enqueueRows(table: string, rows: readonly Row[]): void {
    checkRows(rows);
    if (this.#quoted.get(table) === undefined) this.#quoted.set(table, quoteIdentifier(table));
    // The rows as they were at the call: a caller may change or reuse its objects at once,
    // and every attempt must send the same columns and bytes.
    const captured = rows.map(captureRow);
    if (this.#closed) return this.#refuse(captured);
    this.#mailbox.pushRows(table, captured);
  }

  enqueueRequest(request: PreparedRequest): void {
    if (this.#closed) return this.#refuse([{ type: request.type, body: request.body }]);
    this.#mailbox.pushRequest(request);
  }

  flush(): Promise<void> {
    this.#mailbox.sealAll();
    const seq = this.#mailbox.lastSeq();
    if (this.#mailbox.doneUpTo(seq)) return Promise.resolve();
    this.#wake();
    return new Promise((resolve) => this.#flushes.push({ seq, resolve }));
  }

  stats(): WriterStats {
    let inFlight = 0;
    for (const unit of this.#active) inFlight += unitSize(unit);
    return {
      queued: this.#mailbox.size - inFlight,
      inFlight,
      written: this.#written,
      dropped: this.#dropped,
      failed: this.#failed,
      retried: this.#retried,
    };
  }

  poolDown(): void {
    this.#poolGone = true;
    this.#endDrain?.(true);
  }

  /** The tree's clock, when the supervisor gives one, drives batches, retries and the drain. */
  #start(clock: Clock | undefined): AnyActorRef {
    this.#clock.clearTimeout(this.#orphaned);
    if (clock !== undefined) this.#clock = clock;
    this.#closed = false;
    this.#draining = false;
    this.#asleep = false;
    this.#poolGone = false;
    this.#actor = createActor(writerMachine, { input: this.#io, clock: this.#clock, id: this.#deps.id });
    return this.#actor;
  }

  #wake(): void {
    if (!this.#asleep || this.#actor === undefined) return;
    this.#asleep = false;
    this.#actor.send({ type: 'wake' });
  }

  /** One attempt; its outcome is kept on the unit so a restarted actor waits for it instead of re-sending. */
  #attempt(unit: WriterUnit): Promise<void> {
    unit.attempts++;
    this.#active.add(unit);
    const outcome = (async () => {
      for (;;) {
        // Built once, from the rows as they were at the calls (the writer's own copies): every
        // retry encodes them to these very bytes.
        unit.request = forWriter(
          unit.request ?? insertRequest(this.#quoted.get(unit.table as string) ?? quoteIdentifier(unit.table as string), unitRows(unit), true),
          this.#opts.serverAsyncInsert,
        );
        const { request, queryId } = traced(unit.request);
        const trace: SendTrace = { server: -1, batch: { table: unit.table, rows: unitSize(unit), attempt: unit.attempts } };
        try {
          return await this.#deps.run(request, trace);
        } catch (error) {
          // Before anything is sent again: what was stored (looked up when the answer was lost).
          const statements = unit.request.insert?.groups.length ?? 1;
          const verdict = await judgeFailure({ error, trace, queryId, statements, table: unit.table, outcomes: this.#deps.outcomes });
          trace.told?.(verdict.done ? undefined : verdict.error);
          if (verdict.repeat === true) unit.uncertain = true;
          // Rows the table's description refuses: each reported alone, the others go again at once (never sent).
          const refused = verdict.done || unit.uncertain ? undefined : refusedRows(verdict.error, unit.request, verdict.keep ?? unitRows(unit));
          if (refused !== undefined) {
            this.#keep(unit, refused.rest, refused.lost);
            // Every row left was refused: the unit is settled (a unit of no rows settles no flush by itself).
            if (refused.rest.length === 0) {
              this.#complete(unit);
              return this.#settleFlushes();
            }
            if (!unit.evicted) continue;
          } else if (verdict.keep !== undefined) this.#keep(unit, verdict.keep, verdict.lost && [verdict.lost]);
          if (verdict.done) return;
          // Refused for the data of a row the server does not name reliably: in halves, each sent at once, down to that row.
          if (unit.uncertain || !refusesRowData(verdict.error) || !this.#mailbox.halve(unit)) throw verdict.error;
        }
      }
    })();
    // Kept until an actor settles it: an attempt that ends while no writer actor runs (one
    // was stopped under it, the next not yet started) is settled by the next, not sent again.
    outcome.catch(noop);
    unit.pending = outcome;
    return outcome;
  }

  // Sending the same bytes again: never when the request was refused or its outcome is
  // unknown; without limit while nothing reached a server; otherwise while the unit has been
  // sent at most 1 + retries times in all.
  #failure(unit: WriterUnit, error: unknown): number | undefined {
    const kind = classifyFailure(error);
    const unsent = kind === 'unavailable' || ((kind === 'network' || kind === 'timeout') && !(error as TransportError).requestSent);
    if (kind === 'refused' || refusesRowData(error) || error instanceof WriteOutcomeUnknownError || (!unsent && ++unit.failures > this.#opts.retries)) {
      this.#deadLetter(unit, error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
    this.#retried++;
    const delay = equalJitter(unit.attempts - 1, this.#opts.backoff, this.#random);
    if (isPoolGone(error)) this.#poolGone = true;
    if (!this.#draining) return delay;
    if (this.#poolGone) this.#endDrain?.(true);
    return Math.min(delay, this.#opts.backoff.initial);
  }

  /** Part of `unit` is settled: the unit keeps `rows`; `lost` rows are reported, the others were stored. */
  #keep(unit: WriterUnit, rows: readonly Row[], lost: readonly { readonly error: Error; readonly rows: readonly Row[] }[] = []): void {
    // Gone already (reported by a drain that gave up on it).
    if (unit.evicted) return;
    const settled = this.#mailbox.keep(unit, rows);
    const n = lost.reduce((sum, l) => sum + l.rows.length, 0);
    this.#written += settled - n;
    this.#failed += n;
    for (const l of lost) this.#report(l.error, l.rows);
  }

  #deadLetter(unit: WriterUnit, error: Error): void {
    const rows = unitRows(unit);
    const n = this.#complete(unit);
    if (n === 0) return;
    this.#failed += n;
    this.#report(error, rows);
  }

  /** Removes a written or dead-lettered unit; returns its row count (0 when it was already gone). */
  #complete(unit: WriterUnit): number {
    this.#active.delete(unit);
    const n = this.#mailbox.complete(unit);
    if (n > 0) this.#settleFlushes();
    return n;
  }

  #settleFlushes(): void {
    while (this.#flushes.length > 0 && this.#mailbox.doneUpTo((this.#flushes[0] as FlushWaiter).seq)) {
      (this.#flushes.shift() as FlushWaiter).resolve();
    }
  }

  #refuse(rows: readonly Row[]): void {
    this.#dropped += rows.length;
    this.#report(new WriterStoppedError('rows enqueued after stop were not accepted'), rows);
  }

  /** Dropped rows are reported once per tick, so a full mailbox costs one error object, not one per row. */
  #drop(rows: readonly Row[]): void {
    this.#dropped += rows.length;
    if (this.#drops.length === 0) {
      queueMicrotask(() => {
        const batch = this.#drops;
        this.#drops = [];
        this.#report(new MailboxFullError(batch.length, this.#opts.mailbox, this.#opts.overflow), batch);
      });
    }
    for (const row of rows) this.#drops.push(row);
    this.#settleFlushes();
  }

  #report(error: Error, rows: readonly Row[]): void {
    try {
      this.#opts.onError(error, rows);
    } catch (hookError) {
      // A throwing hook must not crash the writer and with it the queue behind this batch.
      process.emitWarning(`colonnade: the async writer's onError hook threw: ${String(hookError)}`);
    }
  }

  /**
   * `spec.stop`: writes what it can until `budget` ms have passed, dead-letters the rest.
   * When the pool itself is gone (a sibling restart), it ends at once and keeps the queue.
   */
  async #drain(budget: number): Promise<void> {
    let keep = this.#poolGone;
    this.#closed = true;
    this.#draining = !keep;
    this.#mailbox.sealAll();
    const everything = this.#mailbox.lastSeq();
    if (!keep && !this.#mailbox.doneUpTo(everything)) {
      this.#wake();
      this.#actor?.send({ type: 'hurry' });
      let timer: unknown;
      keep = await new Promise<boolean>((resolve) => {
        this.#endDrain = resolve;
        this.#flushes.push({ seq: everything, resolve: () => resolve(false) });
        timer = this.#clock.setTimeout(() => resolve(false), Math.max(0, budget));
      });
      this.#clock.clearTimeout(timer);
    }
    this.#endDrain = undefined;
    this.#actor = undefined;
    if (keep) {
      this.#closed = false;
      this.#draining = false;
      // Kept for the restart that should follow; if none comes (the pool's supervisor gave
      // up), nothing would ever write or report these rows, nor settle a flush().
      this.#orphaned = this.#clock.setTimeout(() => {
        if (this.#actor === undefined) this.#abandon('the pool stopped for good (its supervisor gave up) before these rows were written');
      }, ORPHAN_GRACE_MS);
      return;
    }
    this.#abandon('the shutdown time ran out before these rows were written');
  }

  /** Reports everything still held as not written and settles every flush(). */
  #abandon(reason: string): void {
    this.#active.clear();
    for (const rows of this.#mailbox.takeAll()) {
      this.#failed += rows.length;
      this.#report(new WriterStoppedError(reason), rows);
    }
    for (const waiter of this.#flushes.splice(0)) waiter.resolve();
  }
}
