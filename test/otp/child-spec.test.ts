import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise } from 'xstate';
import { resolveChildren, resolveFlags, resolveSpec } from '../../src/otp/child-spec.js';
import type { OtpError } from '../../src/otp/errors.js';
import { supervisor } from '../../src/otp/supervisor.logic.js';
import type { ChildInput } from '../../src/otp/types.js';

const test = suite('child-spec');
const start = () => createActor(fromPromise(async () => undefined));
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as OtpError).code;
  }
  return 'no error';
};

test("defaults :: a worker is permanent with shutdown 5000, as Elixir's child_spec", () => {
  const spec = resolveSpec({ id: 'w', start });
  assert.equal([spec.restart, spec.shutdown, spec.type], ['permanent', 5000, 'worker']);
});

test("defaults :: a supervisor's shutdown is infinity", () => {
  assert.is(resolveSpec({ id: 's', start, type: 'supervisor' }).shutdown, 'infinity');
  const nested = resolveSpec(supervisor({ id: 'n', children: [] }));
  assert.equal([nested.type, nested.shutdown, nested.restart], ['supervisor', 'infinity', 'permanent']);
});

test('childSpec :: a module with childSpec() resolves to its spec', () => {
  assert.is(resolveSpec({ childSpec: () => ({ id: 'MyClickHouse', start }) }).id, 'MyClickHouse');
});

test('validation :: bad fields and unknown keys are refused with OTP_INVALID_SPEC, naming the key', () => {
  const bad: unknown[] = [
    { start }, { id: 'x' }, { id: 'x', start, restart: 'sometimes' }, { id: 'x', start, shutdown: -1 }, { id: 'x', start, shutdown: 2 ** 31 },
    { id: 'x', start, type: 'daemon' }, { id: 'x', start, stop: 'now' }, { id: 'x', start, restrat: 'temporary' },
  ];
  for (const input of bad) assert.is(code(() => resolveSpec(input as ChildInput)), 'OTP_INVALID_SPEC', JSON.stringify(input));
  try {
    resolveSpec({ id: 'x', start, restrat: 'temporary' } as unknown as ChildInput);
  } catch (error) {
    assert.match((error as Error).message, /restrat/);
  }
});

test('validation :: duplicate ids in one list are refused with OTP_DUPLICATE_CHILD', () => {
  assert.is(code(() => resolveChildren([{ id: 'a', start }, { id: 'a', start }])), 'OTP_DUPLICATE_CHILD');
  assert.is(code(() => supervisor({ id: 's', children: [{ id: 'a', start }, { id: 'a', start }] })), 'OTP_DUPLICATE_CHILD');
});

test('flags :: defaults are one_for_one, 3 restarts in 5000 ms; bad or unknown flags are refused', () => {
  assert.equal(resolveFlags({}, ['strategy']), { strategy: 'one_for_one', intensity: 3, period: 5000 });
  assert.is(code(() => resolveFlags({ intensity: -1 }, ['intensity'])), 'OTP_INVALID_SPEC');
  assert.is(code(() => resolveFlags({ period: 0 }, ['period'])), 'OTP_INVALID_SPEC');
  assert.is(code(() => resolveFlags({ strategy: 'simple_one_for_one' as never }, ['strategy'])), 'OTP_INVALID_SPEC');
  assert.is(code(() => supervisor({ id: 's', children: [], inspect: () => undefined } as never)), 'OTP_INVALID_SPEC');
});

test('validation :: shutdown takes any ms from 0 up to the longest timer, 2^31-1', () => {
  assert.is(resolveSpec({ id: 'w', start, shutdown: 0 }).shutdown, 0);
  assert.is(resolveSpec({ id: 'w', start, shutdown: 2 ** 31 - 1 }).shutdown, 2 ** 31 - 1);
  for (const bad of [-1, 2 ** 31, Number.NaN]) assert.is(code(() => resolveSpec({ id: 'w', start, shutdown: bad })), 'OTP_INVALID_SPEC', String(bad));
});

test.run();
