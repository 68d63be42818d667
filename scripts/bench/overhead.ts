// Where colonnade's CPU per `SELECT 1` goes, without the network: each layer driven alone,
// in-process, at concurrency 16, so the benchmark's difference from raw undici can be split.
//  - pool machinery: `pool.select` with the pool's I/O replaced by an answer on the next
//    microtask (broker lease, connection machine, checkout/check-in, promise chain);
//  - protocol: `perform(prepare(select))` through a fake undici dispatcher that answers
//    `SELECT 1` at once (path and headers, the response handler, TSV decoding);
//  - their parts: `prepare`, `queryPath`, `decodeTsv` alone; the connection machine alone
//    (`run` -> busy -> `transport.done` -> idle, answered at once), one machine per caller,
//    through xstate's full step and through the hot path (connection.hot-path.ts).
// Run: node --import tsx scripts/bench/overhead.ts [calls=200000] [concurrency=16]
// As shipped (tsx adds esbuild's keepNames helpers to hot paths; build.mjs does not):
//   npx esbuild scripts/bench/overhead.ts --bundle --platform=node --format=esm --packages=external \
//     --outfile=.bench/overhead.mjs && node .bench/overhead.mjs
import type { Dispatcher } from 'undici';
import { createActor } from 'xstate';
import { openTransport, parseConnectionString, perform, prepare } from '../../src/clickhouse/index.js';
import { definePoolWith } from '../../src/pool/define-pool.js';
import { decodeTsv } from '../../src/clickhouse/decode.js';
import { queryPath } from '../../src/clickhouse/query-path.js';
import { withHotPath } from '../../src/pool/connection/hot-path.js';
import { connectionMachine, performAction, transportLogic } from '../../src/pool/connection/connection.machine.js';

const calls = Number(process.argv[2] ?? 200_000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const server = parseConnectionString('http://127.0.0.1:18123/default');
const BODY = '1\nUInt8\n1\n';

async function measure(label: string, call: () => Promise<unknown> | unknown): Promise<void> {
  const run = async (n: number): Promise<void> => {
    let left = n;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await call();
    }));
  };
  await run(Math.min(calls, 20_000));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(calls);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  console.log(`${label.padEnd(62)} ${((cpu.user + cpu.system) / calls).toFixed(2).padStart(7)} µs CPU/call  ${(wall * 1000 / calls).toFixed(2).padStart(7)} µs wall/call`);
}

// Answers every request with `SELECT 1`'s TabSeparatedWithNamesAndTypes body, as undici
// would call a legacy handler, on the next microtask.
const fake = {
  dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = handler as unknown as {
      onConnect(abort: (err: Error) => void): void;
      onRequestSent?(): void;
      onHeaders(status: number, raw: Buffer[], resume: () => void, text: string): boolean;
      onData(chunk: Buffer): boolean;
      onComplete(trailers: Buffer[]): void;
    };
    queueMicrotask(() => {
      h.onConnect(() => undefined);
      h.onRequestSent?.();
      h.onHeaders(200, [Buffer.from('Content-Type'), Buffer.from('text/tab-separated-values; charset=UTF-8')], () => undefined, 'OK');
      h.onData(Buffer.from(BODY));
      h.onComplete([]);
    });
    return true;
  },
} as unknown as Dispatcher;

const defaults = { timeout: 5_000, int64: 'auto', settings: {} } as const;
console.log(`${calls.toLocaleString('en')} calls each, ${CONCURRENCY} at a time, no network`);
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) throw new Error('concurrency must be a positive integer');
await measure('protocol: perform(prepare(SELECT 1)) via fake dispatcher', () => perform(fake, server, prepare({ type: 'select', sql: 'SELECT 1' }), defaults));
await measure('  prepare({ type: select })', () => prepare({ type: 'select', sql: 'SELECT 1' }));
await measure('  queryPath', () => queryPath(server, [{}, undefined]));
await measure('  decodeTsv', () => decodeTsv(BODY, { int64: 'auto', serverTimeZone: 'UTC' }));

// As PooledConnection drives it: send `run`, resolve on the emitted `settled`; once with
// xstate's full step for every event, once wrapped by the hot path the pool uses.
const request = prepare({ type: 'select', sql: 'SELECT 1' });
for (const hot of [false, true]) {
  const machines = Array.from({ length: CONCURRENCY }, (_, i) => {
    const output = Promise.resolve([{ 1: 1 }]);
    const logic = connectionMachine.provide({
      actions: { perform: performAction(() => output) },
      actors: { transport: transportLogic(() => Promise.resolve()) },
    });
    const actor = createActor(hot ? withHotPath(logic) : logic, {
      input: { id: `conn-${i}`, server: 0, label: 'http://127.0.0.1:9/default', overflow: false, backoff: { initial: 100, max: 1_000 } },
    });
    let settle: ((value: unknown) => void) | undefined;
    actor.on('settled', (e) => settle?.(e.ok ? e.output : e.error));
    actor.start();
    return { actor, run: (r: typeof request) => new Promise((resolve) => { settle = resolve; actor.send({ type: 'run', request: r }); }) };
  });
  let next = 0;
  await measure(`  connection machine alone${hot ? ', hot path' : ', xstate step'}: run -> settled`, () => machines[next++ % CONCURRENCY]!.run(request));
  for (const m of machines) m.actor.stop();
}

const pool = definePoolWith(
  { connectionStrings: ['http://127.0.0.1:9/default', 'http://127.0.0.1:9/default', 'http://127.0.0.1:9/default'], name: 'overhead', poolSize: 66, maxOverflow: 0 },
  { open: (s) => openTransport(s), perform: () => Promise.resolve([{ 1: 1 }]), probe: () => Promise.resolve() },
);
await pool.start();
await measure('pool machinery: pool.select with I/O answered at once', () => pool.select('SELECT 1'));
await pool.stop();
