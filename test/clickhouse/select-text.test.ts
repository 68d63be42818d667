import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerResponse } from 'node:http';
import { ClickHouseError, ProtocolError } from '../../src/clickhouse/errors.js';
import { perform } from '../../src/clickhouse/perform.js';
import { prepare } from '../../src/clickhouse/prepare.js';
import { withFakeServer } from './fake-http.js';

// The text select of a server before 22.1, read as its body arrives once the server's zone is known.
const test = suite('select-text');
const defaults = { timeout: 5_000, int64: 'auto' } as const;
const FAILURE = "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded: would use 9.31 GiB, e.what() = DB::Exception\n";

// A TabSeparatedWithNamesAndTypes body of (n UInt32, s String, t DateTime) rows, as 18.16 writes it, in Asia/Tokyo.
function tsvRows(count: number): string {
  const lines = ['n\ts\tt', 'UInt32\tString\tDateTime'];
  for (let n = 0; n < count; n++) lines.push(`${n}\trow ${n} ${'ü'.repeat(n % 4)}\\t\t2020-01-01 09:00:${String(n % 60).padStart(2, '0')}`);
  return `${lines.join('\n')}\n`;
}

const expected = (n: number) => ({ n, s: `row ${n} ${'ü'.repeat(n % 4)}\t`, t: new Date(Date.UTC(2020, 0, 1, 0, 0, n % 60)) });

// Writes `body` in pieces of `size` bytes, a few milliseconds apart every 40 pieces: lines and characters are cut between chunks.
async function trickle(res: ServerResponse, body: Buffer, size: number): Promise<void> {
  res.writeHead(200);
  for (let at = 0; at < body.length; at += size * 40) {
    for (let k = at; k < Math.min(at + size * 40, body.length); k += size) res.write(body.subarray(k, k + size));
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('rows cut between chunks anywhere (inside a line, a character, the header) come whole, in the server\'s zone', async () => {
  const body = Buffer.from(tsvRows(2_000));
  await withFakeServer(async (req, res) => {
    if (req.body.startsWith('SELECT version(), timezone()')) return void res.end('18.16.1\tAsia/Tokyo\n');
    await trickle(res, body, req.body.includes('small') ? 3 : 37);
    res.end();
  }, async (client, server) => {
    for (const table of ['t', 'small']) {
      const rows = await perform(client, server, prepare({ type: 'select', sql: `SELECT n, s, t FROM ${table}` }), defaults);
      assert.is(rows.length, 2_000, table);
      assert.ok(rows.every((row, n) => assert.equal(row, expected(n)) === undefined), table);
    }
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('an exception 18.16 appends after many chunks of rows rejects; one that could be a value is asked again and the held-back answer decides', async () => {
  const body = Buffer.from(tsvRows(2_000));
  const urls: string[] = [];
  await withFakeServer(async (req, res) => {
    if (req.body.startsWith('SELECT version(), timezone()')) return void res.end('18.16.1\tUTC\n');
    urls.push(req.url);
    if (req.body.includes('datalike')) {
      // One String column whose last value reads like an exception: the same rows come when asked again.
      const rows = `s\nString\n${Array.from({ length: 3_000 }, (_, i) => `value ${i}`).join('\n')}\n${FAILURE}`;
      if (req.url.includes('wait_end_of_query=1')) return void res.end(rows);
      await trickle(res, Buffer.from(rows), 41);
      return void res.end();
    }
    if (req.url.includes('wait_end_of_query=1')) return void res.writeHead(500).end(FAILURE);
    await trickle(res, body, 37);
    // Cut inside a row, as 18.16 does when a query fails while it writes.
    res.end(`17\tpart of a r\n${FAILURE}`);
  }, async (client, server) => {
    const err = await perform(client, server, prepare({ type: 'select', sql: 'SELECT n, s, t FROM fails' }), defaults).catch((e: unknown) => e);
    assert.instance(err, ClickHouseError);
    assert.is((err as ClickHouseError).serverCode, 241);
    assert.equal(urls.map((u) => u.includes('wait_end_of_query=1')), [false], 'a cut row is no value: no second request');
    const datalike = await perform(client, server, prepare({ type: 'select', sql: 'SELECT s FROM datalike' }), defaults);
    assert.is(datalike.length, 3_001, 'the rows of the second answer alone');
    assert.equal(datalike[3_000], { s: FAILURE.trimEnd() });
    assert.equal(urls.slice(1).map((u) => u.includes('wait_end_of_query=1')), [false, true]);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('a line with the wrong number of fields is a ProtocolError that names its row in the whole result', async () => {
  const body = Buffer.from(`${tsvRows(1_500)}1500\tshort\n`);
  await withFakeServer(async (req, res) => {
    if (req.body.startsWith('SELECT version(), timezone()')) return void res.end('18.16.1\tUTC\n');
    await trickle(res, body, 97);
    res.end();
  }, async (client, server) => {
    const err = await perform(client, server, prepare({ type: 'select', sql: 'SELECT n, s, t FROM t' }), defaults).catch((e: unknown) => e);
    assert.instance(err, ProtocolError);
    assert.match((err as Error).message, /^row 1501 has 2 fields, expected 3/);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test.run();
