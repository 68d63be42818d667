import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ColonnadeError } from '../../../src/clickhouse/errors.js';
import { MailboxFullError, WriterStoppedError } from '../../../src/pool/writer/errors.js';

const test = suite('writer errors');

test('errors :: stable codes, counts, and ColonnadeError as the base', () => {
  const full = new MailboxFullError(7, 100, 'drop_oldest');
  assert.is(full.code, 'WRITER_MAILBOX_FULL');
  assert.is(full.count, 7);
  assert.is(full.name, 'MailboxFullError');
  assert.is(new WriterStoppedError('x').code, 'WRITER_STOPPED');
  assert.ok(full instanceof ColonnadeError);
  assert.ok(new WriterStoppedError('x') instanceof ColonnadeError);
});

test.run();
