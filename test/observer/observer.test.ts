// The observer's HTTP server and lifecycle, in-process over node:http (no ClickHouse: a pool
// at port 1, or none): its collector lets go of the pools when it stops, crashes or cannot
// start; `/events` updates every open page from the first moment and stops its timer when
// the last one leaves or the app stops; options and HTTP details that guard the page.
import { createServer } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/clickhouse/index.js';
import { observer, type Observer, type ObserverOptions } from '../../src/observer/index.js';
import { startSupervisor, type Supervisor } from '../../src/otp/index.js';
import type { ClickHousePool } from '../../src/pool/index.js';
import { deadPool, openEvents, until } from './fixtures.js';

const test = suite('observer');

const listeners = (pool: ClickHousePool): [number, number] => [pool.events.listenerCount('query'), pool.events.listenerCount('writer:batch')];
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const observerChild = (app: Supervisor) => app.whichChildren().find((c) => c.id === 'observer');

/** An observer alone under a root, for `fn`; stopped after. */
async function serving(options: ObserverOptions, fn: (obs: Observer) => Promise<void>): Promise<void> {
  const obs = observer(options);
  const app = await startSupervisor([obs]);
  try {
    await fn(obs);
  } finally {
    await app.stop();
  }
}

async function fetched(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  await res.arrayBuffer();
  return res;
}

test('lifecycle :: the collector listens to the pool once while running, once after a crash-restart, not at all after stop', async () => {
  const pool = deadPool('K');
  const obs = observer({ port: 0 });
  const app = await startSupervisor([pool, obs]);
  try {
    assert.equal(listeners(pool), [1, 1]);
    const first = obs.url;
    observerChild(app)!.actor!.send({ type: 'crash', error: new Error('test crash') });
    await until('the observer restarted', () => observerChild(app)?.restarts === 1 && obs.url !== undefined && obs.url !== first);
    assert.equal(listeners(pool), [1, 1]);
  } finally {
    await app.stop();
  }
  assert.equal(listeners(pool), [0, 0]);
});

test('lifecycle :: a port already taken: the start fails and leaves no listener on the pool', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = blocker.address() as { port: number };
    const pool = deadPool('L');
    const failed = await startSupervisor([pool, observer({ port })], { intensity: 0 }).then(() => undefined, (error: unknown) => error);
    assert.ok(failed instanceof Error, 'the start failed');
    assert.equal(listeners(pool), [0, 0]);
  } finally {
    blocker.close();
  }
});

test('events :: the first update comes at once, not after the interval', async () => {
  await serving({ port: 0, interval: 60_000 }, async (obs) => {
    const client = openEvents(obs.url!);
    try {
      await until('the first update', () => client.messages === 1, 5_000);
    } finally {
      client.close();
    }
  });
});

test('events :: two pages both get the updates; once both leave, the update timer is cleared', async () => {
  const obs = observer({ port: 0, interval: 100 });
  const app = await startSupervisor([obs]);
  const before = timers();
  const a = openEvents(obs.url!);
  const b = openEvents(obs.url!);
  try {
    await until('both pages updated three times', () => a.messages >= 3 && b.messages >= 3, 5_000);
    a.close();
    b.close();
    await until('no update timer left', () => timers() <= before, 3_000);
  } finally {
    a.close();
    b.close();
    await app.stop();
  }
});

test('events :: stop with a page open: the stream ends and stop resolves', async () => {
  const obs = observer({ port: 0, interval: 100 });
  const app = await startSupervisor([obs]);
  const client = openEvents(obs.url!);
  try {
    await until('the first update', () => client.messages >= 1);
    const stopped = await Promise.race([app.stop().then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, 10_000, false))]);
    assert.ok(stopped, 'stop resolved');
    await until('the stream ended', () => client.ended, 3_000);
  } finally {
    client.close();
  }
});

test('options :: an empty token (which would let everyone in) and an interval below 50 ms are refused', () => {
  assert.throws(() => observer({ token: '' }), /token/);
  assert.throws(() => observer({ interval: 0 }), /interval/);
  assert.throws(() => observer({ interval: 49 }), /interval/);
});

test('http :: other methods get 405; the page has its CSP; answers are no-store and nosniff', async () => {
  await serving({ port: 0 }, async (obs) => {
    const post = await fetched(`${obs.url}state.json`, { method: 'POST' });
    assert.is(post.status, 405);
    assert.is(post.headers.get('allow'), 'GET, HEAD');
    const page = await fetched(obs.url!);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    for (const res of [page, await fetched(`${obs.url}state.json`), await fetched(`${obs.url}metrics`)]) {
      assert.is(res.headers.get('cache-control'), 'no-store');
      assert.is(res.headers.get('x-content-type-options'), 'nosniff');
    }
  });
});

test('http :: on host ::1 the url is bracketed, and answers', async () => {
  await serving({ port: 0, host: '::1' }, async (obs) => {
    assert.match(obs.url ?? '', /^http:\/\/\[::1\]:\d+\/$/);
    assert.is((await fetched(`${obs.url}state.json`)).status, 200);
  });
});

test('http :: a Basic Authorization header (a proxy\'s) does not hide a right ?token=', async () => {
  await serving({ port: 0, token: 'obs-token-42' }, async (obs) => {
    const basic = { authorization: `Basic ${Buffer.from('proxy:secret').toString('base64')}` };
    assert.is((await fetched(`${obs.url}state.json?token=obs-token-42`, { headers: basic })).status, 200);
    assert.is((await fetched(`${obs.url}state.json?token=wrong`, { headers: basic })).status, 401);
  });
});

test('start :: outside a supervisor it is refused with a ConfigError that says how to start it', async () => {
  const error = await Promise.resolve().then(() => observer({ port: 0 }).childSpec().start()).then(() => undefined, (e: unknown) => e);
  assert.instance(error, ConfigError);
  assert.match(String((error as Error).message), /startSupervisor/);
});

test.run();
