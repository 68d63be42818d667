import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OtpError } from '../../src/otp/errors.js';
import { register, registered, unregister, whereis } from '../../src/otp/registry.js';

const test = suite('registry');

test('registry :: whereis finds what was registered, any value', () => {
  const pool = { name: 'reg.pool' };
  register('reg.pool', pool);
  assert.is(whereis('reg.pool'), pool);
  assert.ok(registered().includes('reg.pool'));
  assert.ok(unregister('reg.pool'));
  assert.is(whereis('reg.pool'), undefined);
});

test('registry :: a second registration of a taken name is refused with OTP_NAME_TAKEN', () => {
  register('reg.taken', 1);
  try {
    register('reg.taken', 2);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, OtpError);
    assert.is((error as OtpError).code, 'OTP_NAME_TAKEN');
    assert.match((error as OtpError).message, /reg\.taken/);
  }
  assert.is(whereis('reg.taken'), 1);
  unregister('reg.taken');
});

test('registry :: unregister with a value leaves a successor in place', () => {
  register('reg.owner', 'new');
  assert.is(unregister('reg.owner', 'old'), false);
  assert.is(whereis('reg.owner'), 'new');
  assert.is(unregister('reg.owner', 'new'), true);
  assert.is(unregister('reg.owner'), false);
});

test('registry :: an empty name is refused with OTP_INVALID_SPEC', () => {
  assert.throws(() => register('', 1), (e: OtpError) => e.code === 'OTP_INVALID_SPEC');
});

test.run();
