import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerResponse } from 'node:http';
import type { Client } from 'undici';
import { ClickHouseError, ProtocolError, QueryParamError, TimeoutError, TransportError } from '../../src/clickhouse/errors.js';
import { decodeTsv } from '../../src/clickhouse/decode.js';
import { perform } from '../../src/clickhouse/perform.js';
import { prepare } from '../../src/clickhouse/prepare.js';
import type { Row } from '../../src/clickhouse/types.js';
import { knownServerInfo } from '../../src/clickhouse/server-info.js';
import { knownRowWriter } from '../../src/clickhouse/encode-bytes.js';
import type { Command, ServerConfig, Settings } from '../../src/clickhouse/types.js';
import { withFakeServer } from './fake-http.js';

const test = suite('perform');
type Reply = (body: string, res: ServerResponse) => void;
const defaults = { timeout: 2_000, int64: 'auto' } as const;

// Records the bodies the fake server got, for the tests below.
function withServer(reply: Reply, fn: (client: Client, server: ServerConfig, bodies: string[]) => Promise<void>): Promise<void> {
  const bodies: string[] = [];
  return withFakeServer((req, res) => {
    bodies.push(req.body);
    reply(req.body, res);
  }, (client, server) => fn(client, server, bodies), (port) => `http://127.0.0.1:${port}/default`);
}

const run = <C extends Command>(client: Client, server: ServerConfig, cmd: C) => perform(client, server, prepare(cmd), defaults);

test('refusals :: an 18.16 error body becomes ClickHouseError with the status', async () => {
  await withServer((_b, res) => { res.statusCode = 404; res.end("Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist., e.what() = DB::Exception\n"); }, async (client, server) => {
    const err = await run(client, server, { type: 'select', sql: 'SELECT * FROM nope' }).catch((e: unknown) => e);
    assert.instance(err, ClickHouseError);
    assert.is((err as ClickHouseError).serverCode, 60);
    assert.is((err as ClickHouseError).status, 404);
  });
});

test('refusals :: the X-ClickHouse-Exception-Code header and the new body form', async () => {
  await withServer((_b, res) => {
    res.statusCode = 500;
    res.setHeader('X-ClickHouse-Exception-Code', '62');
    res.end("Code: 62. DB::Exception: Syntax error: failed at position 1 ('SELEC'). (SYNTAX_ERROR) (version 24.3.2.23 (official build))\n");
  }, async (client, server) => {
    const err = await run(client, server, { type: 'query', sql: 'SELEC 1' }).catch((e: unknown) => e) as ClickHouseError;
    assert.is(err.serverCode, 62);
    assert.is(err.serverName, 'SYNTAX_ERROR');
  });
});

test('refusals :: an exception inside a 200 body, for query, insert and select', async () => {
  const streamed = "1\n2\nCode: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, e.what() = DB::Exception\n";
  const urls: string[] = [];
  await withFakeServer((req, res) => {
    // (The version question a select asks first, answered with the same text, is no part of this.)
    if (!req.body.startsWith('SELECT version()')) urls.push(req.url);
    // As 18.16 does: held back until the end, the failure comes as a status.
    if (req.url.includes('wait_end_of_query=1')) {
      res.statusCode = 500;
      res.end(streamed.slice(4));
    } else res.end(req.body.startsWith('SELECT 1\nFORMAT') ? `n\nUInt8\n${streamed}` : streamed);
  }, async (client, server) => {
    for (const cmd of [{ type: 'query', sql: 'SELECT 1' }, { type: 'insert', sql: 'INSERT INTO t SELECT 1' }, { type: 'select', sql: 'SELECT 1' }] as const) {
      const err = await run(client, server, cmd).catch((e: unknown) => e) as ClickHouseError;
      assert.instance(err, ClickHouseError, cmd.type);
      assert.is(err.serverCode, 395);
    }
    // Only the query that reads, whose output format is unknown, was asked again to be sure.
    assert.equal(urls.map((u) => u.includes('wait_end_of_query=1')), [false, true, false, false]);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('data :: a last row that may be data or an exception is asked again; the held-back answer decides', async () => {
  const value = 'Code: 158, e.displayText() = DB::Exception: Limit for rows to read exceeded, e.what() = DB::Exception';
  const urls: string[] = [];
  await withFakeServer((req, res) => {
    // (The version question a select asks first, answered with the same text, is no part of this.)
    if (!req.body.startsWith('SELECT version()')) urls.push(req.url);
    res.end(req.body.endsWith('FORMAT TabSeparatedWithNamesAndTypes') ? `s\nString\n${value}\n` : `${value}\n`);
  }, async (client, server) => {
    assert.equal(await run(client, server, { type: 'select', sql: 'SELECT s FROM t' }), [{ s: value }]);
    assert.is(await run(client, server, { type: 'query', sql: 'SELECT s FROM t FORMAT TSV' }), `${value}\n`);
    assert.equal(urls.map((u) => u.includes('wait_end_of_query=1')), [false, true, false, true]);
    // A row that no exception could be (a quote TSV escapes) needs no second request.
    urls.length = 0;
    const quoted = "Code: 60, e.displayText() = DB::Exception: Table x doesn\\'t exist., e.what() = DB::Exception";
    assert.equal(decodeTsv(`s\nString\n${quoted}\n`, { int64: 'auto', serverTimeZone: 'UTC' }), [{ s: quoted.replace('\\', '') }]);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('refusals :: a modern exception block framed by the X-ClickHouse-Exception-Tag header', async () => {
  const tag = 'dmrdfnujjqvszhav';
  const message = "Code: 395. DB::Exception: Value passed to 'throwIf' function is non-zero. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 25.11.1.1)\n";
  await withServer((_b, res) => {
    res.setHeader('X-ClickHouse-Exception-Tag', tag);
    res.end(`n\nUInt8\n0\n0\n\r\n__exception__\r\n${tag}\r\n${message}${Buffer.byteLength(message)} ${tag}\r\n__exception__\r\n`);
  }, async (client, server) => {
    const err = await run(client, server, { type: 'select', sql: 'SELECT 1' }).catch((e: unknown) => e) as ClickHouseError;
    assert.instance(err, ClickHouseError);
    assert.is(err.serverCode, 395);
    assert.is(err.serverName, 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO');
  });
  // The same bytes under another tag are data: a random tag is what no row can guess.
  await withServer((_b, res) => {
    res.setHeader('X-ClickHouse-Exception-Tag', 'aaaaaaaaaaaaaaaa');
    res.end(`__exception__\r\n${tag}\r\n${message}${Buffer.byteLength(message)} ${tag}\r\n__exception__\r\n`);
  }, async (client, server) => {
    assert.match(await run(client, server, { type: 'query', sql: 'SELECT 1 FORMAT TSVRaw' }), /^__exception__/);
  });
  // A server that tags its blocks never appends plain text: a last row in that form is data, not asked again.
  const plain = 'Code: 60. DB::Exception: Table x does not exist. (UNKNOWN_TABLE) (version 25.11.1.1)';
  const urls: string[] = [];
  await withFakeServer((req, res) => {
    // (The version question a select asks first, answered with the same text, is no part of this.)
    if (!req.body.startsWith('SELECT version()')) urls.push(req.url);
    res.setHeader('X-ClickHouse-Exception-Tag', tag);
    res.end(req.body.endsWith('FORMAT TabSeparatedWithNamesAndTypes') ? `s\nString\n${plain}\n` : `${plain}\n`);
  }, async (client, server) => {
    assert.equal(await run(client, server, { type: 'select', sql: 'SELECT s FROM t' }), [{ s: plain }]);
    assert.is(await run(client, server, { type: 'query', sql: 'SELECT s FROM t FORMAT TSV' }), `${plain}\n`);
    assert.is(urls.filter((u) => u.includes('wait_end_of_query')).length, 0);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('refusals :: a gateway\'s 502, 503 or 504 page is a TransportError (the server behind it did not answer; a pool fails a read over), another page a ProtocolError', async () => {
  for (const status of [502, 503, 504]) {
    await withServer((_b, res) => { res.statusCode = status; res.end('<html>Bad Gateway</html>'); }, async (client, server) => {
      const err = await run(client, server, { type: 'query', sql: 'INSERT INTO t VALUES (1)' }).catch((e: unknown) => e);
      // Before: a ProtocolError, which the pool neither failed over nor counted against the server.
      assert.instance(err, TransportError, String(status));
      assert.ok((err as TransportError).requestSent, 'whether the server got it is unknown: a write is not sent again');
      assert.match((err as Error).message, new RegExp(`HTTP ${status} with a body that is no ClickHouse error`));
    });
  }
  await withServer((_b, res) => { res.statusCode = 404; res.end('<html>Not Found</html>'); }, async (client, server) => {
    const err = await run(client, server, { type: 'select', sql: 'SELECT 1' }).catch((e: unknown) => e);
    assert.instance(err, ProtocolError);
    assert.is((err as ProtocolError).status, 404);
  });
});

test('select :: asks the server version and time zone once for DateTime columns, then decodes in its zone', async () => {
  await withServer((body, res) => {
    if (body.startsWith('SELECT version(), timezone()')) res.end('18.16.1\tAsia/Tokyo\n');
    else res.end('t\nDateTime\n2020-01-01 09:00:00\n');
  }, async (client, server, bodies) => {
    const first = await run(client, server, { type: 'select', sql: 'SELECT now() AS t' });
    const second = await run(client, server, { type: 'select', sql: 'SELECT now() AS t' });
    assert.equal(first, [{ t: new Date('2020-01-01T00:00:00Z') }]);
    assert.equal(second, first);
    assert.is(bodies.filter((b) => b.startsWith('SELECT version(), timezone()')).length, 1);
    assert.is(knownServerInfo(server)?.version, '18.16.1');
    assert.is(knownServerInfo(server)?.features.typedParams, false);
  });
});

test('select :: a 22.1+ server (by its version) is asked for RowBinaryWithNamesAndTypes; an unreadable type is asked again as text', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer((req, res) => {
    if (req.body.startsWith('SELECT version(), timezone()')) return void res.end('26.7.2.1\tUTC\n');
    seen.push({ url: req.url, body: req.body });
    if (req.body.endsWith('FORMAT RowBinaryWithNamesAndTypes')) {
      const type = req.body.includes('uniqState') ? 'AggregateFunction(uniq, UInt8)' : 'Map(UInt8, Bool)';
      res.end(Buffer.concat([Buffer.from([1, 1, 0x6d, type.length]), Buffer.from(type), Buffer.from(type.startsWith('Map') ? [1, 7, 1] : [0])]));
    } else res.end('m\nString\nabc\n');
  }, async (client, server) => {
    assert.equal(await run(client, server, { type: 'select', sql: 'SELECT m FROM t' }), [{ m: new Map([[7, true]]) }]);
    const params = new URL(seen[0]!.url, 'http://x').searchParams;
    assert.is(params.get('output_format_binary_write_json_as_string'), '1');
    assert.equal(await run(client, server, { type: 'select', sql: 'SELECT uniqState(1) AS m' }), [{ m: 'abc' }]);
    assert.ok(seen[2]!.body.endsWith('FORMAT TabSeparatedWithNamesAndTypes'));
    const [first, again] = [seen[1]!, seen[2]!].map((r) => new URL(r.url, 'http://x').searchParams.get('query_id'));
    assert.is(again, `${first}-text`, 'the text re-ask is a query of its own');
  }, (port) => `http://127.0.0.1:${port}/default`);
});

// A RowBinaryWithNamesAndTypes body of (n UInt32, s String) rows, as a 22.1+ server writes it.
function binaryRows(count: number): Buffer {
  const parts: Buffer[] = [Buffer.from([2, 1, 0x6e, 1, 0x73, 6]), Buffer.from('UInt32'), Buffer.from([6]), Buffer.from('String')];
  for (let n = 0; n < count; n++) {
    const s = Buffer.from(`row ${n} ${'ü'.repeat(n % 4)}`);
    const row = Buffer.alloc(5);
    row.writeUInt32LE(n, 0);
    row[4] = s.length;
    parts.push(row, s);
  }
  return Buffer.concat(parts);
}

test('select :: a binary body is decoded as it arrives, rows split between chunks; a failure appended as text (22.x) is asked again and decides', async () => {
  const body = binaryRows(400);
  const failure = 'Code: 241. DB::Exception: Memory limit (for query) exceeded: would use 9.31 GiB. (MEMORY_LIMIT_EXCEEDED) (version 23.3.1.1)\n';
  const urls: string[] = [];
  await withFakeServer(async (req, res) => {
    if (req.body.startsWith('SELECT version(), timezone()')) return void res.end('23.3.1.1\tUTC\n');
    urls.push(req.url);
    if (req.body.includes('datalike')) {
      // A last value that reads like an appended failure: asked again, the same rows come, held back to the end.
      const value = Buffer.from(`\n${failure}`);
      const last = Buffer.alloc(5);
      last.writeUInt32LE(3, 0);
      last[4] = value.length;
      return void res.end(Buffer.concat([binaryRows(3), last, value]));
    }
    if (req.url.includes('wait_end_of_query=1')) return void res.writeHead(500).end(failure);
    res.writeHead(200);
    // Pieces of 37 bytes, a few milliseconds apart: rows and characters are cut between chunks.
    for (let at = 0; at < body.length; at += 37 * 40) {
      for (let k = at; k < Math.min(at + 37 * 40, body.length); k += 37) res.write(body.subarray(k, k + 37));
      await new Promise((r) => setTimeout(r, 2));
    }
    // Such a failure starts a line of its own (findTrailingError); the bytes before it are cut rows.
    res.end(req.body.includes('fails') ? `\n${failure}` : undefined);
  }, async (client, server) => {
    const rows = await run(client, server, { type: 'select', sql: 'SELECT n, s FROM t' });
    assert.is(rows.length, 400);
    assert.equal(rows[399], { n: 399, s: `row 399 ${'ü'.repeat(3)}` });
    assert.ok(rows.every((row, n) => row.n === n && row.s === `row ${n} ${'ü'.repeat(n % 4)}`));
    const err = await run(client, server, { type: 'select', sql: 'SELECT n, s FROM fails' }).catch((e: unknown) => e);
    assert.instance(err, ClickHouseError);
    assert.is((err as ClickHouseError).serverCode, 241);
    assert.equal(urls.slice(1).map((u) => u.includes('wait_end_of_query=1')), [false, true], 'the failure came as a status when asked again');
    const datalike = await run(client, server, { type: 'select', sql: 'SELECT n, s FROM datalike' });
    assert.equal(datalike.map((row) => row.n), [0, 1, 2, 3], 'the rows of the second answer alone');
    assert.is(datalike[3]?.s, `\n${failure}`);
    assert.equal(urls.slice(3).map((u) => u.includes('wait_end_of_query=1')), [false, true]);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('select :: a binary body that ends inside a row is a ProtocolError', async () => {
  const body = binaryRows(50);
  await withFakeServer((req, res) => {
    if (req.body.startsWith('SELECT version(), timezone()')) return void res.end('26.7.2.1\tUTC\n');
    res.writeHead(200, { 'X-ClickHouse-Exception-Tag': 'abcdefghijklmnop' }).end(body.subarray(0, body.length - 3));
  }, async (client, server) => {
    const err = await run(client, server, { type: 'select', sql: 'SELECT n, s FROM t' }).catch((e: unknown) => e);
    assert.instance(err, ProtocolError);
    assert.match((err as Error).message, /ends inside a row/);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: Decimal columns learnt from DESCRIBE are written unquoted', async () => {
  await withServer((body, res) => {
    if (body.startsWith('DESCRIBE')) res.end("id\tUInt32\t\t\nprice\tDecimal(18, 4)\t\t\nname\tString\t\t\n");
    else res.end('');
  }, async (client, server, bodies) => {
    await run(client, server, { type: 'insert_to_table', table: 'prices', rows: [{ id: 1, price: '12.3400', name: '12.34' }] });
    assert.is(bodies[0], 'DESCRIBE TABLE `prices` FORMAT TabSeparated');
    assert.is(bodies[1], 'INSERT INTO `prices` (`id`, `price`, `name`) FORMAT JSONEachRow\n{"id":1,"price":12.3400,"name":"12.34"}\n');
    await run(client, server, { type: 'insert_to_table', table: 'prices', rows: [{ id: 2 }] });
    assert.is(bodies.length, 3, 'no DESCRIBE for rows without text values, nor within the cache lifetime');
  });
});

test('insert_to_table :: on 18.16, one request per column set, in order', async () => {
  await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : ''), async (client, server, bodies) => {
    await run(client, server, { type: 'insert_to_table', table: 't', rows: [{ a: 1 }, { a: 2, b: 3 }, { a: 4 }] });
    assert.equal(bodies.filter((b) => b.startsWith('INSERT')), [
      'INSERT INTO `t` (`a`) FORMAT JSONEachRow\n{"a":1}\n{"a":4}\n',
      'INSERT INTO `t` (`a`, `b`) FORMAT JSONEachRow\n{"a":2,"b":3}\n',
    ]);
  });
});

test('insert_to_table :: on a server where omitted fields take their DEFAULT, rows of several column sets are one statement, in the caller\'s order', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer((req, res) => {
    seen.push({ url: req.url, body: req.body });
    res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server) => {
    const rows = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? { a: i } : i % 3 === 1 ? { a: i, b: i * 2 } : { b: i, a: i, c: null }));
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 40 });
    const inserts = seen.filter((s) => s.body.startsWith('INSERT'));
    assert.is(inserts.length, 1, 'one request');
    // Every column the rows give is named (an EPHEMERAL column is read only when named).
    assert.is(inserts[0]?.body, `INSERT INTO \`t\` (\`a\`, \`b\`, \`c\`) FORMAT JSONEachRow\n${rows.map((r) => `${JSON.stringify(r)}\n`).join('')}`);
    assert.is(new URL(inserts[0]?.url ?? '', 'http://x').searchParams.get('input_format_defaults_for_omitted_fields'), '1');
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: several column sets on 26.7 are one statement also with a set of 10,000 rows (one query id for the writer to look up); a caller who sets input_format_defaults_for_omitted_fields, in the call or the connection string, gets a statement per set', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer((req, res) => {
    seen.push({ url: req.url, body: req.body });
    res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server) => {
    const rows = [{ a: 1 }, ...Array.from({ length: 10_000 }, (_, i) => ({ big: i })), { b: 2 }, { a: 3, b: 4 }];
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 10_003 });
    const inserts = seen.filter((s) => s.body.startsWith('INSERT'));
    assert.is(inserts.length, 1);
    assert.is(inserts[0]?.body, `INSERT INTO \`t\` (\`a\`, \`big\`, \`b\`) FORMAT JSONEachRow\n${rows.map((r) => `${JSON.stringify(r)}\n`).join('')}`);
    const twoSets = (): string[] => seen.filter((s) => s.body.startsWith('INSERT')).map((s) => s.body);
    const perSet = ['INSERT INTO `t` (`a`) FORMAT JSONEachRow\n{"a":1}\n', 'INSERT INTO `t` (`b`) FORMAT JSONEachRow\n{"b":2}\n'];
    seen.length = 0;
    await perform(client, server, prepare({ type: 'insert_to_table', table: 't', rows: [{ a: 1 }, { b: 2 }], options: { settings: { input_format_defaults_for_omitted_fields: 0 } } }), defaults);
    assert.equal(twoSets(), perSet);
    seen.length = 0;
    await perform(client, { ...server, settings: { ...server.settings, input_format_defaults_for_omitted_fields: 0 } }, prepare({ type: 'insert_to_table', table: 't', rows: [{ a: 1 }, { b: 2 }] }), defaults);
    assert.equal(twoSets(), perSet, 'set in the connection string');
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: 20,000 rows whose column sets all differ are one statement written in seconds (a writer compiled per set took 0.4 ms a row); a set that repeats gets its compiled writer', async () => {
  const seen: string[] = [];
  await withFakeServer((req, res) => {
    seen.push(req.body);
    res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server) => {
    const optional = Array.from({ length: 15 }, (_, k) => `opt${k}`);
    const rows = Array.from({ length: 20_000 }, (_, i) => Object.fromEntries([['id', i], ...optional.filter((_o, k) => (i >> k) & 1).map((o) => [o, `v${i}`])]));
    const t0 = performance.now();
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 20_000 });
    const ms = performance.now() - t0;
    assert.ok(ms < 4_000, `${ms.toFixed(0)} ms`);
    assert.is(seen.at(-1), `INSERT INTO \`t\` (${['id', ...optional].map((c) => `\`${c}\``).join(', ')}) FORMAT JSONEachRow\n${rows.map((r) => `${JSON.stringify(r)}\n`).join('')}`);
    // A source whose rows all give the same (new) columns: their writer is compiled after a few rows.
    const keys = ['only_here_a', 'only_here_b'];
    assert.is(knownRowWriter(keys), undefined);
    await run(client, server, { type: 'insert_to_table', table: 't', rows: (function* () { for (let i = 0; i < 100; i++) yield { only_here_a: i, only_here_b: 'x' }; })() });
    assert.ok(knownRowWriter(keys) !== undefined, 'compiled');
    assert.is(seen.at(-1)?.split('\n')[100], '{"only_here_a":99,"only_here_b":"x"}');
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: a big array to 18.16 goes as TabSeparated when every value has its plain form; a value out of its column\'s range is refused by its place before anything is sent, and one of another form sends the statement as JSONEachRow', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer(tsvServer(seen), async (client, server) => {
    const rows = (): Row[] => Array.from({ length: 12_000 }, (_, id) => ({ id, small: id % 256, at: new Date(id * 1000), xs: [id % 128, -1] }));
    const inserts = (): string[] => insertsOf(seen).map((i) => i.body);
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows: rows() }), { rows: 12_000 });
    const seconds = (id: number): string => String(id).padStart(10, '0');
    assert.is(inserts()[0], `INSERT INTO \`t\` (\`id\`, \`small\`, \`at\`, \`xs\`) FORMAT TabSeparated\n${rows().map((r) => `${r.id}\t${r.small}\t${seconds(r.id as number)}\t[${(r.xs as number[]).join(',')}]\n`).join('')}`);
    const refusals: [Row, string][] = [
      [{ small: 300 }, 'parameter rows[11000].small: 300 is outside UInt8 (0 to 255)'],
      [{ xs: [1, 128] }, 'parameter rows[11000].xs[1]: 128 is outside Int8 (-128 to 127)'],
      [{ at: new Date(-1000) }, "parameter rows[11000].at: Date 1969-12-31T23:59:59.000Z is outside DateTime's range (1970 to 2106)"],
    ];
    for (const [change, message] of refusals) {
      seen.length = 0;
      const given = rows();
      Object.assign(given[11_000] as Row, change);
      const err = await run(client, server, { type: 'insert_to_table', table: 't', rows: given }).catch((e: unknown) => e);
      assert.instance(err, QueryParamError, message);
      assert.is((err as Error).message, message);
      assert.equal(inserts(), [], 'nothing sent');
    }
    seen.length = 0;
    const given = rows();
    (given[11_000] as Row).small = '7';
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows: given }), { rows: 12_000 });
    assert.match(inserts()[0] ?? '', /^INSERT INTO `t` \(`id`, `small`, `at`, `xs`\) FORMAT JSONEachRow\n/);
    assert.match(inserts()[0] ?? '', /\n\{"id":11000,"small":"7",/);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

/** An 18.16 fake: table `t` (id, small UInt8, at DateTime, xs Array(Int8), Nested n(a UInt8, b String)); every request in `seen`; `insert` answers the INSERTs. */
function tsvServer(seen: { url: string; body: string }[], insert: (body: string, res: ServerResponse) => void = (_b, res) => { res.end(''); }) {
  return (req: { url: string; body: string }, res: ServerResponse): void => {
    seen.push(req);
    if (req.body.startsWith('SELECT version()')) res.end('18.16.1\tUTC\n');
    else if (req.body.startsWith('DESCRIBE')) res.end('id\tUInt32\t\t\nsmall\tUInt8\t\t\nat\tDateTime\t\t\nxs\tArray(Int8)\t\t\nn.a\tArray(UInt8)\t\t\nn.b\tArray(String)\t\t\n');
    else insert(req.body, res);
  };
}
const insertsOf = (seen: { url: string; body: string }[]) => seen.filter((s) => s.body.startsWith('INSERT'));

test('insert_to_table :: 18.16, several column sets: each big one goes as TabSeparated by its own plan, without the binary header settings; a small one as JSONEachRow', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer(tsvServer(seen), async (client, server) => {
    const rows: Row[] = [
      ...Array.from({ length: 12_000 }, (_, id) => ({ id, small: id % 256 })),
      ...Array.from({ length: 12_000 }, (_, k) => ({ id: 12_000 + k, at: new Date((12_000 + k) * 1000) })),
      ...Array.from({ length: 3 }, (_, k) => ({ id: 24_000 + k, xs: [k] })),
    ];
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 24_003 });
    const inserts = insertsOf(seen);
    assert.is(inserts.length, 3);
    assert.ok(inserts[0]?.body.startsWith('INSERT INTO `t` (`id`, `small`) FORMAT TabSeparated\n0\t0\n1\t1\n'), inserts[0]?.body.slice(0, 80));
    assert.ok(inserts[1]?.body.startsWith('INSERT INTO `t` (`id`, `at`) FORMAT TabSeparated\n12000\t0000012000\n'), inserts[1]?.body.slice(0, 80));
    assert.is(inserts[2]?.body, 'INSERT INTO `t` (`id`, `xs`) FORMAT JSONEachRow\n{"id":24000,"xs":[0]}\n{"id":24001,"xs":[1]}\n{"id":24002,"xs":[2]}\n', 'a small set goes as JSONEachRow');
    for (const s of inserts) assert.not.match(s.url, /input_format_with_(names|types)_use_header/, '18.16 knows no such setting');
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: 18.16: a TabSeparated statement the server refuses is not sent again as JSONEachRow (even for an error a stale binary header would give)', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer(tsvServer(seen, (_b, res) => {
    res.statusCode = 500;
    res.end("Code: 117, e.displayText() = DB::Exception: Type of 'small' must be UInt16, not UInt8, e.what() = DB::Exception\n");
  }), async (client, server) => {
    const rows: Row[] = Array.from({ length: 12_000 }, (_, id) => ({ id, small: id % 256 }));
    const err = await run(client, server, { type: 'insert_to_table', table: 't', rows }).catch((e: unknown) => e);
    assert.instance(err, ClickHouseError);
    assert.is((err as ClickHouseError).serverCode, 117);
    assert.equal(insertsOf(seen).map((s) => s.body.slice(0, s.body.indexOf('\n'))), ['INSERT INTO `t` (`id`, `small`) FORMAT TabSeparated'], 'sent once');
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: 18.16: a row changed while its TabSeparated body is written ends the body with the plan\'s line of a field too many, and the call throws why', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer(tsvServer(seen), async (client, server) => {
    // The value turns bad at its k-th read: in the call's checks, the plan's fit check, or as the body is written.
    let caught = 0;
    for (let k = 1; k <= 8; k++) {
      seen.length = 0;
      const rows: Row[] = Array.from({ length: 12_000 }, (_, id) => ({ id, small: 1, xs: [] as number[] }));
      let reads = 0;
      Object.defineProperty(rows[11_000], 'small', { enumerable: true, get: () => (++reads >= k ? 'boom' : 7) });
      const err = await run(client, server, { type: 'insert_to_table', table: 't', rows }).catch((e: unknown) => e);
      if (!(err instanceof QueryParamError && /^parameter rows\[11000\]\.small: changed after the insert was called/.test(err.message))) continue;
      caught++;
      const body = insertsOf(seen)[0]?.body ?? '';
      assert.ok(body.startsWith('INSERT INTO `t` (`id`, `small`, `xs`) FORMAT TabSeparated\n'), body.slice(0, 80));
      const last = body.slice(0, -1).split('\n').pop() ?? '';
      assert.ok(last.startsWith('\u0000 the client stopped this insert'), JSON.stringify(last));
      assert.is(last.split('\t').length, 3 + 2, 'a field more than the three columns, and a tab after it: 18.16 refuses the statement');
    }
    assert.ok(caught > 0, 'some k turned the value bad as the body was written');
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: 18.16: a big array giving a Nested column as objects goes flattened, as TabSeparated', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer(tsvServer(seen), async (client, server) => {
    const rows: Row[] = Array.from({ length: 12_000 }, (_, id) => ({ id, n: { a: [id % 256], b: ["it's"] } }));
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 12_000 });
    const inserts = insertsOf(seen);
    assert.is(inserts.length, 1);
    assert.ok(inserts[0]?.body.startsWith("INSERT INTO `t` (`id`, `n.a`, `n.b`) FORMAT TabSeparated\n0\t[0]\t['it\\'s']\n1\t[1]\t['it\\'s']\n"), inserts[0]?.body.slice(0, 90));
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: with the caller\'s input_format_allow_errors_num or _ratio (the server would skip the line that stops a statement), a big array is encoded whole first: a row that turns bad as it is written is refused by its place and nothing is sent', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer(tsvServer(seen), async (client, server) => {
    // A small max_insert_block_size: 11 blocks of 1,000 rows went before the row (sent as the body was written), or none (encoded whole first).
    for (const settings of [{ input_format_allow_errors_num: 5, max_insert_block_size: 1_000 }, { input_format_allow_errors_ratio: 0.01 }, { max_insert_block_size: 1_000 }] as Settings[]) {
      const lenient = settings.max_insert_block_size === undefined || settings.input_format_allow_errors_num !== undefined;
      // The value turns bad at its k-th read: in the call's checks, the plan's fit check, or as the body is written.
      let caught = 0;
      for (let k = 1; k <= 8; k++) {
        seen.length = 0;
        const rows: Row[] = Array.from({ length: 12_000 }, (_, id) => ({ id, small: 7 }));
        let reads = 0;
        Object.defineProperty(rows[11_999], 'small', { enumerable: true, get: () => (++reads >= k ? 'boom' : 7) });
        const err = await run(client, server, { type: 'insert_to_table', table: 't', rows, options: { settings } }).catch((e: unknown) => e);
        if (!(err instanceof QueryParamError && /^parameter rows\[11999\]\.small: changed after the insert was called/.test(err.message))) continue;
        caught++;
        const inserts = insertsOf(seen).map((i) => i.body);
        if (lenient) {
          assert.equal(inserts, [], `${JSON.stringify(settings)}, k=${k}: nothing sent`);
          assert.not.match(err.message, /may have stored/, 'nothing was sent: no block stored');
        } else {
          assert.ok(inserts[0]?.endsWith('a row no longer encodes\t\t\t\n'), `k=${k}: without them the body goes as it is written, and ends in the line the server refuses`);
          assert.match(err.message, /\(the server may have stored the statement's first 11000 rows already: it writes 1000 rows at a time, its max_insert_block_size\)$/);
        }
      }
      assert.ok(caught > 0, `${JSON.stringify(settings)}: some k turned the value bad as the body was written`);
    }
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: 18.16: one row object at two places that turns bad as its second place is written is refused by that place, not the first', async () => {
  const seen: { url: string; body: string }[] = [];
  await withFakeServer(tsvServer(seen), async (client, server) => {
    const places = new Set<string>();
    // The value turns bad at its k-th read: in the call's checks, the plan's fit check, or as one of its two places is written.
    for (let k = 1; k <= 12; k++) {
      const rows: Row[] = Array.from({ length: 12_000 }, (_, id) => ({ id, small: 7 }));
      let reads = 0;
      const twice: Row = { id: 5 };
      Object.defineProperty(twice, 'small', { enumerable: true, get: () => (++reads >= k ? 'boom' : 7) });
      rows[5] = twice;
      rows[11_999] = twice;
      const err = await run(client, server, { type: 'insert_to_table', table: 't', rows }).catch((e: unknown) => e);
      const m = err instanceof QueryParamError ? /^parameter (rows\[\d+\])\.small: changed after the insert was called/.exec(err.message) : null;
      if (m) places.add(m[1] as string);
    }
    assert.ok(places.has('rows[11999]'), `refused at its second place: ${[...places].join(', ')}`);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

/** A 26.7 fake with a Nested column `n`: the rows each kept-aside statement (`n.b` alone) carries, and the ids of every other statement. */
function nestedServer(held: number[], streamed: string[][] = []) {
  return (req: { body: string }, res: { end: (body: string) => void }): void => {
    if (req.body.startsWith('DESCRIBE')) res.end('id\tUInt32\t\t\nn.a\tArray(UInt8)\t\t\nn.b\tArray(String)\t\t\n');
    else if (req.body.startsWith('SELECT version()')) res.end('26.7.2.1\tUTC\n');
    else {
      const lines = req.body.split('\n');
      if (lines[0]?.includes('`n.b`')) held.push(lines.length - 2);
      else streamed.push(lines.slice(1, -1).map((line) => String((JSON.parse(line) as { id: number }).id)));
      res.end('');
    }
  };
}

test('insert_to_table :: rows of a source that give only part of a Nested column are kept aside in bounded groups, not all of them until the source ends', async () => {
  const held: number[] = [];
  await withFakeServer(nestedServer(held), async (client, server) => {
    const rows = (function* () { for (let id = 0; id < 120_000; id++) yield { id, 'n.b': ['x'] }; })();
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 120_000 });
    // Sent after every 50,000 such rows: the memory they hold stays bounded whatever the source's length.
    assert.equal(held, [50_000, 50_000, 20_000]);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: rows of a source that give only part of a Nested column are kept aside up to 16 MiB: the streamed statement ends there and goes on after them', async () => {
  const held: number[] = [];
  const streamed: string[][] = [];
  await withFakeServer(nestedServer(held, streamed), async (client, server) => {
    // 17 rows of 1 MiB that give n.b alone, between two whole rows.
    const big = 'x'.repeat(1 << 20);
    const rows = (function* (): Generator<Row> {
      yield { id: 0, 'n.a': [1], 'n.b': ['a'] };
      for (let id = 1; id <= 17; id++) yield { id, 'n.b': [big] };
      yield { id: 18, 'n.a': [2], 'n.b': ['b'] };
    })();
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 19 });
    // The 16th kept row passed 16 MiB: they were sent then, not held with the 17th until the source ended.
    assert.equal(held, [16, 1]);
    assert.equal(streamed, [['0'], ['18']]);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test('insert_to_table :: a source that throws is refused at the row it did not give (its error the cause), on 26.7 and on 18.16', async () => {
  for (const version of ['26.7.2.1', '18.16.1']) {
    await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? `${version}\tUTC\n` : ''), async (client, server) => {
      const broke = new Error('source broke');
      const rows = (function* (): Generator<Row> {
        yield { id: 0 };
        yield { id: 1 };
        throw broke;
      })();
      const err = await run(client, server, { type: 'insert_to_table', table: 't', rows }).catch((e: unknown) => e);
      assert.instance(err, QueryParamError, version);
      assert.is((err as QueryParamError).param, 'rows[2]', version);
      assert.is((err as Error).cause, broke, version);
      assert.match((err as Error).message, /the row source failed instead of giving this row.*source broke/);
    });
  }
});

test('insert_to_table :: a source refused at a bad row is ended (its finally runs), on 26.7 and on 18.16', async () => {
  for (const version of ['26.7.2.1', '18.16.1']) {
    await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? `${version}\tUTC\n` : ''), async (client, server) => {
      let ended = false;
      let after = 0;
      const rows = (function* (): Generator<Row> {
        try {
          yield { id: 0 };
          yield 'no row' as unknown as Row;
          for (;;) {
            after++;
            yield { id: after };
          }
        } finally {
          ended = true;
        }
      })();
      const err = await run(client, server, { type: 'insert_to_table', table: 't', rows }).catch((e: unknown) => e);
      assert.instance(err, QueryParamError, version);
      assert.is((err as QueryParamError).row, 1, version);
      assert.ok(ended, `${version}: the source was ended, not left suspended`);
      assert.is(after, 0, `${version}: no row read past the refused one`);
    });
  }
});

test('insert_to_table :: on 18.16 a source of one row sends it (the last round of one row is no empty round)', async () => {
  await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : ''), async (client, server, bodies) => {
    const rows = (function* (): Generator<Row> { yield { id: 7 }; })();
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 1 });
    assert.equal(bodies.filter((b) => b.startsWith('INSERT')), ['INSERT INTO `t` (`id`) FORMAT JSONEachRow\n{"id":7}\n']);
  });
});

test('insert_to_table :: on 18.16 a value the table\'s type refuses in a later column set is named by its place in the caller\'s rows', async () => {
  await withServer((b, res) => {
    if (b.startsWith('DESCRIBE')) res.end('id\tUInt32\t\t\np\tDecimal(9, 2)\t\t\n');
    else res.end(b.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : '');
  }, async (client, server) => {
    const rows: Row[] = [{ id: 0, p: '1.50' }, { id: 1 }, { id: 2 }, { id: 3, p: '2.25' }, { id: 4, p: 'no number' }];
    const err = await run(client, server, { type: 'insert_to_table', table: 't', rows }).catch((e: unknown) => e);
    assert.instance(err, QueryParamError, String(err));
    assert.is((err as QueryParamError).row, 4);
    assert.match((err as QueryParamError).param, /^rows\[4\]/);
  });
});

test('insert_to_table :: on 18.16 a source that stalls longer than the timeout rejects with TimeoutError (not waited for 20 times as long)', async () => {
  await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : ''), async (client, server) => {
    const rows = (async function* (): AsyncGenerator<Row> {
      yield { id: 0 };
      await new Promise<never>(() => undefined);
    })();
    const call = perform(client, server, prepare({ type: 'insert_to_table', table: 't', rows }), { timeout: 300, int64: 'auto' }).catch((e: unknown) => e);
    const err = await Promise.race([call, new Promise((r) => setTimeout(() => r('still waiting after 4 s'), 4_000))]);
    assert.instance(err, TimeoutError, String(err));
    assert.ok((err as TimeoutError).requestSent, 'rows were read: a retry could not read them again');
  });
});

test('insert_to_table :: on 18.16 a source insert whose signal aborted before the call (version and table known) rejects with AbortError without reading the source to its end', async () => {
  await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : ''), async (client, server, bodies) => {
    // The version and the table's description kept from a first insert: nothing else notices the signal first.
    await run(client, server, { type: 'insert_to_table', table: 't', rows: (function* (): Generator<Row> { yield { id: 0 }; })() });
    let pulled = 0;
    const rows = (function* (): Generator<Row> {
      for (let id = 0; id < 100; id++) {
        pulled++;
        yield { id };
      }
    })();
    const err = await perform(client, server, prepare({ type: 'insert_to_table', table: 't', rows, options: { signal: AbortSignal.abort() } }), defaults).catch((e: unknown) => e);
    assert.is((err as { code?: string }).code, 'ABORTED', String(err));
    assert.ok(pulled < 100, `the source was read to its end (${pulled} rows) for an aborted call`);
    assert.is(bodies.filter((b) => b.startsWith('INSERT')).length, 1, 'only the first insert was sent');
  });
});

test('insert_to_table :: on 18.16 a source that stalled past the timeout and then resumes is read no further: the call had rejected', async () => {
  await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : ''), async (client, server, bodies) => {
    let resume!: () => void;
    const gate = new Promise<void>((r) => { resume = r; });
    let yielded = 0;
    const rows = (async function* (): AsyncGenerator<Row> {
      yielded++;
      yield { id: 0 };
      await gate;
      for (let id = 1; id <= 5; id++) {
        yielded++;
        yield { id };
      }
    })();
    const err = await perform(client, server, prepare({ type: 'insert_to_table', table: 't', rows }), { timeout: 300, int64: 'auto' }).catch((e: unknown) => e);
    assert.instance(err, TimeoutError, String(err));
    resume();
    await new Promise((r) => setTimeout(r, 100));
    // The row the stalled wait asked for may come; none after it is asked for, nothing is sent.
    assert.ok(yielded <= 2, `the source was read on after the call rejected (${yielded} rows)`);
    assert.equal(bodies.filter((b) => b.startsWith('INSERT')), []);
  });
});

test('insert_to_table :: a summary header without written_rows counts the rows sent (not NaN)', async () => {
  await withServer((b, res) => {
    if (!b.startsWith('SELECT version()')) res.setHeader('X-ClickHouse-Summary', '{"read_rows":"0","written_bytes":"10"}');
    res.end(b.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
  }, async (client, server) => {
    const rows = (function* (): Generator<Row> { yield { id: 0 }; yield { id: 1 }; })();
    assert.equal(await run(client, server, { type: 'insert_to_table', table: 't', rows }), { rows: 2 });
  });
});

test('insert_to_table :: a source that yields what is no plain object (a Map, a Date, getters alone) is refused at that row', async () => {
  class Getters { get id(): number { return 5; } }
  // A Date column has its own encoding: such rows are written by another path.
  for (const [bad, columns] of [new Map([['id', 5]]), new Date(), new Getters()].flatMap((b) => [[b, 'id\tUInt32\t\t\n'], [b, 'id\tUInt32\t\t\nd\tDate\t\t\n']] as const)) {
    await withFakeServer((req, res) => {
      if (req.body.startsWith('DESCRIBE')) res.end(columns);
      else res.end(req.body.startsWith('SELECT version()') ? '26.7.2.1\tUTC\n' : '');
    }, async (client, server) => {
      const rows = (function* () { yield { id: 1 }; yield bad as unknown as Row; })();
      const err = await run(client, server, { type: 'insert_to_table', table: 't', rows }).catch((e: unknown) => e);
      assert.instance(err, QueryParamError);
      assert.match((err as Error).message, /rows\[1\]: expected a plain object/);
    }, (port) => `http://127.0.0.1:${port}/default`);
  }
});

test('insert_to_table :: when a later group cannot be sent, the error still says the request was sent', async () => {
  // A dispatcher that answers the version question (18.16), delivers the first group and finds the server gone for the second.
  let calls = 0;
  await withServer((b, res) => res.end(b.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : ''), async (client, server) => {
    const flaky = {
      dispatch: (opts: Parameters<Client['dispatch']>[0], handler: Parameters<Client['dispatch']>[1]) => {
        calls++;
        if (calls <= 2) return client.dispatch(opts, handler);
        const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        (handler as { onError(e: Error): void }).onError(refused);
        return true;
      },
    } as unknown as Client;
    const err = await perform(flaky, server, prepare({ type: 'insert_to_table', table: 't', rows: [{ a: 1 }, { b: 2 }] }), defaults)
      .catch((e: unknown) => e);
    assert.instance(err, TransportError);
    assert.is((err as TransportError).requestSent, true);
    assert.is(calls, 3);
  });
});

test('query and insert :: raw text and nothing', async () => {
  await withServer((body, res) => res.end(body.startsWith('INSERT') ? '' : 'raw text\n'), async (client, server) => {
    assert.is(await run(client, server, { type: 'query', sql: 'SHOW TABLES' }), 'raw text\n');
    assert.is(await run(client, server, { type: 'insert', sql: 'INSERT INTO t VALUES ({x})', params: { x: 1 } }), undefined);
  });
});

for (const [version, expect] of [
  ['26.7.2.1', { async: '0', token: 'tok' }],
  ['18.16.1', { async: null, token: null }],
] as const) {
  test(`insert :: asyncInsert false and a deduplication token become settings on ${version} only where the server has them`, async () => {
    const urls: string[] = [];
    let asked = 0;
    await withFakeServer((req, res) => {
      const info = req.body.startsWith('SELECT version(), timezone()');
      if (info) asked++;
      // The table's description, asked for its ranges, is no insert.
      else if (!req.body.startsWith('DESCRIBE')) urls.push(req.url);
      res.end(info ? `${version}\tUTC\n` : '');
    }, async (client, server) => {
      const options = { asyncInsert: false, deduplicationToken: 'tok' };
      await run(client, server, { type: 'insert', sql: 'INSERT INTO t VALUES (1)', options });
      await run(client, server, { type: 'insert_to_table', table: 't', rows: [{ a: 1 }, { b: 2 }], options });
      await run(client, server, { type: 'insert', sql: 'INSERT INTO t VALUES (2)' });
      const inserts = urls.map((u) => new URL(u, 'http://x').searchParams);
      assert.is(asked, 1, 'the version is asked once');
      // Two key sets: one statement on 26.7 (omitted fields take their DEFAULT), two on 18.16,
      // where each needs a token of its own.
      const statements = expect.async === null ? 2 : 1;
      assert.is(inserts.length, 2 + statements);
      assert.is(inserts[0]?.get('async_insert'), expect.async);
      assert.is(inserts[0]?.get('insert_deduplication_token'), expect.token);
      assert.is(inserts[1]?.get('insert_deduplication_token'), expect.token);
      if (statements === 2) assert.is(inserts[2]?.get('insert_deduplication_token'), expect.token && `${expect.token}.1`);
      const last = inserts[1 + statements];
      assert.is(last?.get('async_insert'), null, 'a call that asks nothing gets nothing');
      assert.is(last?.get('insert_deduplication_token'), null);
    }, (port) => `http://127.0.0.1:${port}/default`);
  });
}

test('insert :: a server slow to say its version gets the insert at half the call\'s time, without the versioned settings', async () => {
  const sent: { at: number; url: string }[] = [];
  const t0 = Date.now();
  await withFakeServer((req, res) => {
    // The version question is answered only after the call's whole time (600 ms).
    if (req.body.startsWith('SELECT version(), timezone()')) setTimeout(() => res.end('26.7.2.1\tUTC\n'), 900);
    else {
      sent.push({ at: Date.now() - t0, url: req.url });
      res.end('');
    }
  }, async (client, server) => {
    const options = { asyncInsert: false, deduplicationToken: 'tok', timeout: 600 };
    await run(client, server, { type: 'insert', sql: 'INSERT INTO t VALUES (1)', options });
  }, (port) => `http://127.0.0.1:${port}/default`);
  assert.is(sent.length, 1, 'the insert was sent');
  // Before: it waited for the version until its own time ran out, and was sent with none left.
  assert.ok(sent[0]!.at >= 250 && sent[0]!.at < 500, `sent after ${sent[0]!.at} ms of 600`);
  const params = new URL(sent[0]!.url, 'http://x').searchParams;
  assert.is(params.get('async_insert'), null);
  assert.is(params.get('insert_deduplication_token'), null);
});

test('options :: asyncInsert and deduplicationToken are checked before anything is sent', () => {
  assert.throws(() => prepare({ type: 'insert', sql: 'INSERT INTO t VALUES (1)', options: { asyncInsert: 'yes' as unknown as boolean } }), /options\.asyncInsert: expected a boolean, got "yes"/);
  assert.throws(() => prepare({ type: 'insert', sql: 'INSERT INTO t VALUES (1)', options: { deduplicationToken: '' } }), /options\.deduplicationToken: expected a non-empty string/);
});

// A fake server of the given version that answers every query with one UInt8 column.
function versioned(version: string) {
  return (req: { url: string; body: string }, res: ServerResponse): void => {
    if (req.body.startsWith('SELECT version(), timezone()')) res.end(`${version}\tUTC\n`);
    // A select on a 22.1+ server asks for RowBinaryWithNamesAndTypes: one UInt8 column x, one row.
    else if (req.body.endsWith('FORMAT RowBinaryWithNamesAndTypes')) res.end(Buffer.from([1, 1, 0x78, 5, ...Buffer.from('UInt8'), 1]));
    else res.end('x\nUInt8\n1\n');
  };
}

test('typed :: a server without typed parameters (18.16) is refused before the query is sent, naming the version and the parameter', async () => {
  await withFakeServer(versioned('18.16.1'), async (client, server, fake) => {
    const err = await run(client, server, { type: 'select', sql: 'SELECT {n:UInt32} AS x', params: { n: 1 } }).catch((e: unknown) => e);
    assert.instance(err, QueryParamError);
    assert.is((err as QueryParamError).param, 'n');
    assert.match((err as Error).message, /runs ClickHouse 18\.16\.1, which has no server-side parameters/);
    assert.not.match((err as Error).message, /s3cret/);
    assert.equal(fake.seen.map((s) => s.body), ['SELECT version(), timezone() FORMAT TabSeparated'], 'only the version was asked');
    assert.equal(await run(client, server, { type: 'select', sql: 'SELECT {n} AS x', params: { n: 1 } }), [{ x: 1 }], '{name} still works there');
  });
});

test('typed :: small values travel in the URL, the query in the body; a query without them asks no version', async () => {
  await withFakeServer(versioned('26.7.2.1'), async (client, server, fake) => {
    await run(client, server, { type: 'query', sql: 'SELECT 1 AS x' });
    assert.is(fake.seen.length, 1, 'no version lookup for a query without typed placeholders');
    // (A select asks the version once anyway, for its format.)
    assert.equal(await run(client, server, { type: 'select', sql: 'SELECT {n:UInt32} AS x, {s:String}', params: { n: 41, s: 'a b\t' } }), [{ x: 1 }]);
    const sent = fake.seen.at(-1)!;
    assert.match(sent.url, /&param_n=41&param_s=a%20b%5Ct$/);
    assert.is(sent.body, 'SELECT {n:UInt32} AS x, {s:String}\nFORMAT RowBinaryWithNamesAndTypes');
    assert.match(String(sent.headers['content-type']), /^text\/plain/);
  });
});

test('typed :: a value too long for the URL goes in a multipart body with the query; credentials stay in headers', async () => {
  await withFakeServer(versioned('26.7.2.1'), async (client, server, fake) => {
    // ASCII (the fake server reads chunks as text), but three times longer percent-encoded.
    const big = '  x'.repeat(20_000);
    await run(client, server, { type: 'query', sql: 'SELECT {s:String}', params: { s: big } });
    const sent = fake.seen.at(-1)!;
    assert.not.match(sent.url, /param_|query=/);
    assert.match(String(sent.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.ok(sent.body.includes(`name="query"\r\n\r\nSELECT {s:String}\r\n`));
    assert.ok(sent.body.includes(`name="param_s"\r\n\r\n${big}\r\n`));
    assert.is(sent.headers['x-clickhouse-user'], 'colonnade');
  });
});

test.run();
