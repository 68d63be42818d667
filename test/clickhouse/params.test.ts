import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { prepare } from '../../src/clickhouse/prepare.js';
import { formatLiteral, quoteIdentifier, quoteString, renderQuery, renderTemplate } from '../../src/clickhouse/params.js';

const test = suite('params');

test('render :: each value kind becomes its ClickHouse literal', () => {
  const sql = renderQuery('SELECT {s}, {n}, {f}, {b}, {t}, {f0}, {z}, {d}, {a}, {o}', {
    s: 'Smith', n: 42, f: -1.5, b: 12345678901234567890n, t: true, f0: false, z: null,
    d: new Date('2020-01-01T00:00:00.999Z'), a: [[1, 2], ['x', null]], o: { k: "it's", n: [1] },
  });
  assert.is(sql, `SELECT 'Smith', 42, -1.5, 12345678901234567890, 1, 0, NULL, toDateTime(1577836800), [[1,2],['x',NULL]], '{"k":"it\\'s","n":[1]}'`);
});

test('render :: quotes, backslashes, NUL and control characters are escaped', () => {
  assert.is(quoteString("a'b"), "'a\\'b'");
  assert.is(quoteString('ends with \\'), "'ends with \\\\'");
  assert.is(quoteString('\0\b\f\n\r\t\x01\x7f'), "'\\0\\b\\f\\n\\r\\t\\x01\\x7f'");
  assert.is(quoteString('héllo 😀'), "'héllo 😀'");
});

test('render :: a value ending in a backslash cannot break out of its literal', () => {
  const sql = renderQuery('SELECT * FROM t WHERE a = {a} AND b = {b}', { a: 'x\\', b: ' OR 1=1 --' });
  assert.is(sql, "SELECT * FROM t WHERE a = 'x\\\\' AND b = ' OR 1=1 --'");
});

test('render :: typed placeholders, string literals and comments are left alone', () => {
  const sql = renderQuery("SELECT {x:UInt8}, '{x}', `{x}`, \"{x}\" -- {x}\n/* {x} */, {x}", { x: 1 });
  assert.is(sql, "SELECT {x:UInt8}, '{x}', `{x}`, \"{x}\" -- {x}\n/* {x} */, 1");
});

test('render :: nested /* */ comments (as ClickHouse reads them) are left alone; a URL\'s // in inline data is no comment', () => {
  // Before: the comment ended at the first `*/`, and `{z}` after it was taken for a placeholder.
  assert.is(renderQuery('SELECT {x} /* a /* {y} */ {z} */, {x}', { x: 1 }), 'SELECT 1 /* a /* {y} */ {z} */, 1');
  // `//`, `# ` are comments to the server in SQL, but placeholders are looked for in a statement's inline rows too.
  assert.is(renderQuery('INSERT INTO t FORMAT TSV\nhttps://example.com/a\t{x}\n', { x: 2 }), 'INSERT INTO t FORMAT TSV\nhttps://example.com/a\t2\n');
});

test('render :: params that are no plain object are refused as such (before: "no value was given" for {x}, or silently ignored)', () => {
  for (const params of ['str', 42, [1], new Map([['x', 1]]), 0, null]) {
    assert.throws(() => renderTemplate('SELECT {x}', params as never), /parameter params: expected a plain object/, String(params));
    assert.throws(() => renderTemplate('SELECT 1', params as never), /parameter params: expected a plain object/, String(params));
  }
  class Params { constructor(readonly x: number) {} }
  assert.is(renderTemplate('SELECT {x}', new Params(4) as never).sql, 'SELECT 4');
  assert.is(renderTemplate('SELECT {x}', Object.assign(Object.create(null), { x: 1 })).sql, 'SELECT 1');
});

test('render :: options given in the params\' place, to SQL without placeholders, are refused as such (before: silently ignored)', () => {
  assert.throws(() => renderTemplate('SELECT 1', { timeout: 1 } as never), /parameter params: timeout is an option, and the SQL has no placeholder: pass options as the third argument/);
  assert.throws(() => renderTemplate('SELECT 1', { settings: {}, queryId: 'q' } as never), /settings, queryId are options/);
  // A placeholder of that name, or a key that is no option: params as ever.
  assert.is(renderTemplate('SELECT {timeout}', { timeout: 1 }).sql, 'SELECT 1');
  assert.is(renderTemplate('SELECT 1', { timeout: 1, x: 2 }).sql, 'SELECT 1');
});

test('render :: escaped quotes inside a SQL literal do not end it', () => {
  assert.is(renderQuery("SELECT 'a\\'{x}', {x}", { x: 2 }), "SELECT 'a\\'{x}', 2");
  assert.is(renderQuery("SELECT 'a''{x}', {x}", { x: 2 }), "SELECT 'a''{x}', 2");
});

test('render :: a negative number after a minus does not become a comment', () => {
  assert.is(renderQuery('SELECT 1 -{n}', { n: -1 }), 'SELECT 1 - -1');
});

test('render :: SQL without placeholders passes through unchanged', () => {
  assert.is(renderQuery('SELECT {}'), 'SELECT {}');
  assert.is(renderQuery('SELECT 1', { unused: 1 }), 'SELECT 1');
});

const refused: [string, unknown, RegExp][] = [
  ['nan', NaN, /NaN/],
  ['inf', Infinity, /Infinity/],
  ['undef', undefined, /undefined/],
  ['fn', () => 1, /function/],
  ['sym', Symbol('x'), /symbol/],
  ['lone', 'a\ud800b', /surrogate/],
  ['badDate', new Date('nope'), /invalid/],
  ['oldDate', new Date('1960-01-01'), /outside DateTime/],
  ['map', new Map(), /class Map/],
  ['deep', [1, [2, NaN]], /NaN/],
];
for (const [name, value, why] of refused) {
  test(`render :: refuses ${name} naming the parameter`, () => {
    try {
      renderQuery(`SELECT {${name}}`, { [name]: value });
      assert.unreachable('should throw');
    } catch (err) {
      assert.instance(err, QueryParamError);
      assert.is((err as QueryParamError).code, 'QUERY_PARAM');
      assert.ok((err as QueryParamError).param.startsWith(name));
      assert.match((err as Error).message, why);
    }
  });
}

test('render :: refuses circular arrays and objects', () => {
  const a: unknown[] = [1];
  a.push(a);
  const o: Record<string, unknown> = {};
  o.self = o;
  assert.throws(() => renderQuery('SELECT {a}', { a }), (e: unknown) => e instanceof QueryParamError && /circular/.test(e.message));
  assert.throws(() => renderQuery('SELECT {o}', { o }), (e: unknown) => e instanceof QueryParamError && /circular/.test(e.message));
});

test('render :: values nested deeper than 512 levels are refused naming the parameter (arrays, objects, typed or not), a shared object is no cycle', () => {
  const deep = (depth: number, wrap: (v: unknown) => unknown): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = wrap(v);
    return v;
  };
  const nested = (e: unknown): boolean => e instanceof QueryParamError && e.param.startsWith('x') && /nested deeper than 512 levels/.test(e.message);
  for (const wrap of [(v: unknown) => [v], (v: unknown) => ({ a: v })]) {
    assert.not.throws(() => prepare({ type: 'query', sql: 'SELECT {x}', params: { x: deep(500, wrap) } }));
    assert.throws(() => prepare({ type: 'query', sql: 'SELECT {x}', params: { x: deep(5_000, wrap) } }), nested);
  }
  assert.throws(() => prepare({ type: 'query', sql: 'SELECT {x:String}', params: { x: deep(5_000, (v) => ({ a: v })) } }), nested);
  assert.throws(() => prepare({ type: 'query', sql: 'SELECT {x:Array(Array(UInt8))}', params: { x: deep(5_000, (v) => [v]) } }), (e: unknown) => e instanceof QueryParamError && e.param.startsWith('x'));
  // What toJSON gives is what JSON.stringify writes: a tree without its back links, a long list as an array.
  const root: Record<string, unknown> = { id: 1, kids: [] as unknown[] };
  const kid = { id: 2, parent: root, toJSON: () => ({ id: 2 }) };
  (root.kids as unknown[]).push(kid);
  assert.is(prepare({ type: 'query', sql: 'SELECT {x}', params: { x: root } }).body, `SELECT '{"id":1,"kids":[{"id":2}]}'`);
  let list: Record<string, unknown> | null = null;
  for (let i = 0; i < 600; i++) list = { v: i, next: list, toJSON(this: { v: number }) { return [this.v]; } };
  assert.not.throws(() => prepare({ type: 'query', sql: 'SELECT {x}', params: { x: { list } } }));
  const shared = { k: 1 };
  assert.not.throws(() => prepare({ type: 'query', sql: 'SELECT {x}', params: { x: { a: shared, b: shared } } }));
  const o: Record<string, unknown> = { inner: {} };
  (o.inner as Record<string, unknown>).back = o;
  assert.throws(() => prepare({ type: 'query', sql: 'SELECT {x}', params: { x: o } }), (e: unknown) => e instanceof QueryParamError && /circular/.test(e.message));
});

test('render :: a placeholder without a value is refused, also with no params at all', () => {
  assert.throws(() => renderQuery('SELECT {missing}', { other: 1 }), (e: unknown) => e instanceof QueryParamError && e.param === 'missing');
  assert.throws(() => renderQuery('SELECT {missing}'), (e: unknown) => e instanceof QueryParamError && e.param === 'missing');
});

test('render :: the nesting bound is exact: a value inside 512 arrays passes, inside 513 it is refused', () => {
  const deep = (depth: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  };
  assert.is(renderQuery('SELECT {x}', { x: deep(512) }), `SELECT ${'['.repeat(512)}1${']'.repeat(512)}`);
  assert.throws(() => renderQuery('SELECT {x}', { x: deep(513) }), (e: unknown) => e instanceof QueryParamError && /nested deeper than 512 levels/.test(e.message));
});

test('render :: a placeholder named like an Object.prototype member without a value is refused as such', () => {
  for (const name of ['constructor', '__proto__', 'toString']) {
    assert.throws(() => renderQuery(`SELECT {${name}}`, {}), (e: unknown) => e instanceof QueryParamError && e.param === name && /no value was given/.test(e.message), name);
  }
});

test('render :: a Date up to the last second a DateTime holds (2106-02-07T06:28:15Z) is sent; the next one is refused', () => {
  assert.is(renderQuery('SELECT {d}', { d: new Date('2106-02-07T06:28:15.999Z') }), 'SELECT toDateTime(4294967295)');
  assert.throws(() => renderQuery('SELECT {d}', { d: new Date('2106-02-07T06:28:16Z') }), (e: unknown) => e instanceof QueryParamError && e.param === 'd' && /outside DateTime's range/.test(e.message));
});

test('render :: the nested element is named in the error', () => {
  try {
    formatLiteral([1, [2, undefined]], 'xs');
    assert.unreachable();
  } catch (err) {
    assert.is((err as QueryParamError).param, 'xs[1][1]');
  }
});

test('template :: typed placeholders are listed with their types, both forms in one query', () => {
  const r = renderTemplate("SELECT {a}, {n:UInt32}, {d : DateTime64(3, 'Asia/Tokyo')}, {e:Enum8('}' = 1)}, {m:Map(String,\n Array(UInt8))}, {n:UInt32}", { a: 'x' });
  assert.is(r.sql, "SELECT 'x', {n:UInt32}, {d : DateTime64(3, 'Asia/Tokyo')}, {e:Enum8('}' = 1)}, {m:Map(String,\n Array(UInt8))}, {n:UInt32}");
  assert.equal(r.typed, [
    { name: 'n', type: 'UInt32' }, { name: 'd', type: "DateTime64(3, 'Asia/Tokyo')" }, { name: 'e', type: "Enum8('}' = 1)" },
    { name: 'm', type: 'Map(String,\n Array(UInt8))' }, { name: 'n', type: 'UInt32' },
  ]);
});

test('template :: typed placeholders in string literals, quoted names and comments are not listed', () => {
  const r = renderTemplate("SELECT '{x:UInt8}', `{x:UInt8}`, \"{x:UInt8}\" -- {x:UInt8}\n/* {x:UInt8} */, {y:String}");
  assert.equal(r.typed, [{ name: 'y', type: 'String' }]);
});

test('template :: what is no typed placeholder is left to the server', () => {
  for (const sql of ['SELECT {x:}', "SELECT {'a':1}", 'SELECT {x:UInt8', 'SELECT {x:Array(UInt8}', 'SELECT {x;y}', 'SELECT {}']) {
    assert.equal(renderTemplate(sql).typed, [], sql);
  }
});

test('template :: a text without placeholders gives the same answer object every time (nothing made per call)', () => {
  const sql = `SELECT 1 AS hot_${Date.now()}`;
  const a = renderTemplate(sql);
  assert.is(a.sql, sql);
  assert.equal(a.typed, []);
  assert.is(renderTemplate(sql), a);
});

test('identifier :: quotes names and refuses dangerous ones', () => {
  assert.is(quoteIdentifier('users'), '`users`');
  assert.is(quoteIdentifier('db.users'), '`db`.`users`');
  for (const bad of ['', 'a`b', 'a\\b', 'a.b.c', 'x\n', '.x']) {
    assert.throws(() => quoteIdentifier(bad), (e: unknown) => e instanceof QueryParamError);
  }
});

test.run();
