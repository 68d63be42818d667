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

test('dateTime :: every day from 1900 to 2299 (leap days, century years) reads as Date.UTC reads it; out-of-range parts roll over as there', () => {
  const pad = (x: number, w = 2): string => String(x).padStart(w, '0');
  let days = 0;
  // A day and 1h 2m 3s apart: every calendar day, and the clock moves through its hours.
  for (let t = Date.UTC(1900, 0, 1); t < Date.UTC(2300, 0, 1); t += 86_400_000 + 3_723_000, days++) {
    const d = new Date(t);
    const text = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    if (dateTimeFromText(text, 'UTC').getTime() !== t) assert.unreachable(`${text} read as ${dateTimeFromText(text, 'UTC').toISOString()}`);
  }
  assert.ok(days > 140_000);
  assert.is(dateTimeFromText('2021-02-29 00:00:00', 'UTC').getTime(), Date.UTC(2021, 1, 29));
  assert.is(dateTimeFromText('2020-13-01 00:00:00', 'UTC').getTime(), Date.UTC(2020, 12, 1));
  assert.is(dateTimeFromText('2020-01-01 24:00:00', 'UTC').getTime(), Date.UTC(2020, 0, 1, 24));
  assert.is(dateTimeFromText('2020-15-40 25:61:61', 'UTC').getTime(), Date.UTC(2020, 14, 40, 25, 61, 61));
  assert.is(dateTimeFromText('0050-06-01 00:00:00', 'UTC').getTime(), Date.UTC(50, 5, 1), 'years 0-99 as Date.UTC reads them');
});

test('dateTime :: the zero the server prints for the epoch', () => {
  assert.is(dateTimeFromText('0000-00-00 00:00:00', 'Asia/Tokyo').getTime(), 0);
});

test('dateTime :: bad text and unknown zones throw ProtocolError', () => {
  assert.throws(() => dateTimeFromText('2020-01-01', 'UTC'), (e: unknown) => e instanceof ProtocolError);
  assert.throws(() => dateTimeFromText('2020-01-01 00:00:00', 'Mars/Olympus'), (e: unknown) => e instanceof ProtocolError);
});

test.run();
