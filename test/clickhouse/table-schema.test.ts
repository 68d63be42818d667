// The table description `insert_to_table` keeps (`DESCRIBE TABLE`): what a line of it means,
// how long it is kept, for which server, database and table, and how many are kept.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerResponse } from 'node:http';
import { Client, Pool } from 'undici';
import { AbortError, ClickHouseError, QueryParamError, TimeoutError } from '../../src/clickhouse/errors.js';
import { perform } from '../../src/clickhouse/perform.js';
import { prepare } from '../../src/clickhouse/prepare.js';
import { allRefused } from '../../src/clickhouse/refusals.js';
import { insertStopOf } from '../../src/clickhouse/insert-stop.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { type TableSchema, cachedTableSchema, forgetTableSchema, tableSchemaOf } from '../../src/clickhouse/table-schema.js';
import type { Row, ServerConfig } from '../../src/clickhouse/types.js';
import { fakeServer, type FakeServer, type Reply } from './fake-http.js';

const test = suite('table-schema');
const timeout = (): number => 2_000;

/** A fake server that answers every DESCRIBE with `lines` (per table when a function). */
async function describing(lines: (body: string) => string): Promise<{ fake: FakeServer; client: Client; server: ServerConfig; describes: () => string[] }> {
  const fake = await fakeServer((req, res) => res.end(req.body.startsWith('DESCRIBE') ? lines(req.body) : ''), (port) => `http://127.0.0.1:${port}/default`);
  const server = parseConnectionString(fake.url);
  const client = new Client(server.origin);
  return { fake, client, server, describes: () => fake.seen.map((s) => s.body).filter((b) => b.startsWith('DESCRIBE')) };
}

async function closing(parts: { fake: FakeServer; client: Client | Pool }): Promise<void> {
  await parts.client.close();
  await parts.fake.close();
}

/** Runs `fn` with a client of a fake server answering by `reply`; both closed after. */
async function withFake<T>(reply: Reply, fn: (client: Client, server: ServerConfig, fake: FakeServer) => Promise<T>): Promise<T> {
  const fake = await fakeServer(reply, (port) => `http://127.0.0.1:${port}/default`);
  const server = parseConnectionString(fake.url);
  const client = new Client(server.origin);
  try {
    return await fn(client, server, fake);
  } finally {
    await closing({ fake, client });
  }
}

/** Runs `fn` with Date.now moved `ms` ahead. */
async function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const real = Date.now;
  const at = real() + ms;
  Date.now = () => at;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

test('ttl :: a description is kept for 30 s, then the table is described again (it may have changed)', async () => {
  let type = 'String';
  const parts = await describing(() => `id\tUInt32\t\t\nv\t${type}\t\t\n`);
  try {
    const { client, server, describes } = parts;
    const first = await tableSchemaOf(client, server, '`ttl_t`', timeout);
    assert.is(first.types.get('v')?.text, 'String');
    type = 'Date';
    const soon = await later(29_000, () => tableSchemaOf(client, server, '`ttl_t`', timeout));
    assert.is(describes().length, 1, 'within 30 s: the kept one');
    assert.is(soon.types.get('v')?.text, 'String');
    assert.ok(await later(29_000, async () => cachedTableSchema(server, '`ttl_t`')) !== undefined);
    assert.is(await later(31_000, async () => cachedTableSchema(server, '`ttl_t`')), undefined, 'stale after 30 s');
    const after = await later(31_000, () => tableSchemaOf(client, server, '`ttl_t`', timeout));
    assert.is(describes().length, 2, 'after 30 s: asked again');
    assert.is(after.types.get('v')?.text, 'Date', 'the table as it is now');
  } finally {
    await closing(parts);
  }
});

test('key :: kept per server, database and table: another database or server of the same table name is described on its own', async () => {
  const a = await describing(() => 'id\tUInt32\t\t\ns\tString\t\t\n');
  const b = await describing(() => 'id\tUInt32\t\t\nd\tDate\t\t\n');
  try {
    const inA = await tableSchemaOf(a.client, a.server, '`same`', timeout);
    const otherDatabase: ServerConfig = { ...a.server, database: 'other' };
    const inOther = await tableSchemaOf(a.client, otherDatabase, '`same`', timeout);
    assert.is(a.describes().length, 2, 'database "other" asked on its own');
    assert.ok(a.fake.seen[1]?.url.includes('database=other'), a.fake.seen[1]?.url);
    assert.ok(inA !== inOther);
    const inB = await tableSchemaOf(b.client, b.server, '`same`', timeout);
    assert.is(b.describes().length, 1, 'another server asked on its own');
    assert.equal([...inB.types.keys()], ['id', 'd']);
    assert.equal([...inA.types.keys()], ['id', 's']);
    await tableSchemaOf(a.client, a.server, '`same`', timeout);
    await tableSchemaOf(a.client, otherDatabase, '`same`', timeout);
    assert.is(a.describes().length, 2, 'each kept');
  } finally {
    await closing(a);
    await closing(b);
  }
});

test('bound :: at most 1,024 tables are kept: the oldest is described again once 1,024 others came after it', async () => {
  const parts = await describing(() => 'id\tUInt32\t\t\n');
  try {
    const { client, server, describes } = parts;
    await tableSchemaOf(client, server, '`t_0`', timeout);
    for (let i = 1; i <= 1_023; i++) await tableSchemaOf(client, server, `\`t_${i}\``, timeout);
    assert.ok(cachedTableSchema(server, '`t_0`') !== undefined, '1,024 kept');
    await tableSchemaOf(client, server, '`t_1024`', timeout);
    assert.is(cachedTableSchema(server, '`t_0`'), undefined, 'the oldest went');
    assert.ok(cachedTableSchema(server, '`t_1`') !== undefined);
    assert.is(describes().length, 1_025);
    await tableSchemaOf(client, server, '`t_0`', timeout);
    assert.is(describes().length, 1_026, 'described again');
  } finally {
    await closing(parts);
  }
});

test('describe :: a line\'s columns: subcolumns listed by describe_include_subcolumns are no columns; flattened Nested columns; MATERIALIZED and ALIAS computed; writable only with EPHEMERAL', async () => {
  const lines = [
    'id\tUInt32\t\t\t\t\t\t0',
    'raw\tArray(String)\t\t\t\t\t\t0',
    'n.a\tArray(UInt8)\t\t\t\t\t\t0',
    'n.b\tArray(String)\t\t\t\t\t\t0',
    'p\tString\t\t\t\t\t\t0',
    'p.q\tString\t\t\t\t\t\t0',
    'm\tString\tMATERIALIZED\tupper(p)\t\t\t\t0',
    'al\tString\tALIAS\tp\t\t\t\t0',
    'raw.size0\tUInt64\t\t\t\t\t\t1',
  ].join('\n');
  const parts = await describing((body) => (body.includes('`eph`') ? `${lines}\ne\tString\tEPHEMERAL\t\t\t\t\t0\n` : `${lines}\n`));
  try {
    const { client, server } = parts;
    const schema = await tableSchemaOf(client, server, '`plain`', timeout);
    assert.equal([...schema.types.keys()], ['id', 'raw', 'n.a', 'n.b', 'p', 'p.q', 'm', 'al'], 'raw.size0 is a subcolumn');
    assert.equal([...schema.nested], ['n'], '`p.q` beside a column `p` is no Nested field');
    assert.equal([...(schema.computed ?? [])], ['m', 'al']);
    assert.is(schema.writable, undefined, 'no EPHEMERAL column: a statement naming none takes them all');
    assert.is(cachedTableSchema(server, '`plain`')?.value, schema, 'kept with its value: a caller that must not wait reads it');
    const eph = await tableSchemaOf(client, server, '`eph`', timeout);
    assert.equal(eph.writable, ['id', 'raw', 'n.a', 'n.b', 'p', 'p.q', 'e']);
    assert.equal([...(eph.computed ?? [])], ['m', 'al']);
  } finally {
    await closing(parts);
  }
});

/** A fake whose DESCRIBE answers wait until the test releases them, in order. */
async function holding(answer: (n: number, res: ServerResponse) => void): Promise<{ fake: FakeServer; client: Pool; server: ServerConfig; release: () => void; waiting: () => number }> {
  const held: (() => void)[] = [];
  let n = 0;
  const fake = await fakeServer((req, res) => {
    if (!req.body.startsWith('DESCRIBE')) return void res.end('');
    const i = n++;
    held.push(() => answer(i, res));
  }, (port) => `http://127.0.0.1:${port}/default`);
  const server = parseConnectionString(fake.url);
  // Several connections: a description may be asked while another is in flight.
  const client = new Pool(server.origin, { connections: 4 });
  return { fake, client, server, release: () => { for (const go of held.splice(0)) go(); }, waiting: () => held.length };
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
}

test('shared :: a description asked by a call whose signal fired is asked again for the call waiting on it; one the server refused is not', async () => {
  const parts = await holding((_, res) => res.end('id\tUInt32\t\t\ns\tString\t\t\n'));
  try {
    const { client, server } = parts;
    const controller = new AbortController();
    const first = tableSchemaOf(client, server, '`shared_t`', timeout, controller.signal).catch((e: unknown) => e);
    await until(() => parts.waiting() === 1);
    const second = tableSchemaOf(client, server, '`shared_t`', timeout).catch((e: unknown) => e);
    controller.abort(new Error('caller gave up'));
    assert.instance(await first, AbortError);
    await until(() => parts.waiting() === 2);
    parts.release();
    const schema = await second;
    assert.ok(!(schema instanceof Error), String(schema));
    assert.equal([...(schema as TableSchema).types.keys()], ['id', 's'], 'the waiting call got its description');
    assert.is(parts.fake.seen.filter((s) => s.body.startsWith('DESCRIBE')).length, 2);
  } finally {
    await closing(parts);
  }
  const refusing = await holding((_, res) => {
    res.statusCode = 404;
    res.end('Code: 60. DB::Exception: Table default.gone does not exist. (UNKNOWN_TABLE) (version 26.7.2.1)\n');
  });
  try {
    const { client, server } = refusing;
    const first = tableSchemaOf(client, server, '`gone`', timeout).catch((e: unknown) => e);
    await until(() => refusing.waiting() === 1);
    const second = tableSchemaOf(client, server, '`gone`', timeout).catch((e: unknown) => e);
    refusing.release();
    assert.instance(await first, ClickHouseError);
    assert.instance(await second, ClickHouseError);
    assert.is(refusing.fake.seen.filter((s) => s.body.startsWith('DESCRIBE')).length, 1, 'the server\'s answer is the waiting call\'s too');
    assert.is(cachedTableSchema(server, '`gone`'), undefined, 'a refusal is not kept');
  } finally {
    await closing(refusing);
  }
});

test('shared :: a call waiting on another call\'s description gives up by its own timeout and signal, not the other\'s; the description goes on for the other', async () => {
  const parts = await holding((_, res) => res.end('id\tUInt32\t\t\ns\tString\t\t\n'));
  try {
    const { client, server } = parts;
    // The first asks with a long time; the server holds the answer.
    const first = tableSchemaOf(client, server, '`slow_t`', () => 10_000).catch((e: unknown) => e);
    await until(() => parts.waiting() === 1);
    const t0 = Date.now();
    const timed = tableSchemaOf(client, server, '`slow_t`', () => 300).catch((e: unknown) => e);
    const controller = new AbortController();
    const aborted = tableSchemaOf(client, server, '`slow_t`', () => 10_000, controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    const err = await timed;
    assert.instance(err, TimeoutError);
    assert.is((err as TimeoutError).timeout, 300);
    assert.is((err as TimeoutError).requestSent, false);
    assert.ok(Date.now() - t0 < 2_000, `gave up after ${Date.now() - t0} ms, not by its own 300 ms`);
    const abort = await aborted;
    assert.instance(abort, AbortError);
    assert.is(((abort as AbortError).cause as Error).message, 'caller gave up');
    parts.release();
    const schema = await first;
    assert.ok(!(schema instanceof Error), String(schema));
    assert.equal([...(schema as TableSchema).types.keys()], ['id', 's'], 'the first call still got its description');
    assert.is(parts.fake.seen.filter((s) => s.body.startsWith('DESCRIBE')).length, 1, 'asked once');
  } finally {
    parts.release();
    await closing(parts);
  }
});

test('shared :: a call that gave up leaves the asking again to the calls still waiting, and leaves no rejection unhandled', async () => {
  // The first description is cut on its way (the socket closed), the second answered.
  const parts = await holding((n, res) => (n === 0 ? res.socket?.destroy() : res.end('id\tUInt32\t\t\n')));
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const { client, server } = parts;
    const first = tableSchemaOf(client, server, '`gave_up_t`', () => 10_000).catch((e: unknown) => e);
    await until(() => parts.waiting() === 1);
    // One joins with its signal already fired, one leaves by its signal, one still waits.
    const dead = tableSchemaOf(client, server, '`gave_up_t`', () => 10_000, AbortSignal.abort(new Error('already gone'))).catch((e: unknown) => e);
    const controller = new AbortController();
    const leaving = tableSchemaOf(client, server, '`gave_up_t`', () => 10_000, controller.signal).catch((e: unknown) => e);
    const waiting = tableSchemaOf(client, server, '`gave_up_t`', () => 10_000).catch((e: unknown) => e);
    controller.abort(new Error('left'));
    assert.instance(await dead, AbortError);
    assert.instance(await leaving, AbortError);
    parts.release();
    assert.ok(await first instanceof Error, 'the first description was cut');
    // The waiting call asks again itself, not through a request born aborted.
    await until(() => parts.waiting() === 1);
    parts.release();
    const schema = await waiting;
    assert.ok(!(schema instanceof Error), `the waiting call got ${String(schema)}`);
    assert.equal([...(schema as TableSchema).types.keys()], ['id']);
    assert.is(parts.fake.seen.filter((x) => x.body.startsWith('DESCRIBE')).length, 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(unhandled, [], 'no rejection left unhandled');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    parts.release();
    await closing(parts);
  }
});

const TABLE = [
  'id\tUInt32\t\t',
  's\tString\t\t',
  'm\tString\tMATERIALIZED\tupper(s)',
  'al\tString\tALIAS\ts',
  'n.a\tArray(UInt8)\t\t',
  'n.b\tArray(String)\t\t',
].join('\n');

/** An insert_to_table against a 26.7 fake whose table is `columns`; the statements it got. */
async function inserting(columns: string, rows: Row[] | Iterable<Row>): Promise<{ result: unknown; inserts: string[] }> {
  return await withFake((req, res) => {
    if (req.body.startsWith('DESCRIBE')) res.end(`${columns}\n`);
    else res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server, fake) => {
    const result = await perform(client, server, prepare({ type: 'insert_to_table', table: 'ins_t', rows }), { timeout: 2_000, int64: 'auto' }).catch((e: unknown) => e);
    return { result, inserts: fake.seen.map((s) => s.body).filter((b) => b.startsWith('INSERT')) };
  });
}

test('refuse :: rows giving a MATERIALIZED or ALIAS column are refused before anything is sent, each by its place, in the caller\'s order', async () => {
  const rows: Row[] = [
    { id: 0, s: 'a' },
    { id: 1, s: 'b', m: 'x' },
    { id: 2, s: 'c', al: 'y' },
    { id: 3, s: 'd', al: 'z' },
    { id: 4, s: 'e', m: 'w' },
  ];
  const { result, inserts } = await inserting(TABLE, rows);
  assert.instance(result, QueryParamError);
  assert.equal(inserts, [], 'nothing sent');
  const all = allRefused(result as QueryParamError);
  assert.equal(all.map((e) => [e.row, e.param]), [[1, 'rows[1].m'], [2, 'rows[2].al'], [3, 'rows[3].al'], [4, 'rows[4].m']]);
  assert.is(all[0], result, 'the first is the one thrown');
  assert.match((result as Error).message, /MATERIALIZED or ALIAS/);
  // One row alone: refused by its column.
  const one = await inserting(TABLE, [{ id: 7, s: 'q', al: 'r' }]);
  assert.instance(one.result, QueryParamError);
  assert.is((one.result as QueryParamError).param, 'al');
  assert.equal(one.inserts, []);
});

test('refuse :: a Nested column given as one object is no unknown key: written as its fields', async () => {
  const { result, inserts } = await inserting(TABLE, [{ id: 1, s: 'a', n: { a: [1, 2], b: ['x', 'y'] } }, { id: 2, s: 'b' }]);
  assert.equal(result, { rows: 2 });
  assert.equal(inserts, ['INSERT INTO `ins_t` (`id`, `s`, `n.a`, `n.b`) FORMAT JSONEachRow\n{"id":1,"s":"a","n.a":[1,2],"n.b":["x","y"]}\n{"id":2,"s":"b"}\n']);
});

test('source :: a source into a table with EPHEMERAL columns names its writable ones (a statement naming none would skip them); none otherwise', async () => {
  const source = (): Iterable<Row> => (function* () { yield { id: 1, s: 'a', e: 'x' }; yield { id: 2, s: 'b', e: 'y' }; })();
  const eph = await inserting(`${TABLE}\ne\tString\tEPHEMERAL\t`, source());
  assert.equal(eph.result, { rows: 2 });
  assert.is(eph.inserts[0]?.split('\n')[0], 'INSERT INTO `ins_t` (`id`, `s`, `n.a`, `n.b`, `e`) FORMAT JSONEachRow');
  const plain = await inserting('id\tUInt32\t\t\ns\tString\t\t\ne\tString\t\t', source());
  assert.equal(plain.result, { rows: 2 });
  assert.is(plain.inserts[0]?.split('\n')[0], 'INSERT INTO `ins_t` FORMAT JSONEachRow');
});

test('need :: rows of numbers and nulls need no description: a user who may not describe the table still inserts them', async () => {
  await withFake((req, res) => {
    if (req.body.startsWith('DESCRIBE')) {
      res.statusCode = 500;
      return void res.end('Code: 497. DB::Exception: alice: Not enough privileges. (ACCESS_DENIED) (version 26.7.2.1)\n');
    }
    res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server, fake) => {
    const result = await perform(client, server, prepare({ type: 'insert_to_table', table: 'no_describe', rows: [{ id: 1, note: null }, { id: 2, note: 3 }] }), { timeout: 2_000, int64: 'auto' });
    assert.equal(result, { rows: 2 });
    assert.equal(fake.seen.map((s) => s.body).filter((b) => b.startsWith('INSERT')), ['INSERT INTO `no_describe` (`id`, `note`) FORMAT JSONEachRow\n{"id":1,"note":null}\n{"id":2,"note":3}\n']);
  });
});

test('nested :: a row whose other Nested field is undefined gives part of the Nested column: its own statement, not one where that field would be []', async () => {
  const rows: Row[] = [{ id: 1, 'n.a': [1], 'n.b': ['x'] }, { id: 2, 'n.a': [2, 3], 'n.b': undefined }];
  const { result, inserts } = await inserting(TABLE, rows);
  assert.equal(result, { rows: 2 });
  assert.equal(inserts, [
    'INSERT INTO `ins_t` (`id`, `n.a`, `n.b`) FORMAT JSONEachRow\n{"id":1,"n.a":[1],"n.b":["x"]}\n',
    'INSERT INTO `ins_t` (`id`, `n.a`) FORMAT JSONEachRow\n{"id":2,"n.a":[2,3]}\n',
  ]);
});

test('nested :: a source\'s row whose other Nested field is undefined gives part of the Nested column: its own statement after the streamed one, not in it with that field []', async () => {
  // The same column list (n.b undefined is no column) both times: the second row's part is not taken from the first's.
  const source = (function* (): Generator<Row> {
    yield { id: 1, 'n.a': [1], 'n.b': ['x'] };
    yield { id: 2, 'n.a': [2, 3], 'n.b': undefined };
    yield { id: 3, 'n.a': [4], 'n.b': undefined };
    yield { id: 4, 'n.a': [5], 'n.b': ['y'] };
  })();
  const { result, inserts } = await inserting(TABLE, source);
  assert.equal(result, { rows: 4 });
  assert.equal(inserts, [
    'INSERT INTO `ins_t` FORMAT JSONEachRow\n{"id":1,"n.a":[1],"n.b":["x"]}\n{"id":4,"n.a":[5],"n.b":["y"]}\n',
    'INSERT INTO `ins_t` (`id`, `n.a`) FORMAT JSONEachRow\n{"id":2,"n.a":[2,3]}\n{"id":3,"n.a":[4]}\n',
  ]);
});

/** A source's insert against a 26.7 fake whose DESCRIBE answers `descriptions` in turn (the last from then on); the statements it got. */
async function sourceInto(descriptions: string[], rows: Iterable<Row>): Promise<{ result: unknown; inserts: string[]; describes: number }> {
  let describes = 0;
  return await withFake((req, res) => {
    if (req.body.startsWith('DESCRIBE')) res.end(`${descriptions[Math.min(describes++, descriptions.length - 1)] as string}\n`);
    else res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server, fake) => {
    const result = await perform(client, server, prepare({ type: 'insert_to_table', table: 'chg_t', rows }), { timeout: 2_000, int64: 'auto' }).catch((e: unknown) => e);
    return { result, inserts: fake.seen.map((x) => x.body).filter((b) => b.startsWith('INSERT')), describes };
  });
}

test('afresh :: once a source\'s key made the table be described afresh, a column list accepted by the old description is checked again: a column dropped since is refused, not dropped', async () => {
  // The table lost `old` and gained `x` since it was described.
  const source = (function* (): Generator<Row> {
    yield { id: 0, old: 'a' };
    yield { id: 1, x: 'b' };
    yield { id: 2, old: 'c' };
  })();
  const { result, describes } = await sourceInto(['id\tUInt32\t\t\nold\tString\t\t', 'id\tUInt32\t\t\nx\tString\t\t'], source);
  assert.is(describes, 2);
  assert.instance(result, QueryParamError, String(result));
  assert.is((result as QueryParamError).row, 2);
  assert.match((result as Error).message, /the table has no column "old"/);
});

test('afresh :: once a source\'s key made the table be described afresh, a column list that was a whole Nested column and is part of it now (a field added) goes in its own statement', async () => {
  // The table gained `n.b` (and `x`) since it was described: `n.a` alone is part of n now.
  const source = (function* (): Generator<Row> {
    yield { id: 0, 'n.a': [1] };
    yield { id: 1, x: 'b', 'n.a': [2], 'n.b': ['y'] };
    yield { id: 2, 'n.a': [3] };
  })();
  const { result, inserts, describes } = await sourceInto(['id\tUInt32\t\t\nn.a\tArray(UInt8)\t\t', 'id\tUInt32\t\t\nn.a\tArray(UInt8)\t\t\nn.b\tArray(String)\t\t\nx\tString\t\t'], source);
  assert.is(describes, 2);
  assert.equal(result, { rows: 3 });
  assert.equal(inserts, [
    'INSERT INTO `chg_t` FORMAT JSONEachRow\n{"id":0,"n.a":[1]}\n{"id":1,"x":"b","n.a":[2],"n.b":["y"]}\n',
    'INSERT INTO `chg_t` (`id`, `n.a`) FORMAT JSONEachRow\n{"id":2,"n.a":[3]}\n',
  ]);
});

test('afresh :: a call whose source\'s table is described afresh past its timeout rejects with its TimeoutError, not a refusal of the key (on 26.7 and 18.16)', async () => {
  for (const version of ['26.7.2.1', '18.16.1']) {
    let describes = 0;
    // The second description (asked for the key `x`) never comes.
    await withFake((req, res) => {
      if (req.body.startsWith('DESCRIBE')) {
        if (describes++ === 0) res.end('id\tUInt32\t\t\n');
        return;
      }
      res.end(req.body.startsWith('SELECT version()') ? `${version}\tUTC\n` : '');
    }, async (client, server, fake) => {
      const rows = (function* (): Generator<Row> { yield { id: 0 }; yield { id: 1, x: 'new' }; })();
      const result = await perform(client, server, prepare({ type: 'insert_to_table', table: 'slow_t', rows }), { timeout: 1_000, int64: 'auto' }).catch((e: unknown) => e);
      assert.is(describes, 2, version);
      assert.instance(result, TimeoutError, `${version}: ${String(result)}`);
    });
  }
});

test('refuse :: a source\'s row giving a MATERIALIZED or ALIAS column is refused at that row, the table not described again for it (it is no unknown key)', async () => {
  for (const key of ['m', 'al']) {
    const source = (function* (): Generator<Row> {
      yield { id: 0, s: 'a' };
      yield { id: 1, s: 'b', [key]: 'x' };
      yield { id: 2, s: 'c' };
    })();
    const { result, describes } = await sourceInto([TABLE], source);
    assert.instance(result, QueryParamError, `${key}: ${String(result)}`);
    assert.is((result as QueryParamError).row, 1, key);
    assert.match((result as Error).message, new RegExp(`column "${key}" is MATERIALIZED or ALIAS`));
    assert.is(describes, 1, `${key}: described once`);
  }
});

test('afresh :: a key the kept description has (a Nested column given as one object, a column in another case) asks no new description', async () => {
  await withFake((req, res) => {
    if (req.body.startsWith('DESCRIBE')) res.end(`${TABLE}\n`);
    else res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server, fake) => {
    const describes = (): number => fake.seen.filter((s) => s.body.startsWith('DESCRIBE')).length;
    const insert = (rows: Row[]): Promise<unknown> => perform(client, server, prepare({ type: 'insert_to_table', table: 'afresh_t', rows }), { timeout: 2_000, int64: 'auto' }).catch((e: unknown) => e);
    for (let i = 0; i < 3; i++) assert.equal(await insert([{ id: i, s: 'a', n: { a: [1], b: ['x'] } }]), { rows: 1 });
    assert.is(describes(), 1, 'described once');
    const refused = await insert([{ ID: 1, s: 'a' }]);
    assert.instance(refused, QueryParamError, 'a key in another case is refused by its name');
    assert.is(describes(), 1, 'and asks no new description first');
    assert.instance(await insert([{ id: 1, added: 'a' }]), QueryParamError);
    assert.is(describes(), 2, 'a key the description lacks: described afresh before it is refused');
  });
});

test('nested :: a value inside a Nested object is checked as its column\'s; a refused insert of such rows says which caller rows were in flight', async () => {
  const wide = await inserting(TABLE, [{ id: 1, s: 'a', n: { a: [1, 300], b: ['x', 'y'] } }]);
  assert.instance(wide.result, QueryParamError, String(wide.result));
  assert.match((wide.result as Error).message, /n\.a/);
  assert.equal(wide.inserts, []);
  const rows: Row[] = [{ id: 1, s: 'a', n: { a: [1], b: ['x'] } }, { id: 2, s: 'b', n: { a: [2], b: ['y'] } }];
  await withFake((req, res) => {
    if (req.body.startsWith('DESCRIBE')) return void res.end(`${TABLE}\n`);
    if (req.body.startsWith('INSERT')) {
      res.statusCode = 500;
      return void res.end('Code: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED) (version 26.7.2.1)\n');
    }
    res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server, fake) => {
    const err = await perform(client, server, prepare({ type: 'insert_to_table', table: 'stop_t', rows }), { timeout: 2_000, int64: 'auto' }).catch((e: unknown) => e);
    assert.instance(err, ClickHouseError);
    const stop = insertStopOf(err);
    assert.ok(stop !== undefined);
    assert.is(stop?.inFlight.length, 2);
    assert.ok(stop?.inFlight[0] === rows[0] && stop.inFlight[1] === rows[1], 'the caller\'s own rows, not their flattened copies');
  });
});

test('shared :: a description that failed on its way leaves a newer one asked since in place', async () => {
  const parts = await holding((_, res) => res.end('id\tUInt32\t\t\ns\tString\t\t\n'));
  try {
    const { client, server } = parts;
    const controller = new AbortController();
    const old = tableSchemaOf(client, server, '`newer_t`', timeout, controller.signal).catch((e: unknown) => e);
    await until(() => parts.waiting() === 1);
    forgetTableSchema(server, '`newer_t`');
    const fresh = tableSchemaOf(client, server, '`newer_t`', timeout).catch((e: unknown) => e);
    await until(() => parts.waiting() === 2);
    controller.abort(new Error('caller gave up'));
    assert.instance(await old, AbortError);
    parts.release();
    assert.not.instance(await fresh, Error);
    await tableSchemaOf(client, server, '`newer_t`', timeout);
    assert.is(parts.fake.seen.filter((s) => s.body.startsWith('DESCRIBE')).length, 2, 'the newer description is kept');
  } finally {
    await closing(parts);
  }
});

test('refuse :: a description with no columns refuses no key', async () => {
  const { result, inserts } = await inserting('', [{ id: 1, s: 'a' }, { id: 2, s: 'b', extra: 'c' }]);
  assert.equal(result, { rows: 2 });
  assert.is(inserts.length, 1);
});

test('refuse :: an integer outside its column\'s range, in rows that were described, is refused before anything is sent, named by its row', async () => {
  const { result, inserts } = await inserting(TABLE, [{ id: 1, s: 'a' }, { id: 2 ** 32, s: 'b' }, { id: -1, s: 'c' }]);
  assert.instance(result, QueryParamError);
  assert.equal(allRefused(result as QueryParamError).map((e) => e.param), ['rows[1].id', 'rows[2].id']);
  assert.equal(inserts, []);
});

test('refuse :: a Date past 2106 for a DateTime column (written without its type) is refused before anything is sent', async () => {
  const { result, inserts } = await inserting('id\tUInt32\t\t\nat\tDateTime\t\t', [{ id: 1, at: new Date('2020-01-01T00:00:00Z') }, { id: 2, at: new Date('2200-01-01T00:00:00Z') }]);
  assert.instance(result, QueryParamError, String(result));
  assert.is((result as QueryParamError).param, 'rows[1].at');
  assert.equal(inserts, []);
});

test.run();
