import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, QueryParamError } from '../../src/clickhouse/errors.js';
import { checkCallOptions, insertRequest, prepare } from '../../src/clickhouse/prepare.js';
import type { Row } from '../../src/clickhouse/types.js';

const test = suite('prepare');

test('select :: renders params and appends the output format', () => {
  const req = prepare({ type: 'select', sql: 'SELECT * FROM users WHERE lastname = {lastname};  ', params: { lastname: 'Smith' } });
  assert.is(req.body, "SELECT * FROM users WHERE lastname = 'Smith'\nFORMAT TabSeparatedWithNamesAndTypes");
  assert.is(req.readOnly, true);
  assert.equal(req.options, {});
});

test('select :: a SQL that ends in a comment still gets its format on a new line', () => {
  assert.is(prepare({ type: 'select', sql: 'SELECT 1 -- one' }).body, 'SELECT 1 -- one\nFORMAT TabSeparatedWithNamesAndTypes');
});

test('select :: refuses its own FORMAT clause, also before a comment, its SETTINGS or as a quoted name', () => {
  // Before: all but the first reached the server, which refused the FORMAT the client appended.
  for (const sql of ['SELECT 1 FORMAT JSON', 'SELECT 1 FORMAT JSON -- note', 'SELECT 1 FORMAT JSON SETTINGS max_threads = 1', 'SELECT 1 FORMAT `JSON`;\n/* done */', 'select 1 format CSVWithNames',
    'SELECT 1 FORMAT JSON /* a /* nested */ comment */', 'SELECT 1 FORMAT JSON # note', 'SELECT 1 FORMAT JSON #! note', 'SELECT 1 FORMAT JSON // note']) {
    assert.throws(() => prepare({ type: 'stream', sql }), (e: unknown) => e instanceof QueryParamError && e.param === 'sql', sql);
  }
  // A column or text named format, or FORMAT inside a string or a comment, is no clause.
  for (const sql of ['SELECT format FROM t', 'SELECT 1 AS format', "SELECT 'x FORMAT JSON'", 'SELECT 1 -- FORMAT JSON', "SELECT 1 SETTINGS format_csv_delimiter = ';'", 'SELECT `FORMAT JSON`',
    "SELECT 'append FORMAT JSON SETTINGS to a query' AS tip", 'SELECT format FROM t GROUP BY format ORDER BY format DESC SETTINGS max_threads = 1', 'SELECT format FROM t ORDER BY format DESC',
    'SELECT 1 /* /* */ FORMAT JSON */', 'SELECT 1 # FORMAT JSON']) {
    assert.ok(prepare({ type: 'select', sql }).body.endsWith('\nFORMAT TabSeparatedWithNamesAndTypes'), sql);
  }
});

test('select :: refuses, in its SQL\'s SETTINGS, a setting the binary reader depends on (the rows came garbled, or as a bare SyntaxError)', () => {
  assert.throws(() => prepare({ type: 'select', sql: "SELECT '{}'::JSON AS j SETTINGS output_format_binary_write_json_as_string = 0" }),
    (e: unknown) => e instanceof QueryParamError && /select sets output_format_binary_write_json_as_string itself/.test(e.message));
  assert.throws(() => prepare({ type: 'stream', sql: 'SELECT 1 SETTINGS max_threads = 1, output_format_binary_encode_types_in_binary_format = 1' }), (e: unknown) => e instanceof QueryParamError);
  // Named in a comment or a string, it is no setting.
  assert.ok(prepare({ type: 'select', sql: "SELECT 'output_format_binary_write_json_as_string' AS s SETTINGS max_threads = 1 -- output_format_binary_write_json_as_string" }));
  assert.ok(prepare({ type: 'select', sql: "SELECT value FROM system.settings WHERE name = 'output_format_binary_write_json_as_string'" }));
  assert.ok(prepare({ type: 'select', sql: "SELECT value FROM system.settings WHERE name LIKE 'output_format_binary_encode_types_in_binary_format%' SETTINGS max_threads = 1" }));
});

test('query :: readOnly only for reading statements', () => {
  assert.ok(prepare({ type: 'query', sql: '  /* hi */ -- x\n select 1' }).readOnly);
  assert.ok(prepare({ type: 'query', sql: 'SHOW TABLES' }).readOnly);
  assert.ok(prepare({ type: 'query', sql: '/* a /* nested */ comment */ # and a line\nSELECT 1' }).readOnly);
  assert.not.ok(prepare({ type: 'query', sql: '/* a /* nested */ SELECT */ DROP TABLE t' }).readOnly);
  assert.not.ok(prepare({ type: 'query', sql: 'SELECTED' }).readOnly);
  assert.not.ok(prepare({ type: 'query', sql: 'CREATE TABLE t (x UInt8) ENGINE = Memory' }).readOnly);
  assert.not.ok(prepare({ type: 'query', sql: 'INSERT INTO t SELECT 1' }).readOnly);
});

test('typed :: {name:Type} values are formatted for the server and {name} ones substituted, from one params object', () => {
  const req = prepare({ type: 'select', sql: 'SELECT {n:UInt32} + {m} AS x, {s:Array(String)} AS s', params: { n: 41, m: 1, s: ['a\tb'] } });
  assert.is(req.body, 'SELECT {n:UInt32} + 1 AS x, {s:Array(String)} AS s\nFORMAT TabSeparatedWithNamesAndTypes');
  assert.equal({ ...req.typedParams }, { n: '41', s: "['a\\tb']" });
  const insert = prepare({ type: 'insert', sql: 'INSERT INTO t SELECT {id:UInt64}', params: { id: 7n } });
  assert.equal({ ...insert.typedParams }, { id: '7' });
  assert.is(prepare({ type: 'query', sql: 'SELECT {x:Date}', params: { x: new Date(0) } }).typedParams?.['x'], '1970-01-01');
});

test('typed :: a query without typed placeholders carries no typedParams', () => {
  assert.is('typedParams' in prepare({ type: 'select', sql: 'SELECT 1' }), false);
  assert.is('typedParams' in prepare({ type: 'select', sql: 'SELECT {n}', params: { n: 1 } }), false);
});

test('typed :: bad values, missing values and values too long are refused by prepare, naming the parameter', () => {
  assert.throws(() => prepare({ type: 'select', sql: 'SELECT {n:UInt8}', params: { n: 300 } }), (e: unknown) => e instanceof QueryParamError && e.param === 'n' && /outside UInt8/.test(e.message));
  assert.throws(() => prepare({ type: 'select', sql: 'SELECT {n:UInt8}' }), (e: unknown) => e instanceof QueryParamError && e.param === 'n');
  assert.throws(() => prepare({ type: 'select', sql: 'SELECT {s:String}', params: { s: 'x'.repeat(200_000) } }), (e: unknown) => e instanceof QueryParamError && e.param === 's' && /http_max_field_value_size/.test(e.message));
});

test('insert :: renders VALUES with params', () => {
  const req = prepare({ type: 'insert', sql: 'INSERT INTO events (user_id, event) VALUES ({user_id}, {event})', params: { user_id: 42, event: 'login' } });
  assert.is(req.body, "INSERT INTO events (user_id, event) VALUES (42, 'login')");
  assert.is(req.readOnly, false);
});

test('insert_to_table :: one row or many, table quoted, same bytes every time', () => {
  const cmd = { type: 'insert_to_table', table: 'db.users', rows: [{ id: 1, name: 'Ann' }, { id: 2, name: 'Bo', skip: undefined }] } as const;
  const a = prepare(cmd);
  assert.is(a.body, 'INSERT INTO `db`.`users` (`id`, `name`) FORMAT JSONEachRow\n{"id":1,"name":"Ann"}\n{"id":2,"name":"Bo"}\n');
  assert.is(prepare(cmd).body, a.body);
  assert.is(prepare({ type: 'insert_to_table', table: 'u', rows: { id: 3 } }).body, 'INSERT INTO `u` (`id`) FORMAT JSONEachRow\n{"id":3}\n');
});

test('insert_to_table :: rows giving different columns become one statement per column set', () => {
  const req = prepare({ type: 'insert_to_table', table: 't', rows: [{ a: 1 }, { a: 2, b: 'x' }, { a: 3, b: undefined }, { 'n.x': [1], 'we`ird': 0 }] });
  assert.equal(req.insert?.groups?.map((g) => [g.columns, g.rows.length]), [['(`a`)', 2], ['(`a`, `b`)', 1], ['(`n.x`, `we\\`ird`)', 1]]);
  assert.is(req.insert?.groups?.[0]?.body, 'INSERT INTO `t` (`a`) FORMAT JSONEachRow\n{"a":1}\n{"a":3}\n');
  assert.is(req.body, req.insert?.groups?.map((g) => g.body).join(''));
  assert.equal(prepare({ type: 'insert_to_table', table: 't', rows: [] }).insert?.groups, []);
  // A row that gives no column is a row of the server's defaults (Pillar stores it too).
  assert.is(prepare({ type: 'insert_to_table', table: 't', rows: [{ a: undefined }, {}] }).body, 'INSERT INTO `t` FORMAT JSONEachRow\n{}\n{}\n');
});

test('insert_to_table :: bad table names and values are refused before anything is sent', () => {
  assert.throws(() => prepare({ type: 'insert_to_table', table: 'x`; DROP', rows: [] }), (e: unknown) => e instanceof QueryParamError && e.param === 'table');
  assert.throws(() => prepare({ type: 'insert_to_table', table: 't', rows: [{ a: NaN }, { a: () => 1 }] }),
    (e: unknown) => e instanceof QueryParamError && e.param === 'rows[1].a' && e.message === 'parameter rows[1].a: a function cannot be inserted');
  // One row is named by its column; a row that is no object, by its place.
  assert.throws(() => prepare({ type: 'insert_to_table', table: 't', rows: [{ a: Symbol('x') }] }), (e: unknown) => e instanceof QueryParamError && e.param === 'a');
  assert.throws(() => prepare({ type: 'insert_to_table', table: 't', rows: [{ a: 1 }, [1] as unknown as Row] }),
    (e: unknown) => e instanceof QueryParamError && e.message === 'parameter rows[1]: expected a plain object keyed by column name');
  // Before: each was taken as a row of its own (enumerable) keys, so as a row of column DEFAULTs.
  for (const row of [new Date(), new Map([['id', 5]]), new Set([1]), new Error('x'), new Uint8Array(2)]) {
    for (const rows of [[{ id: 1 }, row], [row, { id: 1 }]]) {
      assert.throws(() => prepare({ type: 'insert_to_table', table: 't', rows: rows as Row[] }), (e: unknown) => e instanceof QueryParamError && /rows\[[01]\]: expected a plain object/.test(e.message), String(row));
    }
  }
  // A row without a prototype, or an instance of a class whose fields are the columns (a driver's row packet, an ORM entity), is read by its own fields.
  const bare = Object.assign(Object.create(null) as Row, { id: 1 });
  class Entity { constructor(readonly id: number) {} get doubled(): number { return this.id * 2; } }
  assert.is(prepare({ type: 'insert_to_table', table: 't', rows: [bare, new Entity(2) as unknown as Row] }).body, 'INSERT INTO `t` (`id`) FORMAT JSONEachRow\n{"id":1}\n{"id":2}\n');
  // A row whose values are all getters or inherited gives no field of its own: before, it was stored as a row of column DEFAULTs.
  class Getters { readonly #id = 7; get id(): number { return this.#id; } }
  const inherited = Object.create({ id: 9 }) as Row;
  for (const [row, kind] of [[new Getters(), 'a Getters'], [inherited, 'an object']] as const) {
    assert.throws(() => prepare({ type: 'insert_to_table', table: 't', rows: [{ id: 1 }, row as unknown as Row] }),
      (e: unknown) => e instanceof QueryParamError && e.param === 'rows[1]' && e.message === `parameter rows[1]: expected a plain object keyed by column name: ${kind} with no field of its own (getters and inherited fields are not read)`, kind);
  }
  // {} (or fields all undefined, a class's too) asks for the DEFAULTs on purpose.
  class Blank { id: number | undefined = undefined; }
  assert.is(prepare({ type: 'insert_to_table', table: 't', rows: [{}, new Blank() as unknown as Row] }).body, 'INSERT INTO `t` FORMAT JSONEachRow\n{}\n{}\n');
});

test('insertRequest :: grouped like prepare; rows the caller checked are not checked again', () => {
  const rows = [{ a: 1 }, { a: 2, b: 'x' }, { a: 3 }];
  const req = insertRequest('`logs`', rows, true);
  assert.is(req.body, 'INSERT INTO `logs` (`a`) FORMAT JSONEachRow\n{"a":1}\n{"a":3}\nINSERT INTO `logs` (`a`, `b`) FORMAT JSONEachRow\n{"a":2,"b":"x"}\n');
  assert.is(insertRequest('`logs`', rows).body, prepare({ type: 'insert_to_table', table: 'logs', rows }).body);
  assert.throws(() => insertRequest('`logs`', [{ a: () => 1 }]), (e: unknown) => e instanceof QueryParamError && e.param === 'a');
  const unchecked = insertRequest('`logs`', [{ a: () => 1 }], true);
  assert.throws(() => unchecked.body, (e: unknown) => e instanceof QueryParamError && e.param === 'a', 'refused when it is encoded');
});

test('options :: validated, naming the key', () => {
  assert.equal(checkCallOptions({ timeout: 10, settings: { max_threads: 2, x: true }, queryId: 'q', int64: 'bigint' }),
    { timeout: 10, settings: { max_threads: 2, x: true }, queryId: 'q', int64: 'bigint' });
  const bad: [unknown, RegExp][] = [
    [{ timeout: 0 }, /options\.timeout/],
    [{ timeout: Infinity }, /options\.timeout/],
    [{ settings: { 'bad name': 1 } }, /options\.settings\.bad name/],
    [{ settings: { x: null } }, /options\.settings\.x/],
    [{ signal: {} }, /options\.signal/],
    [{ queryId: '' }, /options\.queryId/],
    [{ int64: 'number' }, /options\.int64/],
    [{ maxResultBytes: 0 }, /options\.maxResultBytes/],
    [{ maxResultBytes: 2 ** 40 }, /options\.maxResultBytes/],
    [{ retries: 3 }, /options\.retries: unknown/],
  ];
  for (const [options, why] of bad) {
    assert.throws(() => prepare({ type: 'select', sql: 'SELECT 1', options: options as never }), (e: unknown) => e instanceof ConfigError && why.test(e.message), String(why));
  }
});

test('sql :: an empty statement is refused', () => {
  assert.throws(() => prepare({ type: 'query', sql: '  ' }), (e: unknown) => e instanceof QueryParamError && e.param === 'sql');
});

test.run();
