import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtocolError } from '../../src/clickhouse/errors.js';
import { dateTimeFromText } from '../../src/clickhouse/time-zone.js';

const test = suite('time-zone');

test('dateTime :: UTC names need no lookup', () => {
  assert.is(dateTimeFromText('2020-02-29 23:59:59', 'Etc/UTC').toISOString(), '2020-02-29T23:59:59.000Z');
});

test('dateTime :: zones with and without daylight saving', () => {
  assert.is(dateTimeFromText('2020-01-01 09:00:00', 'Asia/Tokyo').toISOString(), '2020-01-01T00:00:00.000Z');
  assert.is(dateTimeFromText('2020-01-15 12:00:00', 'Europe/Berlin').toISOString(), '2020-01-15T11:00:00.000Z');
  assert.is(dateTimeFromText('2020-07-15 12:00:00', 'Europe/Berlin').toISOString(), '2020-07-15T10:00:00.000Z');
  assert.is(dateTimeFromText('2020-03-08 03:30:00', 'America/New_York').toISOString(), '2020-03-08T07:30:00.000Z');
  assert.is(dateTimeFromText('2020-01-01 00:00:00', 'Asia/Kolkata').toISOString(), '2019-12-31T18:30:00.000Z');
});

test('dateTime :: the zero the server prints for the epoch', () => {
  assert.is(dateTimeFromText('0000-00-00 00:00:00', 'Asia/Tokyo').getTime(), 0);
});

test('dateTime :: bad text and unknown zones throw ProtocolError', () => {
  assert.throws(() => dateTimeFromText('2020-01-01', 'UTC'), (e: unknown) => e instanceof ProtocolError);
  assert.throws(() => dateTimeFromText('2020-01-01 00:00:00', 'Mars/Olympus'), (e: unknown) => e instanceof ProtocolError);
});

test.run();
