import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeRow, encodeRows } from '../../src/clickhouse/encode.js';
import { QueryParamError } from '../../src/clickhouse/errors.js';

const test = suite('encode');

test('encodeRow :: each value kind', () => {
  const line = encodeRow({
    s: 'a"b\\c\n', n: 1.5, big: 18446744073709551615n, t: true, f: false, z: null, nan: NaN, inf: Infinity, ninf: -Infinity,
    at: new Date('2020-01-01T00:00:00Z'), early: new Date(5_000), arr: [[1], ['x', null]], obj: { k: [1, 'v'] },
  });
  assert.is(line, '{"s":"a\\"b\\\\c\\n","n":1.5,"big":18446744073709551615,"t":1,"f":0,"z":null,"nan":"nan","inf":"inf","ninf":"-inf",'
    + '"at":"1577836800","early":"0000000005","arr":[[1],["x",null]],"obj":"{\\"k\\":[1,\\"v\\"]}"}');
  assert.equal(JSON.parse(line).s, 'a"b\\c\n');
});

test('encodeRow :: undefined keys are left out', () => {
  assert.is(encodeRow({ a: 1, b: undefined, c: 'x' }), '{"a":1,"c":"x"}');
});

test('encodeRow :: decimal columns are written as bare numbers after a check', () => {
  const cols = new Set(['d', 'ds']);
  assert.is(encodeRow({ d: '12345678901234567890.0123456789', ds: ['1.5', '-2'], s: '1.5' }, cols),
    '{"d":12345678901234567890.0123456789,"ds":[1.5,-2],"s":"1.5"}');
  assert.throws(() => encodeRow({ d: '1; DROP' }, cols), (e: unknown) => e instanceof QueryParamError && e.param === 'd');
});

test('encodeRow :: refusals name the column', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ col: 'x\udc00' }, 'col'],
    [{ col: () => 1 }, 'col'],
    [{ col: Symbol('s') }, 'col'],
    [{ col: [1, undefined] }, 'col[1]'],
    [{ col: new Date(NaN) }, 'col'],
    [{ col: new Set([1]) }, 'col'],
  ];
  for (const [row, param] of cases) {
    assert.throws(() => encodeRow(row), (e: unknown) => e instanceof QueryParamError && e.param === param, param);
  }
  const loop: unknown[] = [];
  loop.push(loop);
  assert.throws(() => encodeRow({ loop }), (e: unknown) => e instanceof QueryParamError && /circular/.test(e.message));
  assert.throws(() => encodeRow([] as unknown as Record<string, unknown>), (e: unknown) => e instanceof QueryParamError);
});

test('encodeRows :: one line per row, each ending in a newline', () => {
  assert.is(encodeRows([{ a: 1 }, { a: 2 }]), '{"a":1}\n{"a":2}\n');
  assert.is(encodeRows([]), '');
});

test.run();
