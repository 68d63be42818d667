// Async writer throughput with a fake `run` (no server): one-row enqueueRows calls, as
// `asyncInsertToTable(table, row)` makes them, with JSON encoding in the caller.
// Run: node --import tsx scripts/bench-writer.ts [rows=1000000]
import { setImmediate as tick } from 'node:timers/promises';
import { realClock } from '../src/otp/clock.js';
import { createWriter } from '../src/pool/writer.js';
import type { AnyActorRef } from 'xstate';

const total = Number(process.argv[2] ?? 1_000_000);
let bytes = 0;
let requests = 0;
const writer = createWriter({
  id: 'bench-writer',
  clock: realClock,
  options: {
    mailbox: 100_000, batchSize: 10_000, flushInterval: 1000, overflow: 'drop_newest', retries: 3,
    backoff: { initial: 100, max: 10_000 },
    onError: (error, rows) => console.error(`dead letter: ${error.message} (${rows.length} rows)`),
  },
  // A server that answers on the next turn of the event loop.
  run: async (request) => { await tick(); bytes += request.body.length; requests++; },
});
const actor = (await writer.spec.start()) as AnyActorRef;
actor.start();

const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < total; i++) {
  const row = { id: i, event: 'page_view', user_id: i % 1000, ts: 1_700_000_000 + i };
  writer.enqueueRows('events', [row], [JSON.stringify(row)]);
  if (i % 5000 === 4999) await tick(); // a real caller yields to I/O now and then
}
const t1 = performance.now();
await writer.flush();
const t2 = performance.now();
const cpu = process.cpuUsage(cpu0);
const s = writer.stats();
console.log(`rows ${total}: enqueue ${(total / ((t1 - t0) / 1000)).toFixed(0)} rows/s, ` +
  `end to end (flushed) ${(total / ((t2 - t0) / 1000)).toFixed(0)} rows/s, ` +
  `${requests} inserts, ${(bytes / 1e6).toFixed(1)} MB, CPU ${((cpu.user + cpu.system) / total).toFixed(2)} µs/row; ` +
  `written ${s.written}, dropped ${s.dropped}, failed ${s.failed}`);
await writer.spec.stop?.(actor);
actor.stop();
