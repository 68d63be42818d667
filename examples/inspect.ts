// The pool's actors, live, from the xstate inspection stream: `startSupervisor([pool],
// { inspect })` shows every supervisor, the broker, each connection and the writer with its
// current state, redrawn in the terminal while a small load runs (selects, slow selects that
// push the pool into overflow, async inserts). A fourth "server" is a port nobody listens on,
// so its connection cycles through failed, backoff and probing. One URL carries the
// `colonnade` user's password; at the end the example checks that neither the inspection
// events nor anything it printed contain it. Ends by itself after about 8 s.
// Run: npx tsx examples/inspect.ts   (COLONNADE_URLS as for the quickstart; `npm run demo` starts the cluster)
import type { InspectionEvent } from 'xstate';
import { PASSWORD } from '../scripts/cluster.mjs';
import { definePool, startSupervisor } from '../src/index.js';

const RUN_MS = 8_000;

const given = (process.env.COLONNADE_URLS ?? 'http://127.0.0.1:18123/default,http://127.0.0.1:18124/default,http://127.0.0.1:18125/default')
  .split(',').map((url) => url.trim()).filter((url) => url !== '');
// The second server is reached as the `colonnade` user, with a password.
const urls = given.map((url, i) => {
  if (i !== 1) return url;
  const u = new URL(url);
  u.username = 'colonnade';
  u.password = encodeURIComponent(PASSWORD);
  return u.toString();
});
urls.push('http://127.0.0.1:9/default');

const pool = definePool({
  connectionStrings: urls, name: 'MyClickHouse', poolSize: urls.length, maxOverflow: 2, overflowLinger: 500,
  timeout: 3_000, backoff: { initial: 200, max: 1_000 }, asyncBatchSize: 500, asyncFlushInterval: 300,
});

type Kind = 'supervisor' | 'broker' | 'connection' | 'writer';
interface Actor { name: string; kind: Kind; state: string; detail: string; changes: number; children: string[] }
const actors = new Map<string, Actor>();
let root: string | undefined;
let inspected = 0;
const leaks: string[] = [];
const printed: string[] = [];
const t0 = Date.now();

// Anything serialisable in an event, cycles and actor references skipped.
function text(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return String(v);
      if (typeof v !== 'object' || v === null) return v;
      if (seen.has(v) || 'sessionId' in v) return undefined;
      seen.add(v);
      return v;
    }) ?? '';
  } catch {
    return '';
  }
}

function observe(event: InspectionEvent): void {
  inspected++;
  const snapshot = (event as { snapshot?: { status?: string; value?: unknown; context?: Record<string, unknown>; machine?: { id?: string } } }).snapshot;
  const body = text({ event: (event as { event?: unknown }).event, context: snapshot?.context, value: snapshot?.value });
  if (body.includes(PASSWORD) || body.includes(encodeURIComponent(PASSWORD))) leaks.push(`${event.type}: ${body.slice(0, 200)}`);
  if (event.type !== '@xstate.snapshot' || !snapshot) return;
  const context = snapshot.context ?? {};
  const machine = snapshot.machine?.id;
  let actor: Omit<Actor, 'changes'> | undefined;
  if (typeof context.strategy === 'string' && Array.isArray(context.children)) {
    const children = context.children as { id: string; running: boolean }[];
    const name = String(context.id);
    root ??= name;
    actor = {
      name, kind: 'supervisor', state: snapshot.status === 'active' ? 'running' : String(snapshot.status),
      detail: `${context.strategy}, ${children.filter((c) => c.running).length}/${children.length} children up`, children: children.map((c) => c.id),
    };
  } else if (machine === 'connection') {
    actor = {
      name: String(context.id), kind: 'connection', state: snapshot.status === 'active' ? String(snapshot.value) : String(snapshot.status),
      detail: `${String(context.label)}${context.overflow === true ? ' (overflow)' : ''}`, children: [],
    };
  } else if (machine === 'broker' || machine === 'writer') {
    actor = { name: machine, kind: machine, state: snapshot.status === 'active' ? String(snapshot.value) : String(snapshot.status), detail: '', children: [] };
  }
  if (!actor) return;
  const before = actors.get(actor.name);
  actors.set(actor.name, { ...actor, changes: (before?.changes ?? 0) + (before?.state === actor.state ? 0 : 1) });
}

function table(): string[] {
  const lines: string[] = [];
  const stats = pool.stats();
  const walk = (name: string, depth: number): void => {
    const a = actors.get(name);
    if (!a) return;
    let detail = a.detail;
    if (a.kind === 'writer') detail = `queued ${stats.writer.queued}, written ${stats.writer.written}`;
    if (a.kind === 'broker') detail = `${stats.inUse} lent, ${stats.idle} idle, ${stats.waiters} waiting, ${stats.overflow} overflow`;
    const label = `${'  '.repeat(depth)}${a.name}`;
    lines.push(`${label.padEnd(24)} ${a.kind.padEnd(10)} ${a.state.padEnd(9)} ${String(a.changes).padStart(7)}  ${detail}`);
    for (const child of a.children) walk(child, depth + 1);
  };
  lines.push(`${((Date.now() - t0) / 1000).toFixed(1)} s, ${inspected} inspection events`);
  lines.push(`${'actor'.padEnd(24)} ${'kind'.padEnd(10)} ${'state'.padEnd(9)} ${'changes'.padStart(7)}  detail`);
  if (root) walk(root, 0);
  return lines;
}

const tty = process.stdout.isTTY === true;
let drawn = 0;
function draw(): void {
  const lines = table();
  printed.push(...lines);
  // On a terminal the table is redrawn in place; piped, a copy is printed every 2 s.
  if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
  process.stdout.write(`${lines.join('\n')}\n${tty ? '' : '\n'}`);
  drawn = lines.length;
}

const app = await startSupervisor([pool], { inspect: observe });
const timer = setInterval(draw, tty ? 150 : 2_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let ok = 0;
let failed = 0;
async function caller(i: number): Promise<void> {
  for (let n = 0; Date.now() - t0 < RUN_MS - 500 && n < 2_000; n++) {
    try {
      // Every few seconds a burst of slow selects outgrows poolSize and brings in overflow.
      const burst = Math.floor((Date.now() - t0) / 1_000) % 3 === 2;
      await pool.select(burst ? 'SELECT sleep(0.3) AS s' : 'SELECT {i} AS i', burst ? {} : { i });
      ok++;
      if (i === 0) for (let r = 0; r < 50; r++) pool.asyncInsertToTable('colonnade_inspect_events', { n: r, at: new Date() });
    } catch {
      failed++;
    }
    await sleep(50 + Math.random() * 100);
  }
}
// On every server, since the writer's batches land wherever the balancer sends them.
const onCluster = given.length > 1 ? ` ON CLUSTER ${process.env.COLONNADE_CLUSTER ?? 'colonnade'}` : '';
await pool.query(`CREATE TABLE IF NOT EXISTS colonnade_inspect_events${onCluster} (n UInt32, at DateTime) ENGINE = Memory`);
await Promise.all(Array.from({ length: 8 }, (_, i) => caller(i)));
await pool.flush();
await pool.query(`DROP TABLE colonnade_inspect_events${onCluster}`);
await sleep(Math.max(0, RUN_MS - (Date.now() - t0)));
await app.stop();
clearInterval(timer);
draw();

const summary = `${ok} selects answered, ${failed} failed; every actor above came from the inspection stream`;
printed.push(summary);
console.log(summary);
const leaked = printed.some((line) => line.includes(PASSWORD) || line.includes(encodeURIComponent(PASSWORD)));
console.log(leaks.length === 0 && !leaked
  ? `password check: none of the ${inspected} inspection events nor the printed output contains the password`
  : `password check FAILED: ${leaks.length} inspection events${leaked ? ' and the printed output' : ''} contain it; first: ${leaks[0] ?? ''}`);
if (leaks.length > 0 || leaked) process.exitCode = 1;
