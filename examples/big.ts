// Big work with a progress bar: two million rows inserted from an async generator (sent as
// they are made, never held whole), then read back with `stream()` while a long aggregate
// runs with `onProgress`. Against the local cluster (`npm run cluster start`):
//   npx tsx examples/big.ts
// or your own server: COLONNADE_URL=http://user:password@host:8123/db npx tsx examples/big.ts
import { definePool, startSupervisor, type Progress, type Row } from '../src/index.js';

const url = process.env.COLONNADE_URL ?? 'http://127.0.0.1:18123/default';
const ROWS = Number(process.env.ROWS ?? 2_000_000);
const table = `colonnade_example_big_${process.pid}`;

const Big = definePool({ connectionStrings: [url], name: 'Big', poolSize: 2, timeout: 60_000 });

/** One line of the terminal, redrawn in place. */
function bar(label: string, done: number, total: number, extra = ''): void {
  const width = 30;
  const part = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(part * width);
  const line = `${label.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(part * 100).toFixed(0).padStart(3)}% ${done.toLocaleString('en-US')} rows ${extra}`;
  process.stdout.write(process.stdout.isTTY ? `\r${line}` : `${line}\n`);
}

async function* events(): AsyncGenerator<Row> {
  for (let id = 0; id < ROWS; id++) {
    // Rows with and without `kind`: the column's DEFAULT fills the others.
    yield id % 4 === 0 ? { id, user: `u${id % 1000}`, amount: id % 97 } : { id, user: `u${id % 1000}`, amount: id % 97, kind: 'sale' };
  }
}

async function main(): Promise<void> {
  const app = await startSupervisor([Big]);
  try {
    await Big.query(`CREATE TABLE ${table} (id UInt64, user String, amount UInt32, kind String DEFAULT 'refund') ENGINE = MergeTree ORDER BY id`);

    let last = 0;
    const started = Date.now();
    const { rows } = await Big.insertToTable(table, events(), {
      onProgress: (p: Progress) => {
        if (p.sentRows - last < ROWS / 50 && p.sentRows !== ROWS) return;
        last = p.sentRows;
        bar('insert', p.sentRows, ROWS);
      },
    });
    bar('insert', rows, ROWS, `in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    let seen = 0;
    let refunds = 0;
    for await (const row of Big.stream(`SELECT id, kind FROM ${table} ORDER BY id`)) {
      if (row.kind === 'refund') refunds++;
      if (++seen % 100_000 === 0) bar('stream', seen, rows);
    }
    bar('stream', seen, rows, `(${refunds.toLocaleString('en-US')} refunds by DEFAULT)\n`);

    const [result] = await Big.select(`SELECT user, sum(amount) AS total FROM ${table} WHERE NOT ignore(sleepEachRow(0.00001)) GROUP BY user ORDER BY total DESC LIMIT 1`, {}, {
      settings: { max_block_size: 20_000 },
      onProgress: (p: Progress) => bar('select', p.readRows, p.totalRowsToRead || rows, `${(p.elapsedMs / 1000).toFixed(1)} s`),
    });
    bar('select', rows, rows, `top user: ${String(result?.user)} with ${String(result?.total)}\n`);
  } finally {
    await Big.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await app.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
