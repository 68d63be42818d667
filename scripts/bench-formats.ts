// What each insert format costs the server: one million rows of the big-work benchmark's 8
// columns, made by the server itself in JSONEachRow, TabSeparated and RowBinary (and
// RowBinaryWithNamesAndTypes where the server reads it), each POSTed back into a MergeTree
// table as a prebuilt body, in interleaved rounds: the wall time of each insert (the server
// parsing and writing; the client only hands over bytes) and the body's size. This is why
// colonnade sends a big array to a server before 22.1 as TabSeparated rather than JSONEachRow.
// Run: npm run bench:formats [-- --rounds=3 --engine=modern]
// It starts the local cluster if it is not running, and stops it again at the end.
import { benchSession, joinFlags } from './bench/session.js';
import { BIG_COLUMNS } from './bench/big-worker.js';

const args = new Map(joinFlags(process.argv.slice(2)).map((a) => {
  const m = /^--([a-z]+)=(.*)$/.exec(a);
  if (!m || !['rounds', 'engine'].includes(m[1]!)) throw new Error(`bench-formats: unknown argument ${a} (flags: --rounds=3 --engine=modern)`);
  return [m[1]!, m[2]!] as const;
}));
const rounds = Number(args.get('rounds') ?? 3);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new Error(`bench-formats: --rounds must be an integer in 1..9, got ${args.get('rounds')}`);
const engine = args.get('engine') ?? '18.16';
if (engine !== '18.16' && engine !== 'modern') throw new Error(`bench-formats: --engine takes 18.16 or modern, got ${engine}`);

// The same rows as bench-big's source table, each column cast to its type (RowBinary bytes must be the table's).
const SOURCE = `SELECT toUInt64(number) AS u64, toInt32(toInt32(number % 100000) - 50000) AS i32, toFloat64(number / 3) AS f64, concat('name-', toString(number)) AS s,
  toDateTime(1600000000 + number) AS dt, CAST(if(number % 5 = 0, NULL, toString(number % 1000)) AS Nullable(String)) AS ns,
  [toUInt32(number % 10), toUInt32(number % 7)] AS arr, CAST(['a', 'b', 'c'][number % 3 + 1] AS Enum8('a' = 1, 'b' = 2, 'c' = 3)) AS e FROM numbers(1000000)`;

await benchSession(engine, async ({ urls }) => {
  const origin = new URL(urls[0]!).origin;
  const post = async (query: string, body?: Buffer): Promise<Buffer> => {
    const res = await fetch(`${origin}/?query=${encodeURIComponent(query)}`, { method: 'POST', body: body ?? '' });
    const out = Buffer.from(await res.arrayBuffer());
    if (!res.ok) throw new Error(`${query.slice(0, 60)}: HTTP ${res.status} ${out.toString().slice(0, 300)}`);
    return out;
  };
  const version = (await post('SELECT version()')).toString().trim();
  const formats = ['JSONEachRow', 'TabSeparated', 'RowBinary', ...(Number(version.split('.')[0]) >= 22 ? ['RowBinaryWithNamesAndTypes'] : [])];
  const table = `bench_formats_${process.pid}`;
  await post(`CREATE TABLE ${table} (${BIG_COLUMNS}) ENGINE = MergeTree ORDER BY u64`);
  try {
    const bodies = new Map<string, Buffer>();
    for (const f of formats) bodies.set(f, await post(`${SOURCE} FORMAT ${f}`));
    const times = new Map<string, number[]>(formats.map((f) => [f, []]));
    for (let round = 0; round < rounds; round++) {
      for (const f of formats.map((_, i) => formats[(i + round) % formats.length]!)) {
        const t0 = performance.now();
        await post(`INSERT INTO ${table} (u64, i32, f64, s, dt, ns, arr, e) FORMAT ${f}`, bodies.get(f));
        times.get(f)!.push((performance.now() - t0) / 1000);
        const count = (await post(`SELECT count(), sum(u64) FROM ${table} FORMAT TSV`)).toString().trim();
        if (count !== '1000000\t499999500000') throw new Error(`${f}: the table holds ${count}, not the million rows`);
        await post(`TRUNCATE TABLE ${table}`);
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const json = median(times.get('JSONEachRow')!);
    console.log(`\nClickHouse ${version}: the server's insert of 1,000,000 rows of 8 columns from a prebuilt body, median of ${rounds} interleaved rounds\n`);
    console.log('| format | body MB | insert wall s | / JSONEachRow |');
    console.log('|---|---|---|---|');
    for (const f of formats) console.log(`| ${f} | ${(bodies.get(f)!.length / 1e6).toFixed(1)} | ${median(times.get(f)!).toFixed(2)} | ${(median(times.get(f)!) / json).toFixed(2)} |`);
  } finally {
    await post(`DROP TABLE IF EXISTS ${table}`);
  }
});
