// A direct connection to one ClickHouse server, no pool: what Pillar's `Pillar.Connection`
// does. Run it with `npm run demo` (starts the local cluster), or against any server:
//   COLONNADE_URLS=http://user:password@host:8123/db npx tsx examples/direct.ts
import { inspect } from 'node:util';
import { ClickHouseError, connect } from '../src/index.js';

const url = (process.env.COLONNADE_URLS ?? 'http://127.0.0.1:18123/default').split(',')[0]?.trim() as string;
const conn = connect(url, { timeout: 5_000 });
console.log(`connected to ${conn.server.redacted}`);

try {
  await conn.ping();
  console.log('ping: Ok.');

  await conn.query('DROP TABLE IF EXISTS colonnade_demo_users');
  const created = await conn.query('CREATE TABLE colonnade_demo_users (id UInt64, name String, lastname String, signed_up DateTime DEFAULT now()) ENGINE = Memory');
  console.log(`query (CREATE TABLE) answered ${JSON.stringify(created)}`);

  await conn.insert('INSERT INTO colonnade_demo_users (id, name, lastname) VALUES ({id}, {name}, {lastname})',
    { id: 1, name: "O'Neil \\ the first", lastname: 'Smith' });
  await conn.insertToTable('colonnade_demo_users', [
    { id: 2, name: 'Ann', lastname: 'Smith', signed_up: new Date('2024-02-29T12:00:00Z') },
    { id: 18446744073709551615n, name: 'Bo', lastname: 'Jones' },
  ]);
  console.log('insert and insertToTable: 3 rows written');

  const smiths = await conn.select('SELECT id, name, signed_up FROM colonnade_demo_users WHERE lastname = {lastname} ORDER BY id', { lastname: 'Smith' });
  console.log('select WHERE lastname = {lastname} with lastname = Smith:');
  for (const row of smiths) console.log(`  ${inspect(row, { breakLength: Infinity })}`);

  const [big] = await conn.select('SELECT id FROM colonnade_demo_users WHERE name = {name}', { name: 'Bo' });
  console.log(`a UInt64 beyond 2^53 comes back exact: ${String(big?.id)} (${typeof big?.id})`);

  try {
    await conn.select('SELECT * FROM colonnade_no_such_table');
  } catch (err) {
    if (err instanceof ClickHouseError) console.log(`a missing table: ${err.code} serverCode=${err.serverCode}: ${err.serverMessage}`);
    else throw err;
  }
  await conn.query('DROP TABLE colonnade_demo_users');
} finally {
  await conn.close();
  console.log('closed');
}
