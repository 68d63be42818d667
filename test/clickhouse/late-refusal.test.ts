// A row that stops encoding after it was checked (the caller changed it while the statement
// was being sent): the body ends with a line no format reads, so that 18.16 (which stores
// the rows of a text body cut short) stores nothing of the statement; the call rejects with the row's refusal.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { forgetServerInfo } from '../../src/clickhouse/server-info.js';
import { perform } from '../../src/clickhouse/perform.js';
import { prepare } from '../../src/clickhouse/prepare.js';
import type { Row } from '../../src/clickhouse/types.js';

const test = suite('late-refusal');

/**
 * Inserts 10,000 rows of 1 KB into a fake `version` server whose last row's `pad` (a column
 * of `padType`) turns into a Symbol once the server has the insert's first bytes
 * (backpressure, not a timer: the last row is encoded long after). Returns the call's error,
 * the insert bodies the server got whole, and how many inserts had begun.
 */
async function changedWhileSent(version: string, padType = 'String'): Promise<{ err: unknown; inserts: string[]; started: number; pad: string }> {
  let armed = false;
  let started = 0;
  const inserts: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('latin1');
      if (body.startsWith('INSERT') && !armed) {
        started++;
        armed = true;
      }
    });
    req.on('end', () => {
      if (body.startsWith('INSERT')) inserts.push(body);
      if (body.startsWith('DESCRIBE')) return void res.end(`id\tUInt32\t\t\npad\t${padType}\t\t\n`);
      res.end(body.startsWith('SELECT version()') ? `${version}\tUTC\n` : '');
    });
    req.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const config = parseConnectionString(`http://127.0.0.1:${(server.address() as AddressInfo).port}/default`);
  forgetServerInfo(config);
  const client = new Client(config.origin);
  try {
    const pad = 'p'.repeat(1_000);
    const rows: Row[] = [];
    for (let id = 0; id < 10_000; id++) rows.push({ id, pad });
    Object.defineProperty(rows[rows.length - 1] as Row, 'pad', { enumerable: true, get: () => (armed ? Symbol('changed') : pad) });
    const err = await perform(client, config, prepare({ type: 'insert_to_table', table: 't', rows }), { timeout: 5_000, int64: 'auto' }).catch((e: unknown) => e);
    return { err, inserts, started, pad };
  } finally {
    await client.close();
    forgetServerInfo(config);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

// The refusal names the row by its place, as every refusal of one of several rows does.
function refusedAtItsPlace(err: unknown): void {
  assert.instance(err, QueryParamError, String(err));
  assert.is((err as QueryParamError).param, 'rows[9999].pad');
  assert.is((err as QueryParamError).row, 9999);
}

test('insert_to_table :: on 18.16 a row changed to one that no longer encodes while its statement is sent makes the body end in a line the server cannot read, and the call rejects with its refusal (JSONEachRow: a column without a plain form)', async () => {
  const { err, inserts, started, pad } = await changedWhileSent('18.16.1', 'FixedString(1000)');
  assert.is(started, 1, 'the server got the insert\'s first bytes');
  refusedAtItsPlace(err);
  assert.is(inserts.length, 1);
  const body = inserts[0] as string;
  assert.ok(body.startsWith('INSERT INTO `t` (`id`, `pad`) FORMAT JSONEachRow\n'), body.slice(0, 80));
  assert.ok(body.includes(`"id":9998,"pad":"${pad}"`), 'the rows before it were written');
  assert.not.ok(body.includes('"id":9999'), 'nothing of the changed row was written: the part written before it threw is taken back');
  assert.ok(body.endsWith(`"id":9998,"pad":"${pad}"}\n\n\u0000 the client stopped this insert: a row no longer encodes\n`), `the body ends: ${JSON.stringify(body.slice(-120))}`);
});

test('insert_to_table :: on 18.16 the same in TabSeparated: the body ends in a line with a field more than the columns', async () => {
  const { err, inserts, started, pad } = await changedWhileSent('18.16.1');
  assert.is(started, 1, 'the server got the insert\'s first bytes');
  refusedAtItsPlace(err);
  assert.is(inserts.length, 1);
  const body = inserts[0] as string;
  assert.ok(body.startsWith('INSERT INTO `t` (`id`, `pad`) FORMAT TabSeparated\n'), body.slice(0, 80));
  assert.ok(body.includes(`\n9998\t${pad}\n`), 'the rows before it were written');
  assert.not.ok(body.includes('\n9999\t'), 'nothing of the changed row was written (18.16 would read a half row and the line after it as a row of DEFAULTs)');
  assert.ok(body.endsWith(`\n9998\t${pad}\n\u0000 the client stopped this insert: a row no longer encodes\t\t\t\n`), `the body ends: ${JSON.stringify(body.slice(-120))}`);
});

test('insert_to_table :: on 26.7 a row changed to one that no longer encodes while its binary statement is sent aborts the request: the server gets no whole body', async () => {
  const { err, inserts, started } = await changedWhileSent('26.7.2.1');
  assert.is(started, 1, 'the server got the insert\'s first bytes');
  refusedAtItsPlace(err);
  // A binary body cut short or ended with text could read as values: it is never ended as a whole body.
  assert.equal(inserts.map((b) => b.slice(-60)), []);
});

test.run();
