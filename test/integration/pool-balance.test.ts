// The pool against the real 3-replica cluster: queries spread over every server (counted by
// the servers themselves through their macros, and by stats()), per query, per strategy.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startSupervisor } from '../../src/otp/index.js';
import { definePool } from '../../src/pool/define-pool.js';
import { serverUrls } from './cluster.js';

const test = suite('pool-balance');
const WHO = "SELECT substitution AS replica FROM system.macros WHERE macro = 'replica'";
let seq = 0;
const name = () => `it-balance-${process.pid}-${++seq}`;

test('balance :: round robin sends queries to all three servers, per query', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3 });
  const app = await startSupervisor([pool]);
  try {
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) seen.push(String((await pool.select(WHO))[0]!.replica));
    const perReplica = new Map<string, number>();
    for (const r of seen) perReplica.set(r, (perReplica.get(r) ?? 0) + 1);
    assert.is(perReplica.size, 3, `every server answered: ${[...perReplica.keys()]}`);
    assert.equal([...perReplica.values()], [10, 10, 10]);
    assert.equal(pool.stats().servers.map((s) => s.queries), [10, 10, 10]);
  } finally {
    await app.stop();
  }
});

test('balance :: concurrent load spreads over all servers too', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 6 });
  const app = await startSupervisor([pool]);
  try {
    const rows = await Promise.all(Array.from({ length: 60 }, () => pool.select(WHO)));
    const replicas = new Set(rows.map((r) => String(r[0]!.replica)));
    assert.is(replicas.size, 3);
    for (const s of pool.stats().servers) assert.ok(s.queries >= 10, `${s.server}: ${s.queries} queries`);
  } finally {
    await app.stop();
  }
});

test('balance :: in_order keeps a sequential caller on the primary', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3, balance: 'in_order' });
  const app = await startSupervisor([pool]);
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(String((await pool.select(WHO))[0]!.replica));
    assert.equal([...seen], ['r0']);
  } finally {
    await app.stop();
  }
});

test('balance :: least_busy and random reach every server', async () => {
  for (const balance of ['least_busy', 'random'] as const) {
    const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3, balance });
    const app = await startSupervisor([pool]);
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 3; i++) seen.add(String((await pool.select(WHO))[0]!.replica));
      assert.is(seen.size, 3, `${balance} reached ${[...seen]}`);
    } finally {
      await app.stop();
    }
  }
});

test.run();
