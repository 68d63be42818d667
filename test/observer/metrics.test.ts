// The observer's Prometheus text, read back by a strict parser: escaping of awkward label
// values, cumulative histogram buckets, counters named *_total; and the parser itself
// refuses what a scraper would misread.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BUCKETS, percentile, type ObserverState, type QueryCounters } from '../../src/observer/collector.js';
import { escapeLabel, renderMetrics } from '../../src/observer/metrics.js';
import { parsePrometheus, sumOf, valueOf } from '../support/prometheus.js';

const test = suite('observer metrics');

const awkward = 'http://127.0.0.1:1/db"with\\odd\nchars';
const connections = { idle: 2, busy: 1, resetting: 0, verifying: 0, checking: 0, failed: 0, backoff: 0, probing: 0 };
const state: ObserverState = {
  at: 0,
  tree: { id: 'root', type: 'supervisor', state: 'running', restarts: 0, children: [] },
  pools: [{
    name: 'P', started: true, waiters: 3, overflow: 1, overflowInUse: 1, idle: 2, inUse: 1,
    writer: { queued: 5, inFlight: 2, written: 100, dropped: 7, failed: 4, retried: 1 },
    servers: [{
      server: awkward, up: false, version: '18.16.1', penalty: 2, connections, inFlight: 1, queries: 12, errors: 3,
      rate: 0, lastMinute: { calls: 0, errors: 0 }, p50: undefined, p99: undefined, history: [],
    }],
  }],
  restarts: [{ supervisor: 'connections', child: 'conn-0', count: 2, gaveUp: 0, lastReason: 'x', at: 0 }],
};
const buckets = (ms: number[]): number[] => [...BUCKETS.map((le) => ms.filter((m) => m / 1000 <= le).length), ms.length];
const queries: QueryCounters[] = [{
  pool: 'P', server: awkward, type: 'select', outcomes: new Map([['ok', 3], ['error', 1]]), buckets: buckets([0.5, 3, 40, 2_000]), sum: 2.0435,
}];

test('render :: parses strictly and carries every value, awkward label values escaped', () => {
  const families = parsePrometheus(renderMetrics(state, queries));
  assert.is(valueOf(families, 'colonnade_server_up', { pool: 'P', server: awkward }), 0);
  assert.is(valueOf(families, 'colonnade_queries_total', { server: awkward, type: 'select', outcome: 'ok' }), 3);
  assert.is(valueOf(families, 'colonnade_queries_total', { outcome: 'error' }), 1);
  assert.is(valueOf(families, 'colonnade_query_duration_seconds_count', { server: awkward }), 4);
  assert.is(valueOf(families, 'colonnade_query_duration_seconds_bucket', { le: '0.001' }), 1);
  assert.is(valueOf(families, 'colonnade_query_duration_seconds_bucket', { le: '0.05' }), 3);
  assert.is(valueOf(families, 'colonnade_connections', { state: 'idle' }), 2);
  assert.is(sumOf(families, 'colonnade_connections'), 3);
  assert.is(valueOf(families, 'colonnade_waiters', { pool: 'P' }), 3);
  assert.is(valueOf(families, 'colonnade_writer_queue_rows', { pool: 'P' }), 5);
  assert.is(valueOf(families, 'colonnade_writer_rows_total', { outcome: 'written' }), 100);
  assert.is(valueOf(families, 'colonnade_writer_rows_total', { outcome: 'dropped' }), 7);
  assert.is(valueOf(families, 'colonnade_writer_rows_total', { outcome: 'dead_letter' }), 4);
  assert.is(valueOf(families, 'colonnade_supervisor_restarts_total', { supervisor: 'connections', child: 'conn-0' }), 2);
  assert.is(families.get('colonnade_query_duration_seconds')?.type, 'histogram');
});

test('render :: every family carries its own field (all values distinct), and a call slower than the last bucket', () => {
  const pool = state.pools[0]!;
  const distinct: ObserverState = {
    ...state,
    pools: [{
      ...pool, overflow: 5, overflowInUse: 1, inUse: 6,
      writer: { queued: 11, inFlight: 12, written: 100, dropped: 7, failed: 4, retried: 9 },
      servers: [{ ...pool.servers[0]!, server: 's1', up: true, inFlight: 13, queries: 21, errors: 8 }],
    }],
    restarts: [{ supervisor: 'connections', child: 'conn-0', count: 2, gaveUp: 1, lastReason: 'x', at: 0 }],
  };
  const slow = [0.5, 3, 40, 2_000, 30_000];
  const families = parsePrometheus(renderMetrics(distinct, [{ ...queries[0]!, server: 's1', outcomes: new Map([['ok', 4], ['error', 1]]), buckets: buckets(slow), sum: 32.0435 }]));
  const expected: Array<[string, Record<string, string>, number]> = [
    ['colonnade_query_duration_seconds_sum', {}, 32.0435],
    ['colonnade_query_duration_seconds_count', {}, 5],
    ['colonnade_query_duration_seconds_bucket', { le: '+Inf' }, 5],
    ['colonnade_query_duration_seconds_bucket', { le: '10' }, 4],
    ['colonnade_server_requests_total', { server: 's1' }, 21],
    ['colonnade_server_errors_total', { server: 's1' }, 8],
    ['colonnade_in_flight', { server: 's1' }, 13],
    ['colonnade_overflow_connections', { pool: 'P' }, 5],
    ['colonnade_writer_queue_rows', { pool: 'P' }, 11],
    ['colonnade_writer_in_flight_rows', { pool: 'P' }, 12],
    ['colonnade_supervisor_restarts_total', { child: 'conn-0' }, 2],
  ];
  for (const [name, labels, value] of expected) assert.is(valueOf(families, name, labels), value, `${name}${JSON.stringify(labels)}`);
});

test('render :: an empty tree is still valid text', () => {
  const families = parsePrometheus(renderMetrics({ ...state, pools: [], restarts: [] }, []));
  assert.is(families.get('colonnade_server_up')?.samples.length, 0);
});

test('escapeLabel :: backslash, quote and newline', () => {
  assert.is(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

test('percentile :: nearest rank', () => {
  assert.is(percentile([], 0.5), undefined);
  assert.is(percentile([1, 2, 3, 4], 0.5), 2);
  assert.is(percentile([1, 2, 3, 4], 0.99), 4);
  assert.is(percentile([7], 0.99), 7);
});

test('parser :: refuses what a scraper would misread', () => {
  const bad = [
    'x_total 1\n',                                                  // no TYPE
    '# TYPE x counter\nx 1\n',                                      // counter not *_total
    '# TYPE x_total counter\nx_total{a="b} 1\n',                    // unterminated value
    '# TYPE x_total counter\nx_total{a="\\q"} 1\n',                 // bad escape
    '# TYPE x_total counter\nx_total one\n',                        // bad value
    '# TYPE x_total counter\nx_total 1\nx_total 2\n',               // repeated series
    '# TYPE g gauge\ng 1\n# TYPE h gauge\nh 1\ng{a="1"} 2\n',       // split family
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', // +Inf != count
    '# TYPE g gauge\ng 1',                                          // no final newline
  ];
  for (const text of bad) assert.throws(() => parsePrometheus(text), undefined, JSON.stringify(text));
  assert.ok(parsePrometheus('# HELP g a gauge\n# TYPE g gauge\ng{a="x\\"y"} 1.5e3\n'));
});

test.run();
