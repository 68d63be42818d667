// Watching the pool run: a pool and the observer under one supervisor, a small load of
// selects and async inserts, and the observer's URL printed: open it in a browser for the
// live page (tree, servers, broker, writer, a chart of queries/s), or scrape /metrics.
// It runs for RUN_SECONDS (default 60; 0 keeps it running until Ctrl-C), then stops.
// Run: npx tsx examples/observer.ts   (COLONNADE_URLS as for the quickstart; OBSERVER_PORT, default 9464, 0 for any free port)
import { definePool, observer, startSupervisor } from '../src/index.js';

const urls = (process.env.COLONNADE_URLS ?? 'http://127.0.0.1:18123/default,http://127.0.0.1:18124/default,http://127.0.0.1:18125/default')
  .split(',').map((url) => url.trim()).filter((url) => url !== '');
const onCluster = urls.length > 1 ? ` ON CLUSTER ${process.env.COLONNADE_CLUSTER ?? 'colonnade'}` : '';
const runSeconds = Number(process.env.RUN_SECONDS ?? 60);

const MyClickHouse = definePool({ connectionStrings: urls, name: 'MyClickHouse', poolSize: 6, asyncFlushInterval: 500 });
const watcher = observer({ port: Number(process.env.OBSERVER_PORT ?? 9464) });
const app = await startSupervisor([MyClickHouse, watcher]);
console.log(`observer: ${watcher.url}  (page), ${watcher.url}metrics, ${watcher.url}state.json`);

MyClickHouse.events.on('server:down', (e) => console.log(`server down: ${e.server} (${e.reason})`));
MyClickHouse.events.on('server:up', (e) => console.log(`server up: ${e.server}`));
MyClickHouse.events.on('supervisor:restart', (e) => console.log(`restart: ${e.supervisor}/${e.child}: ${e.reason}`));

await MyClickHouse.query(`CREATE TABLE IF NOT EXISTS colonnade_observer_events${onCluster} (n UInt32, at DateTime) ENGINE = Memory`);
let stopping = false;
process.once('SIGINT', () => { stopping = true; });
const deadline = runSeconds > 0 ? Date.now() + runSeconds * 1000 : Infinity;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let calls = 0;
// A small load: four callers, a select every 20-120 ms each, some slow ones, a few rows for the writer.
await Promise.all(Array.from({ length: 4 }, async (_, i) => {
  for (let n = 0; !stopping && Date.now() < deadline && n < 1_000_000; n++) {
    const slow = Math.random() < 0.05;
    await MyClickHouse.select(slow ? 'SELECT sleep(0.2) AS s' : 'SELECT {i} AS i', slow ? {} : { i }).catch(() => undefined);
    if (i === 0) MyClickHouse.asyncInsertToTable('colonnade_observer_events', { n, at: new Date() });
    calls++;
    await sleep(20 + Math.random() * 100);
  }
}));
await MyClickHouse.flush();
await MyClickHouse.query(`DROP TABLE IF EXISTS colonnade_observer_events${onCluster}`);
await app.stop();
console.log(`${calls} calls made; stopped`);
