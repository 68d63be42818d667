// Inputs of shapes the benchmark never makes, on which a regex or a string operation was
// super-linear (found by a helper probing each data path at growing sizes). Each case here
// took seconds to minutes before its fix and takes milliseconds now; the time limits leave
// a margin of 10x or more on a slow, shared machine.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findTrailingError, parseServerError } from '../../src/clickhouse/errors.js';
import { prepare } from '../../src/clickhouse/prepare.js';
import { TsvStream } from '../../src/clickhouse/stream-decode.js';

const test = suite('input-shapes');

function timed<T>(work: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = work();
  return { value, ms: performance.now() - t0 };
}

test('query() with a long indent before a statement that writes (was exponential: 28 blanks took 1.1 s, 40 would take hours)', () => {
  const indent = `\n${' '.repeat(30)}\n\t\t  \n${' '.repeat(30)}`;
  const writes = timed(() => prepare({ type: 'query', sql: `${indent}INSERT INTO t VALUES (1)` }).readOnly);
  assert.is(writes.value, false);
  assert.ok(writes.ms < 500, `${writes.ms.toFixed(0)} ms`);
  assert.is(prepare({ type: 'query', sql: `${indent}-- a comment\n  /* and another */ SELECT 1` }).readOnly, true);
});

test('a tail of many lines that start like exceptions, none at the end (was cubic: 16 KB took 9 s)', () => {
  const lines = 'Code: 1. \n'.repeat(1_600);
  const none = timed(() => findTrailingError(`n\nString\n${lines}last row\n`));
  assert.is(none.value, undefined);
  assert.ok(none.ms < 1_000, `${none.ms.toFixed(0)} ms`);
  // One that does end the body is found, at its own line, after the same lines.
  const failure = "Code: 241, e.displayText() = DB::Exception: Memory limit exceeded, e.what() = DB::Exception\n";
  const body = `n\nString\n${lines}${failure}`;
  const found = timed(() => findTrailingError(body));
  assert.equal(found.value && { code: found.value.serverCode, offset: found.value.offset }, { code: 241, offset: body.length - failure.length });
  assert.ok(found.ms < 1_000, `${found.ms.toFixed(0)} ms`);
  // Lines that start like one but are not in either form are passed over.
  assert.is(findTrailingError('Code: 60, x\nCode: 1: y (version 1.1)\n'), undefined);
});

test('an exception text with a long blank run inside it (was quadratic: 64K blanks took 2.1 s)', () => {
  const parsed = timed(() => parseServerError(`Code: 62. DB::Exception: Syntax error near ${' '.repeat(200_000)}x. (SYNTAX_ERROR) (version 24.3.1.1)`));
  assert.is(parsed.value?.serverCode, 62);
  assert.is(parsed.value?.serverName, 'SYNTAX_ERROR');
  assert.ok(parsed.ms < 1_000, `${parsed.ms.toFixed(0)} ms`);
});

test('a select with a long blank run inside a literal, and its trailing semicolons (was quadratic: 128K took 9.8 s)', () => {
  const sql = `SELECT '${' '.repeat(200_000)}x' AS s ;  ; \n`;
  const prepared = timed(() => prepare({ type: 'select', sql }).body);
  assert.ok(prepared.value.endsWith("x' AS s\nFORMAT TabSeparatedWithNamesAndTypes"));
  assert.ok(prepared.ms < 1_000, `${prepared.ms.toFixed(0)} ms`);
  assert.throws(() => prepare({ type: 'select', sql: 'SELECT 1 FORMAT JSON ; ' }), /sets the output format itself/);
});

test('many placeholders with long values (was quadratic: 4,000 of 1,000 characters took 27 s)', () => {
  const names = Array.from({ length: 3_000 }, (_, i) => `p${i}`);
  const params = Object.fromEntries(names.map((n) => [n, 'v'.repeat(1_000)]));
  const rendered = timed(() => prepare({ type: 'query', sql: `SELECT ${names.map((n) => `{${n}}`).join(', ')}`, params }).body);
  assert.is(rendered.value.length, 'SELECT '.length + 3_000 * 1_002 + 2_999 * 2);
  assert.ok(rendered.ms < 2_000, `${rendered.ms.toFixed(0)} ms`);
  // `x -{n}` with a negative n stays a subtraction, not a comment, also after an empty part.
  assert.is(prepare({ type: 'query', sql: 'SELECT 1 -{n}, 2 -{a}{b}', params: { n: -1, a: 'x', b: -2 } }).body, "SELECT 1 - -1, 2 -'x'-2");
});

test('a wide header that arrives in tiny chunks (was quadratic: 32,000 columns in bytes took 342 s)', () => {
  const columns = 16_000;
  const head = Buffer.from(`${Array.from({ length: columns }, (_, i) => `c${i}`).join('\t')}\n${Array(columns).fill('UInt8').join('\t')}\n${Array(columns).fill('1').join('\t')}\n`);
  const decoded = timed(() => {
    const decoder = new TsvStream({ int64: 'auto', serverTimeZone: 'UTC' });
    const rows = [];
    for (let at = 0; at < head.length; at += 7) rows.push(...decoder.push(head.subarray(at, at + 7)));
    return [...rows, ...decoder.end()];
  });
  assert.is(decoded.value.length, 1);
  assert.is(Object.keys(decoded.value[0] as object).length, columns);
  assert.ok(decoded.ms < 3_000, `${decoded.ms.toFixed(0)} ms`);
});

test.run();
