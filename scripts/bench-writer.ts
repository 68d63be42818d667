// Async writer throughput with a fake server (no ClickHouse) that takes each batch's body:
// one-row calls, as `asyncInsertToTable(table, row)` makes them. Measures the writer alone
// (`writer.enqueueRows`: check, copy, enqueue) and the whole pool path
// (`pool.asyncInsertToTable`: message, check, copy, enqueue), each flushed to the fake
// server, which is when the batches are encoded.
// Run: node --import tsx scripts/bench-writer.ts [rows=1000000]
import { setImmediate as tick } from 'node:timers/promises';
import type { AnyActorRef } from 'xstate';
import { realClock } from '../src/otp/clock.js';
import { openTransport, type PreparedRequest } from '../src/clickhouse/index.js';
import { definePoolWith } from '../src/pool/define-pool.js';
import { createWriter } from '../src/pool/writer/writer.js';

const total = Number(process.argv[2] ?? 1_000_000);
const row = (i: number) => ({ id: i, event: 'page_view', user_id: i % 1000, ts: 1_700_000_000 + i });
let requests = 0;
// A server that takes the whole body and answers on the next turn of the event loop. Taking
// the body is what encodes a batch (the writer keeps rows and encodes a batch as it is sent).
let bytes = 0;
const answer = async (request: PreparedRequest): Promise<void> => {
  for (const group of request.insert?.groups ?? []) for (const chunk of group.chunks) bytes += chunk.length;
  await tick();
  requests++;
};

async function measure(label: string, call: (i: number) => void, flush: () => Promise<void>): Promise<void> {
  requests = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    call(i);
    if (i % 5000 === 4999) await tick(); // a real caller yields to I/O now and then
  }
  const t1 = performance.now();
  await flush();
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  console.log(`${label.padEnd(28)} ${Math.round(total / ((t1 - t0) / 1000)).toLocaleString('en').padStart(10)} rows/s enqueued, ` +
    `${Math.round(total / ((t2 - t0) / 1000)).toLocaleString('en').padStart(10)} rows/s written, ${requests} inserts, ` +
    `CPU ${((cpu.user + cpu.system) / total).toFixed(2)} µs/row`);
}

const writer = createWriter({
  id: 'bench-writer',
  clock: realClock,
  options: {
    mailbox: 100_000, batchSize: 10_000, flushInterval: 1000, overflow: 'drop_newest', retries: 3,
    backoff: { initial: 100, max: 10_000 },
    onError: (error, rows) => console.error(`dead letter: ${error.message} (${rows.length} rows)`),
    serverAsyncInsert: false,
  },
  run: answer,
});
const actor = (await writer.spec.start()) as AnyActorRef;
actor.start();
await measure('writer.enqueueRows', (i) => {
  const r = row(i);
  writer.enqueueRows('events', [r]);
}, () => writer.flush());
await writer.spec.stop?.(actor);
actor.stop();
console.log(`  ${JSON.stringify(writer.stats())}`);

const pool = definePoolWith(
  { connectionStrings: ['http://127.0.0.1:9/default'], name: 'bench-pool', poolSize: 2 },
  { open: (server) => openTransport(server), perform: (_transport, _server, request) => answer(request), probe: async () => {} },
);
await pool.start();
await measure('pool.asyncInsertToTable', (i) => pool.asyncInsertToTable('events', row(i)), () => pool.flush());
console.log(`  ${JSON.stringify(pool.stats().writer)}`);
await pool.stop();
