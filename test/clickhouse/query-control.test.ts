// The pool's side questions to a server, each on a connection of its own (KILL QUERY, what
// became of a query, a table's description, a query's progress), against a fake server.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { describedWithin, endControls, killQuery, learnServerInfo, queryOutcome, watchProgress, type Progress } from '../../src/clickhouse/query-control.js';
import { fakeServer } from './fake-http.js';

const test = suite('query-control');

/** A connection string to a port nothing listens on. */
async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/default`;
}

/** Polls `done` every 10 ms, for at most `ms`. */
async function until(done: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('killQuery :: a server that refuses the connection is no error: the kill resolves (it is best effort, and fired without a catch)', async () => {
  const server = parseConnectionString(await refusingUrl());
  // Before: it rejected, and the process died of the unhandled rejection when a stream was aborted just as its server went away.
  assert.is(await killQuery(server, 'q-1', { timeout: 1_000 }), undefined);
  assert.is(await learnServerInfo(server, { timeout: 1_000 }), undefined);
});

test('queryOutcome :: the query log\'s entry types tell finished, failed or absent', async () => {
  let types = '';
  const fake = await fakeServer((req, res) => {
    if (req.body.includes('system.processes')) return void res.end('0\n');
    if (req.body.includes('system.query_log')) return void res.end(`${types}\n`);
    res.end('');
  }, (port) => `http://127.0.0.1:${port}/default`);
  const server = parseConnectionString(fake.url);
  try {
    const told: string[] = [];
    for (const t of ['[2]', '[1,2]', '[3]', '[1,4]', '[1]', '[]']) {
      types = t;
      told.push(`${t} ${await queryOutcome(server, 'q-1', { timeout: 2_000 })}`);
    }
    // Before: only a failure before the start (type 3) counted as absent, and a query that started and never ended (a server restart) as finished.
    assert.equal(told, ['[2] finished', '[1,2] finished', '[3] failed', '[1,4] failed', '[1] failed', '[] absent']);
  } finally {
    await fake.close();
  }
});

test('describedWithin :: a description that was refused is not asked again for a while: the next insert gets none at once', async () => {
  const fake = await fakeServer((req, res) => {
    if (req.body.startsWith('DESCRIBE')) {
      res.statusCode = 500;
      return void res.end('Code: 497. DB::Exception: alice: Not enough privileges. (ACCESS_DENIED) (version 26.7.2.1)\n');
    }
    res.end('26.7.2.1\tUTC\n');
  }, (port) => `http://127.0.0.1:${port}/default`);
  const server = parseConnectionString(fake.url);
  const describes = (): number => fake.seen.filter((s) => s.body.startsWith('DESCRIBE')).length;
  try {
    assert.is(await describedWithin(server, '`secret_events`', () => 5_000), undefined);
    assert.is(describes(), 1);
    assert.is(await describedWithin(server, '`secret_events`', () => 5_000), undefined);
    // Before: every insert by a user who may not describe the table asked again (and waited up to a second for it).
    assert.is(describes(), 1, 'not asked again');
  } finally {
    await fake.close();
  }
});

test('watchProgress :: the rows sent so far stay in every later report, not only the one sent() made', async () => {
  const fake = await fakeServer((req, res) => {
    if (req.body.includes('system.processes')) return void res.end('10\t100\t1000\t7\t70\t0.5\n');
    res.end('');
  }, (port) => `http://127.0.0.1:${port}/default`);
  const server = parseConnectionString(fake.url);
  const told: Progress[] = [];
  const watch = watchProgress(server, 'q-1', (p) => told.push(p), 20);
  try {
    await until(() => told.length >= 1);
    watch.sent(500);
    const at = told.length;
    await until(() => told.length >= at + 3);
    assert.ok(told.length >= at + 3, `${told.length - at} reports after sent()`);
    // Before: each poll of system.processes reported sentRows 0 again.
    assert.equal(told.slice(at).map((p) => p.sentRows), told.slice(at).map(() => 500));
    assert.equal(told.at(-1), { readRows: 10, readBytes: 100, totalRowsToRead: 1000, writtenRows: 7, writtenBytes: 70, elapsedMs: 500, sentRows: 500 });
  } finally {
    watch.stop();
    await endControls([server], 1_000);
    await fake.close();
  }
});

test('watchProgress :: no report comes after the watch stopped, not even from an answer already on its way', async () => {
  let answer: (() => void) | undefined;
  const fake = await fakeServer((req, res) => {
    if (!req.body.includes('system.processes')) return void res.end('');
    // The first question is answered only once the test says so.
    if (answer === undefined) answer = () => res.end('10\t100\t1000\t0\t0\t0.5\n');
    else res.end('10\t100\t1000\t0\t0\t0.5\n');
  }, (port) => `http://127.0.0.1:${port}/default`);
  const server = parseConnectionString(fake.url);
  const told: Progress[] = [];
  const watch = watchProgress(server, 'q-1', (p) => told.push(p), 20);
  try {
    await until(() => answer !== undefined);
    assert.ok(answer, 'the watch asked system.processes');
    watch.stop();
    answer();
    // The watch ends after the question in flight: waits for it.
    await endControls([server], 2_000);
    // Before: the answer that came after stop() was still handed to onProgress.
    assert.equal(told, []);
  } finally {
    await fake.close();
  }
});

test.run();
