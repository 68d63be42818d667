import { BoundedCache } from './bounded-cache.js';
import { ProtocolError } from './errors.js';

const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'UCT', 'Etc/UCT', 'Universal', 'Etc/Universal', 'Zulu', 'Etc/Zulu', 'GMT0', 'Etc/GMT0']);
const BUCKET_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
const BUCKETS_PER_DAY = DAY_MS / BUCKET_MS;
// About 220 years of days per zone (about 3 MB) before its cache starts again.
const CACHE_DAYS = 80_000;

/** A UTC day in which the zone's offset changes: `before` until the 15-minute bucket `at`, `after` from it. */
interface Change {
  readonly at: number;
  readonly before: number;
  readonly after: number;
}
interface Zone {
  readonly format: Intl.DateTimeFormat;
  // Per UTC day: the day's one offset, or where in the day it changed.
  readonly days: Map<number, number | Change>;
}
// Names the servers report; each zone keeps at most CACHE_DAYS days.
const zones = new BoundedCache<Zone>({ maxEntries: 32, maxKeyLength: 256, maxChars: 8 * 1024 });

/**
 * The instant a ClickHouse `DateTime` text (`YYYY-MM-DD hh:mm:ss`) names in a time zone.
 * The server prints the epoch itself as `0000-00-00 00:00:00`. In the hour a clock is
 * set back, the earlier of the two instants is chosen (the text alone cannot tell).
 *
 * @example
 * dateTimeFromText('2020-01-01 09:00:00', 'Asia/Tokyo').toISOString(); // '2020-01-01T00:00:00.000Z'
 */
export function dateTimeFromText(text: string, timeZone: string): Date {
  return instantOf(text, timeZone, UTC_NAMES.has(timeZone));
}

/**
 * `dateTimeFromText` for one column's zone: whether the zone is UTC is settled once, not per value.
 *
 * @example
 * const read = dateTimeReader('UTC');
 * read('2020-01-01 00:00:00').getTime(); // 1577836800000
 */
export function dateTimeReader(timeZone: string): (text: string) => Date {
  const utc = UTC_NAMES.has(timeZone);
  return (text) => instantOf(text, timeZone, utc);
}

function instantOf(text: string, timeZone: string, utc: boolean): Date {
  if (text.length !== 19) throw new ProtocolError(`cannot read DateTime ${JSON.stringify(text)}`, 200);
  if (text.startsWith('0000-00-00')) return new Date(0);
  const wall = wallMs(num(text, 0, 4), num(text, 5, 7), num(text, 8, 10), num(text, 11, 13), num(text, 14, 16), num(text, 17, 19));
  if (Number.isNaN(wall)) throw new ProtocolError(`cannot read DateTime ${JSON.stringify(text)}`, 200);
  if (utc) return new Date(wall);
  // Offsets a day either side bracket any transition near this wall time (zones change
  // offset at most once a day). Equal: no transition, the common case.
  const before = offsetAt(timeZone, wall - DAY_MS);
  const after = offsetAt(timeZone, wall + DAY_MS);
  if (before === after) return new Date(wall - before);
  const early = wall - Math.max(before, after);
  const late = wall - Math.min(before, after);
  const earlyFits = offsetAt(timeZone, early) === Math.max(before, after);
  const lateFits = offsetAt(timeZone, late) === Math.min(before, after);
  if (earlyFits) return new Date(early);
  if (lateFits) return new Date(late);
  // A wall time inside a gap never comes from the server; read it with the old offset.
  return new Date(wall - before);
}

/**
 * Milliseconds the zone's wall clock is ahead of UTC at an instant (at the start of its
 * 15-minute bucket). Offsets are kept per UTC day: a day whose start and end have the same
 * offset has that one offset (zones change offset at most once a day); in a day where they
 * differ, the bucket where it changed is found by bisection. Values spread over decades
 * thus cost a few lookups per day they fall on, not two per value.
 */
function offsetAt(timeZone: string, instant: number): number {
  const zone = zoneFor(timeZone);
  const bucket = Math.floor(instant / BUCKET_MS);
  const day = Math.floor(bucket / BUCKETS_PER_DAY);
  let known = zone.days.get(day);
  if (known === undefined) {
    known = dayOffsets(zone.format, day);
    if (zone.days.size >= CACHE_DAYS) zone.days.clear();
    zone.days.set(day, known);
  }
  if (typeof known === 'number') return known;
  return bucket < known.at ? known.before : known.after;
}

function dayOffsets(format: Intl.DateTimeFormat, day: number): number | Change {
  let low = day * BUCKETS_PER_DAY;
  let high = low + BUCKETS_PER_DAY;
  const before = bucketOffset(format, low);
  const after = bucketOffset(format, high);
  if (before === after) return before;
  // The first bucket with the day's later offset: `low` has the earlier one, `high` the later.
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (bucketOffset(format, mid) === before) low = mid;
    else high = mid;
  }
  return { at: high, before, after };
}

function bucketOffset(format: Intl.DateTimeFormat, bucket: number): number {
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  for (const part of format.formatToParts(bucket * BUCKET_MS)) {
    const v = Number(part.value);
    if (part.type === 'year') y = v;
    else if (part.type === 'month') mo = v;
    else if (part.type === 'day') d = v;
    else if (part.type === 'hour') h = v % 24;
    else if (part.type === 'minute') mi = v;
    else if (part.type === 'second') s = v;
  }
  return Date.UTC(y, mo - 1, d, h, mi, s) - bucket * BUCKET_MS;
}

function zoneFor(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (!zone) {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
        hour: 'numeric', minute: 'numeric', second: 'numeric', era: undefined,
      });
    } catch {
      throw new ProtocolError(`unknown time zone ${JSON.stringify(timeZone)} reported by the server`, 200);
    }
    zone = { format, days: new Map() };
    zones.set(timeZone, zone);
  }
  return zone;
}

/**
 * Milliseconds since the epoch of a UTC wall time (month 1-12), NaN when a part is NaN.
 * Integer arithmetic for the calendar (days from the civil date, as in H. Hinnant's
 * algorithm): no call into the runtime per value, as `Date.UTC` makes. Parts out of their
 * ranges go to `Date.UTC`, which rolls them over, and so do years 0-99, which it reads as
 * 1900-1999 (ClickHouse prints neither).
 */
function wallMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  if (!(y >= 100 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 60)) return Date.UTC(y, mo - 1, d, h, mi, s);
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1;
  const days = era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
  return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000;
}

function num(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}
