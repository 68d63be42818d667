// One client in a process of its own, resident: it warms up, says it is ready, then measures
// `SELECT 1` cells on request (queries/s and the process's CPU per query) until told to
// close. Forked by scripts/bench.ts with the task as JSON in BENCH_TASK.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { loadColonnade } from './bundle.js';
import { openClient, type BenchClient } from './clients.js';
import type { SelectCell, SelectReply, SelectRequest, SelectTask } from './tasks.js';

// A loop bound besides the clock, so a broken client cannot spin forever.
const MAX_QUERIES_PER_CELL = 2_000_000;

async function cell(client: BenchClient, concurrency: number, ms: number): Promise<SelectCell> {
  let queries = 0;
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < end && queries + errors < MAX_QUERIES_PER_CELL) {
      try {
        await client.select();
        queries++;
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    concurrency, queries, errors, ...(firstError ? { firstError } : {}),
    qps: queries / (elapsed / 1000),
    cpuUs: (cpu.user + cpu.system) / Math.max(1, queries),
  };
}

// The V8 profiler behind --cpu-prof, started after the warm-up so the profile holds the
// measured cells (no module loading, no JIT warm-up).
async function profile(dir: string, name: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile: result } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `select-${name}-${process.pid}.cpuprofile`), JSON.stringify(result));
    session.disconnect();
  };
}

const describe = (error: unknown): string => (error instanceof Error ? error.stack ?? error.message : String(error));
const reply = (message: SelectReply): Promise<void> => new Promise((resolve) => process.send!(message, () => resolve()));

async function main(task: SelectTask): Promise<void> {
  let client: BenchClient;
  let stopProfile: (() => Promise<void>) | undefined;
  try {
    client = await openClient(task.client, { urls: task.urls, perServer: task.perServer, colonnade: await loadColonnade(task.colonnade) });
    await cell(client, task.warmupConcurrency, task.warmupMs);
    if (task.profileDir !== undefined) stopProfile = await profile(task.profileDir, task.client);
  } catch (error) {
    await reply({ type: 'failed', error: describe(error) });
    process.exit(1);
  }
  // The parent went away (interrupted): nothing will ask for more.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: SelectRequest) => {
    const work = message.type === 'cell'
      ? cell(client, message.concurrency, message.warmupMs).then(() => cell(client, message.concurrency, message.ms))
        .then((result) => reply({ type: 'cell', cell: result }))
      : Promise.resolve(stopProfile?.()).then(() => client.close()).then(() => reply({ type: 'closed' })).then(() => process.exit(0));
    work.catch((error: unknown) => reply({ type: 'failed', error: describe(error) }).then(() => process.exit(1)));
  });
  await reply({ type: 'ready' });
}

const task = JSON.parse(process.env.BENCH_TASK ?? 'null') as SelectTask | null;
if (task === null || typeof process.send !== 'function') {
  console.error('select-worker: run by scripts/bench.ts (needs BENCH_TASK and an IPC channel)');
  process.exit(2);
}
await main(task);
