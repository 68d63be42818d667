// An array insert whose rows leave out different fields, so that each omitted column takes
// its DEFAULT: every row gives its own set of 17 optional columns. Side by side in one run:
// `insertToTable(table, rows)` as it is (one statement on a server where an omitted field
// takes its DEFAULT, 20.1+), and the way every server got such rows before: one statement per
// column set (here every row is a set of its own: one `insertToTable` per row, for the first
// --per-set rows only, since that way costs a request per row). Rows/s and client CPU per
// row; both tables counted after.
// Run: node --import tsx scripts/bench/mixed-columns.ts [--engine=modern|18.16] [--rows=80000] [--per-set=2000]
import { benchSession, joinFlags } from './session.js';
import { loadColonnade } from './bundle.js';

const flags = Object.fromEntries(joinFlags(process.argv.slice(2)).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const engine = flags.engine === '18.16' ? '18.16' : 'modern';
const rowsWanted = Number(flags.rows ?? 80_000);
const perSetRows = Number(flags['per-set'] ?? 2_000);
const OPTIONAL = Array.from({ length: 17 }, (_, k) => `o${k}`);

// Row i gives the optional columns whose bit is set in i: no two of the first 131,072 rows give the same set.
const rowOf = (i: number): Record<string, number> => Object.fromEntries([['id', i], ...OPTIONAL.filter((_o, k) => (i >> k) & 1).map((o) => [o, 1])]);

await benchSession(engine, async ({ urls, colonnade }) => {
  const { connect } = await loadColonnade(colonnade);
  const conn = connect(urls[0] as string, { timeout: 600_000 });
  const version = (await conn.query('SELECT version() FORMAT TSV')).trim();
  console.log(`ClickHouse ${version}; ${rowsWanted.toLocaleString('en-US')} rows, each with its own set of ${OPTIONAL.length} optional columns`);
  const line = (label: string, rows: number, run: () => Promise<unknown>) => async (): Promise<void> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    console.log(`${label.padEnd(44)} ${rows.toLocaleString('en-US').padStart(7)} rows  ${(ms / 1000).toFixed(2).padStart(7)} s  ${Math.round(rows / (ms / 1000)).toLocaleString('en-US').padStart(9)} rows/s  ${((c.user + c.system) / rows).toFixed(1).padStart(7)} us CPU/row`);
  };
  const tables = [`bench_mixed_one_${process.pid}`, `bench_mixed_sets_${process.pid}`] as const;
  try {
    for (const table of tables) {
      await conn.query(`CREATE TABLE ${table} (id UInt32, ${OPTIONAL.map((o, k) => `${o} UInt32 DEFAULT id + ${k}`).join(', ')}) ENGINE = MergeTree ORDER BY id`);
    }
    const rows = Array.from({ length: rowsWanted }, (_, i) => rowOf(i));
    await line('insertToTable(rows)', rows.length, () => conn.insertToTable(tables[0], rows))();
    const some = rows.slice(0, perSetRows);
    await line('one statement per column set (before)', some.length, async () => {
      for (const row of some) await conn.insertToTable(tables[1], [row]);
    })();
    for (const [table, want] of [[tables[0], rows.length], [tables[1], some.length]] as const) {
      const stored = Number(await conn.query(`SELECT count() FROM ${table} WHERE o16 = id + 16 OR o16 = 1 FORMAT TSV`));
      console.log(`${table}: ${stored.toLocaleString('en-US')} rows stored${stored === want ? '' : ` (expected ${want})`}`);
    }
  } finally {
    for (const table of tables) await conn.query(`DROP TABLE IF EXISTS ${table}`);
    await conn.close();
  }
});
