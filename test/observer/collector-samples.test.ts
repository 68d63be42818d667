// The observer's latency window under a steady stream of calls: the percentiles read the
// newest 20,000 samples of the last minute, and keeping them costs little per call.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Collector } from '../../src/observer/collector.js';
import { definePool } from '../../src/pool/index.js';
import { startSupervisor } from '../../src/otp/index.js';

const test = suite('observer collector samples');

test('60,000 calls in the minute: p50 and p99 of the newest 20,000, at a few microseconds a call', async () => {
  // Nothing listens there: the pool's connections back off, and no query is sent.
  const pool = definePool({ connectionStrings: ['http://127.0.0.1:1/default'], name: 'samples', poolSize: 1 });
  const app = await startSupervisor([pool]);
  let now = 1_000_000;
  const collector = new Collector(app, () => now);
  try {
    const server = pool.stats().servers[0]?.server as string;
    const t0 = performance.now();
    // The first 40,000 calls take 1,000 ms each; the newest 20,000 take 1 to 100 ms.
    for (let i = 0; i < 60_000; i++) {
      now += 0.5;
      pool.events.emit('query', { pool: 'samples', type: 'select', server, durationMs: i < 40_000 ? 1_000 : 1 + (i % 100), rows: 1, outcome: 'ok', error: undefined, retries: 0 });
    }
    const perCall = ((performance.now() - t0) * 1000) / 60_000;
    const seen = collector.snapshot().pools[0]?.servers[0];
    assert.is(seen?.p50, 50);
    assert.is(seen?.p99, 99);
    assert.ok(perCall < 20, `${perCall.toFixed(1)} us a call`);
    // A minute later, only the calls of the last minute count.
    now += 60_001;
    assert.is(collector.snapshot().pools[0]?.servers[0]?.p50, undefined);
  } finally {
    collector.close();
    await app.stop();
  }
});

test.run();
