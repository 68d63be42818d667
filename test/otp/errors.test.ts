import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OtpError, describeCause } from '../../src/otp/errors.js';

const test = suite('errors');

test('OtpError :: carries a stable code, the child and the cause', () => {
  const cause = new Error('econnrefused');
  const error = new OtpError('OTP_START_FAILED', "child 'db' failed to start: econnrefused", { cause, childId: 'db' });
  assert.instance(error, Error);
  assert.is(error.code, 'OTP_START_FAILED');
  assert.is(error.childId, 'db');
  assert.is(error.cause, cause);
  assert.is(error.name, 'OtpError');
});

test('describeCause :: errors, strings and other values', () => {
  assert.is(describeCause(new Error('boom')), 'boom');
  assert.is(describeCause('plain'), 'plain');
  assert.is(describeCause(42), '42');
});

test.run();
