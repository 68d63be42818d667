// Starting, naming and stopping pools on the real cluster: what an application meets at
// boot and at shutdown.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor } from '../../src/index.js';
import { whereis } from '../../src/otp/index.js';
import { serverUrls } from './cluster.js';

const test = suite('pool-lifecycle');
const urls = () => serverUrls({ user: 'colonnade' });

test('start :: concurrent start() calls all resolve to the same running pool', async () => {
  const pool = definePool({ connectionStrings: urls(), name: `it-life-start-${process.pid}`, poolSize: 2 });
  try {
    const outcomes = await Promise.allSettled([pool.start(), pool.start(), pool.start()]);
    assert.equal(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'fulfilled']);
    assert.equal(await pool.select('SELECT 1 AS x'), [{ x: 1 }]);
    assert.is(whereis(pool.name), pool);
  } finally {
    await pool.stop();
  }
  assert.is(whereis(pool.name), undefined, 'unregistered after stop');
});

test('naming :: two unnamed pools run side by side, each start()ed and both under one supervisor', async () => {
  const a = definePool({ connectionStrings: urls(), poolSize: 1 });
  const b = definePool({ connectionStrings: urls(), poolSize: 1 });
  assert.is.not(a.name, b.name);
  await a.start();
  await b.start();
  try {
    assert.equal(await Promise.all([a.select('SELECT 1 AS x'), b.select('SELECT 2 AS x')]), [[{ x: 1 }], [{ x: 2 }]]);
    assert.is(whereis(a.name), undefined, 'an unnamed pool is not registered');
  } finally {
    await a.stop();
    await b.stop();
  }
  const c = definePool({ connectionStrings: urls(), poolSize: 1 });
  const d = definePool({ connectionStrings: urls(), poolSize: 1 });
  const app = await startSupervisor([c, d]);
  try {
    assert.equal(await Promise.all([c.select('SELECT 3 AS x'), d.select('SELECT 4 AS x')]), [[{ x: 3 }], [{ x: 4 }]]);
  } finally {
    await app.stop();
  }
});

test('naming :: an explicit name is registered, and a second running pool of that name is a clear error', async () => {
  const name = `it-life-dup-${process.pid}`;
  const a = definePool({ connectionStrings: urls(), name, poolSize: 1 });
  const b = definePool({ connectionStrings: urls(), name, poolSize: 1 });
  await a.start();
  try {
    const error = await b.start().then(() => undefined, (e: unknown) => e);
    const chain: { code?: string; message?: string }[] = [];
    for (let e = error as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined) chain.push(e as never);
    const taken = chain.find((e) => e.code === 'OTP_NAME_TAKEN');
    assert.ok(taken, `refused because the name is taken: ${String(error)}`);
    assert.match(taken!.message ?? '', name);
    assert.equal(await a.select('SELECT 1 AS x'), [{ x: 1 }], 'the running pool is undisturbed');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test.run();
