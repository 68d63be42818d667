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

// Expected instants are what ClickHouse 18.16's toUInt32(toDateTime(text, zone)) answers.
test('dateTime :: around daylight-saving transitions, as the server reads them', () => {
  const cases: [string, string, number][] = [
    ['2020-11-01 02:00:00', 'America/New_York', 1604214000],
    ['2020-11-01 01:30:00', 'America/New_York', 1604208600],
    ['2020-10-04 01:59:59', 'Australia/Lord_Howe', 1601738999],
    ['2020-04-05 01:45:00', 'Australia/Lord_Howe', 1586011500],
    ['2020-10-25 02:30:00', 'Europe/Berlin', 1603585800],
  ];
  for (const [text, zone, seconds] of cases) assert.is(dateTimeFromText(text, zone).getTime() / 1000, seconds, `${text} ${zone}`);
});

test('dateTime :: the zero the server prints for the epoch', () => {
  assert.is(dateTimeFromText('0000-00-00 00:00:00', 'Asia/Tokyo').getTime(), 0);
});

test('dateTime :: bad text and unknown zones throw ProtocolError', () => {
  assert.throws(() => dateTimeFromText('2020-01-01', 'UTC'), (e: unknown) => e instanceof ProtocolError);
  assert.throws(() => dateTimeFromText('2020-01-01 00:00:00', 'Mars/Olympus'), (e: unknown) => e instanceof ProtocolError);
});

test.run();
