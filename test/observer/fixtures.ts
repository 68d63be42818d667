// Shared by the observer's tests: a pool whose server never answers (its events are emitted
// by hand), a worker that crashes when told, a bounded wait, and an `/events` client.
import { request } from 'node:http';
import { createActor, fromCallback } from 'xstate';
import * as assert from 'uvu/assert';
import type { ChildSpec } from '../../src/otp/index.js';
import { definePool, type ClickHousePool, type PoolOptions, type QueryEvent } from '../../src/pool/index.js';

/** Nothing listens on port 1: the pool's connections back off and no query is ever sent. */
export const deadPool = (name: string, extra: Partial<PoolOptions> = {}): ClickHousePool =>
  definePool({ connectionStrings: ['http://127.0.0.1:1/default'], name, poolSize: 1, ...extra });

const servers = new WeakMap<ClickHousePool, string>();

/** One `query` event, as the pool emits it after a call. */
export function emitQuery(pool: ClickHousePool, durationMs: number, outcome: QueryEvent['outcome'] = 'ok', type: QueryEvent['type'] = 'select'): void {
  const server = servers.get(pool) ?? pool.stats().servers[0]!.server;
  servers.set(pool, server);
  pool.events.emit('query', { pool: pool.name, type, server, durationMs, rows: 1, outcome, error: outcome === 'ok' ? undefined : 'CLICKHOUSE', retries: 0 });
}

/** A worker that throws `new Error(why)` when sent `{ type: 'crash', why }`. */
export function crashy(id: string): ChildSpec {
  return {
    id,
    start: () => createActor(fromCallback<{ type: 'crash'; why: string }>(({ receive }) => {
      receive((event) => {
        throw new Error(event.why);
      });
    })),
  };
}

/** Polls `check` every 20 ms; fails the test naming `what` once `ms` have passed. */
export async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.unreachable(`gave up after ${ms} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An `/events` client over node:http: counts the `data:` messages; `close()` leaves. */
export interface EventsClient {
  readonly messages: number;
  readonly ended: boolean;
  close(): void;
}

export function openEvents(url: string): EventsClient {
  const state = { messages: 0, ended: false };
  const req = request(`${url}events`, (res) => {
    res.setEncoding('utf8');
    let buffered = '';
    res.on('data', (chunk: string) => {
      buffered += chunk;
      const blocks = buffered.split('\n\n');
      buffered = blocks.pop() ?? '';
      state.messages += blocks.filter((b) => b.split('\n').some((line) => line.startsWith('data: '))).length;
    });
    res.on('end', () => void (state.ended = true));
    res.on('error', () => void (state.ended = true));
  });
  req.on('error', () => void (state.ended = true));
  req.end();
  return {
    get messages() { return state.messages; },
    get ended() { return state.ended; },
    close: () => void req.destroy(),
  };
}
