import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AbortError, ClickHouseError, ClosedError, ColonnadeError, ConfigError, ProtocolError, QueryParamError, TimeoutError,
  TransportError, findExceptionBlock, findTrailingError, parseServerError, rowRefused,
} from '../../src/clickhouse/errors.js';
import { checkRows } from '../../src/clickhouse/prepare.js';
import { checkStatus } from '../../src/clickhouse/response.js';

const test = suite('errors');

// Real server strings. 18.16.1 (this machine) and newer releases.
const OLD_60 = "Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist., e.what() = DB::Exception\n";
const OLD_27 = 'Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected , before: "1.5"}: (at row 1)\n, e.what() = DB::Exception\n';
const OLD_193 = 'Code: 193, e.displayText() = DB::Exception: Wrong password for user colonnade, e.what() = DB::Exception\n';
const NEW_60 = 'Code: 60. DB::Exception: Table default.nope does not exist. (UNKNOWN_TABLE) (version 23.8.2.7 (official build))\n';
const NEW_62 = "Code: 62. DB::Exception: Syntax error: failed at position 1 ('SELEC'): SELEC 1. Expected one of: Query, SELECT. (SYNTAX_ERROR) (version 22.3.2.2)\n";

test('parse :: the old 18.16 form', () => {
  assert.equal(parseServerError(OLD_60), { serverCode: 60, serverMessage: "Table default.nope doesn't exist." });
  assert.equal(parseServerError(OLD_193), { serverCode: 193, serverMessage: 'Wrong password for user colonnade' });
  const multi = parseServerError(OLD_27);
  assert.is(multi?.serverCode, 27);
  assert.match(multi?.serverMessage ?? '', /^Cannot parse input: expected , before: "1.5"}: \(at row 1\)$/);
});

test('parse :: the new form with the symbolic name and a version with parentheses', () => {
  assert.equal(parseServerError(NEW_60), { serverCode: 60, serverMessage: 'Table default.nope does not exist.', serverName: 'UNKNOWN_TABLE' });
  const syntax = parseServerError(NEW_62);
  assert.is(syntax?.serverCode, 62);
  assert.is(syntax?.serverName, 'SYNTAX_ERROR');
  assert.match(syntax?.serverMessage ?? '', /^Syntax error: failed at position 1/);
});

test('parse :: the X-ClickHouse-Exception-Code header wins and works without a parseable body', () => {
  assert.is(parseServerError(NEW_60, '60')?.serverCode, 60);
  assert.equal(parseServerError('something odd', '241'), { serverCode: 241, serverMessage: 'something odd' });
  assert.is(parseServerError('<html>bad gateway</html>'), undefined);
});

test('trailing :: an exception after streamed rows, old and new forms', () => {
  const oldForm = findTrailingError(`1\t0\n2\t0\nCode: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, e.what() = DB::Exception\n`);
  assert.is(oldForm?.serverCode, 395);
  assert.is(oldForm?.offset, 8);
  assert.is(findTrailingError(`1\n${NEW_60}`)?.serverName, 'UNKNOWN_TABLE');
});

test('trailing :: ordinary rows and mid-line mentions are not errors', () => {
  assert.is(findTrailingError('1\n2\n'), undefined);
  assert.is(findTrailingError('x\tCode: 1, e.displayText() = DB::Exception: no, e.what() = DB::Exception\n'), undefined);
  assert.is(findTrailingError('Code: 1, hello\n'), undefined);
});

test('block :: the tagged block of 25.11+, exact bytes; another tag or a cut block is no error', () => {
  const tag = 'rumfyutuqkncbgau';
  const message = 'Code: 395. DB::Exception: Value passed to \'throwIf\' function is non-zero. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 25.11.1.1)\n';
  const block = `\r\n__exception__\r\n${tag}\r\n${message}${Buffer.byteLength(message)} ${tag}\r\n__exception__\r\n`;
  const found = findExceptionBlock(`0,0\n0,0\n${block}`, tag);
  assert.equal(found, {
    serverCode: 395, serverName: 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO', serverMessage: "Value passed to 'throwIf' function is non-zero.", offset: 8,
  });
  assert.is(findExceptionBlock(`0,0\n${block}`, 'aaaaaaaaaaaaaaaa'), undefined);
  assert.is(findExceptionBlock(`0,0\n${block.slice(0, -2)}`, tag), undefined);
  assert.is(findExceptionBlock('0,0\n', tag), undefined);
});

test('block :: the untagged block of earlier releases', () => {
  const found = findExceptionBlock('1\n2\n__exception__\r\nCode: 159. DB::Exception: Timeout exceeded: elapsed 1.0 seconds, maximum: 1. (TIMEOUT_EXCEEDED) (version 24.12.1.1)\n');
  assert.is(found?.serverCode, 159);
  assert.is(found?.serverName, 'TIMEOUT_EXCEEDED');
  assert.is(found?.offset, 4);
  assert.is(findExceptionBlock('1\n2\n__exception__\r\nnot an exception\n'), undefined);
});

test('classes :: stable codes and fields', () => {
  const ch = new ClickHouseError({ serverCode: 60, serverMessage: 'gone', serverName: 'UNKNOWN_TABLE' }, 404);
  assert.is(ch.code, 'CLICKHOUSE');
  assert.is(ch.name, 'ClickHouseError');
  assert.is(ch.message, 'ClickHouse error 60 (UNKNOWN_TABLE): gone');
  assert.ok(ch instanceof ColonnadeError && ch instanceof Error);
  assert.is(new TransportError('x', false).code, 'TRANSPORT');
  assert.is(new TransportError('x', false).requestSent, false);
  assert.is(new TimeoutError(100, true).code, 'TIMEOUT');
  assert.is(new AbortError('why', false).code, 'ABORTED');
  assert.is(new AbortError('why', false).cause, 'why');
  assert.is(new ConfigError('x').code, 'CONFIG');
  assert.is(new QueryParamError('p', 'x').param, 'p');
  assert.is(new QueryParamError('p', 'x').code, 'QUERY_PARAM');
  assert.is(new ProtocolError('x', 502).code, 'PROTOCOL');
  assert.is(new ClosedError().code, 'CLOSED');
});

test('rows :: a refused row is named by its place; a column called row is still a column; a source gets its note', () => {
  const refusal = (rows: unknown[]): QueryParamError => {
    try {
      checkRows(rows as never);
    } catch (err) {
      return err as QueryParamError;
    }
    throw new Error('not refused');
  };
  const column = refusal([{ a: 1 }, { row: Symbol('x') }]);
  assert.is(column.param, 'rows[1].row');
  assert.is(column.message, 'parameter rows[1].row: a symbol cannot be inserted');
  assert.instance(column.cause, QueryParamError);
  assert.is(refusal([{ a: 1 }, { a: 2 }, 'text']).message, 'parameter rows[2]: expected a plain object keyed by column name');
  assert.is(refusal([{ a: 1 }, { xs: [[1], [2, () => 0]] }]).param, 'rows[1].xs[1][1]');
  assert.is(refusal([{ a: () => 0 }]).param, 'a', 'one row: its column alone');
  const noted = rowRefused(new QueryParamError('name', 'a symbol cannot be inserted'), 7, ' (the insert was cancelled at this row)') as QueryParamError;
  assert.is(noted.message, 'parameter rows[7].name: a symbol cannot be inserted (the insert was cancelled at this row)');
  const other = new TimeoutError(5, false);
  assert.is(rowRefused(other, 1), other, 'this client\'s other errors come back as they are');
  // A getter's own error is the row's: refused by its place, not left to look like the server's failure.
  const own = new Error('getter failed');
  const read = refusal([{ a: 1 }, { get a(): number { throw own; } }]);
  assert.is(read.message, 'parameter rows[1]: reading the row threw: getter failed');
  assert.is(read.cause, own);
  assert.is(refusal([{ get a(): number { throw own; } }]).message, 'parameter rows[0]: reading the row threw: getter failed', 'one row too');
  assert.is((rowRefused('text', 3, ' (cancelled)') as QueryParamError).message, 'parameter rows[3]: reading the row threw: text (cancelled)');
});

test('response :: a 200 answer whose X-ClickHouse-Exception-Code header says it failed is that error, also with the exception bare at the end of the rows', () => {
  const body = '0\n1\nCode: 241. DB::Exception: Memory limit (for query) exceeded: would use 9.31 GiB. (MEMORY_LIMIT_EXCEEDED) (version 24.3.2.23 (official build))\n';
  const err = (() => {
    try {
      return checkStatus({ status: 200, headers: { 'x-clickhouse-exception-code': '241' }, body });
    } catch (e) {
      return e;
    }
  })();
  // Before: the header was not read, and a 22-24 server's failure after rows (no exception tag) came back as the rows.
  assert.instance(err, ClickHouseError);
  assert.is((err as ClickHouseError).serverCode, 241);
  assert.is(checkStatus({ status: 200, headers: {}, body: '0\n1\n' }), '0\n1\n');
});

test.run();
