// The inspection stream of a real pool: every actor of the tree with its state changes, and
// not one event that carries the password, even while a server refuses connections and a
// query fails.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InspectionEvent } from 'xstate';
import { definePool, startSupervisor } from '../../src/index.js';
import { PASSWORD, serverUrls } from './cluster.js';
import { assertNoPassword } from './helpers.js';

const test = suite('pool-inspect');

function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function') return `[function ${v.name}]`;
    if (v instanceof Error) return { name: v.name, message: v.message, code: (v as { code?: string }).code, cause: v.cause };
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[seen]';
      seen.add(v);
    }
    return v;
  });
}

test('inspect :: broker, connections and writer show their states; no event carries the password', async () => {
  const urls = serverUrls({ user: 'colonnade' });
  // A fourth server that refuses connections: failures and probes go through the stream too.
  const refused = urls[0]!.replace(/:\d+\//, ':1/');
  const events: InspectionEvent[] = [];
  const pool = definePool({ connectionStrings: [...urls, refused], name: `it-inspect-${process.pid}`, poolSize: 4, backoff: { initial: 50, max: 200 } });
  const app = await startSupervisor([pool], { inspect: (e) => events.push(e) });
  try {
    for (let i = 0; i < 8; i++) await pool.select('SELECT {i} AS i', { i });
    const bad = await pool.query('SELECT * FROM no_such_table_here').catch((e: { code?: string }) => e.code);
    assert.is(bad, 'CLICKHOUSE');
    pool.asyncQuery('SELECT 1');
    await pool.flush();
    await new Promise((r) => setTimeout(r, 300));
    assert.not.ok(pool.stats().servers[3]!.up, 'the refusing server is marked down');
  } finally {
    await app.stop();
  }
  const states = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== '@xstate.snapshot') continue;
    const snap = e.snapshot as { value?: unknown; context?: { id?: string; pool?: string } };
    const who = snap.context?.pool !== undefined ? 'broker' : snap.context?.id;
    if (typeof who !== 'string' || typeof snap.value !== 'string') continue;
    if (!states.has(who)) states.set(who, new Set());
    states.get(who)!.add(snap.value);
  }
  for (const id of ['conn-0', 'conn-1', 'conn-2', 'conn-3']) assert.ok(states.has(id), `${id} is in the stream`);
  assert.ok(states.get('conn-0')!.has('busy'), 'a connection went busy');
  assert.ok(states.get('conn-3')!.has('backoff'), 'the connection to the refusing server backed off');
  assert.ok(states.has('broker'), 'the broker is in the stream');
  const machineOf = (e: InspectionEvent) => (e.actorRef.getSnapshot() as { machine?: { id?: string } } | undefined)?.machine?.id;
  assert.ok(events.some((e) => e.type === '@xstate.snapshot' && machineOf(e) === 'writer'), 'the writer is in the stream');
  assert.ok(events.some((e) => e.type === '@xstate.snapshot' && machineOf(e) === 'broker'), 'the broker machine is in the stream');
  const text = safeJson(events);
  assert.ok(text.length > 10_000, 'the whole stream was serialised');
  assert.not.match(text, PASSWORD);
  assert.not.match(text, encodeURIComponent(PASSWORD));
  assert.match(text, 'colonnade:***@', 'servers appear redacted');
  // JSON skips non-enumerable fields (a ServerConfig's password, an Error's message): what
  // each event carries (its event, snapshot, and any error along a cause chain) is also
  // inspected with hidden fields.
  for (const e of events) {
    const carried = { type: e.type, event: (e as { event?: unknown }).event, snapshot: (e as { snapshot?: unknown }).snapshot };
    assertNoPassword(carried, `an inspection event ${e.type}`);
  }
});

test.run();
