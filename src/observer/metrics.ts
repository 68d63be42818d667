/**
 * `/metrics`: the Prometheus text exposition format (version 0.0.4), written here in a few
 * lines rather than with prom-client: the values already live in `stats()` and the
 * collector, and a registry of our own would only copy them on every scrape.
 */
import { BUCKETS, type ObserverState, type QueryCounters } from './collector.js';

type Labels = Readonly<Record<string, string>>;

/**
 * A label value escaped as the format asks (backslash, double quote, newline).
 *
 * @example
 * escapeLabel('a"b'); // 'a\\"b'
 */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

class Family {
  readonly lines: string[];
  constructor(name: string, type: 'gauge' | 'counter' | 'histogram', help: string) {
    this.lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  }
}

/**
 * Renders the observer's state and query counters as Prometheus text.
 *
 * @example
 * const text = renderMetrics(collector.snapshot(), collector.queryCounters());
 * text.includes('colonnade_server_up{'); // true once a pool is in the tree
 */
export function renderMetrics(state: ObserverState, queries: readonly QueryCounters[]): string {
  const families: Family[] = [];
  const family = (name: string, type: 'gauge' | 'counter' | 'histogram', help: string, fill: (add: (labels: Labels, value: number, suffix?: string) => void) => void): void => {
    const f = new Family(name, type, help);
    fill((l, value, suffix = '') => f.lines.push(`${name}${suffix}${labels(l)} ${num(value)}`));
    families.push(f);
  };
  const servers = state.pools.flatMap((p) => p.servers.map((s) => ({ pool: p.name, s })));

  family('colonnade_server_up', 'gauge', 'Whether the pool counts the server as up (1) or down (0).', (add) => {
    for (const { pool, s } of servers) add({ pool, server: s.server }, s.up ? 1 : 0);
  });
  family('colonnade_queries_total', 'counter', 'Calls through the pool that ended (type writer: the async writer\'s sends), by the server of their last attempt, type and outcome.', (add) => {
    for (const q of queries) for (const [outcome, n] of q.outcomes) add({ pool: q.pool, server: q.server, type: q.type, outcome }, n);
  });
  family('colonnade_query_duration_seconds', 'histogram', 'Wall time of calls through the pool, checkout and retries included.', (add) => {
    for (const q of queries) {
      const l = { pool: q.pool, server: q.server, type: q.type };
      BUCKETS.forEach((le, i) => add({ ...l, le: String(le) }, q.buckets[i]!, '_bucket'));
      add({ ...l, le: '+Inf' }, q.buckets[BUCKETS.length]!, '_bucket');
      add(l, q.sum, '_sum');
      add(l, q.buckets[BUCKETS.length]!, '_count');
    }
  });
  family('colonnade_server_requests_total', 'counter', 'Requests sent to the server since the pool was defined (stats().servers[].queries: every attempt, hedges included).', (add) => {
    for (const { pool, s } of servers) add({ pool, server: s.server }, s.queries);
  });
  family('colonnade_server_errors_total', 'counter', 'Network failures and timeouts counted against the server (stats().servers[].errors).', (add) => {
    for (const { pool, s } of servers) add({ pool, server: s.server }, s.errors);
  });
  family('colonnade_connections', 'gauge', 'Connections to the server by machine state.', (add) => {
    for (const { pool, s } of servers) for (const [state, n] of Object.entries(s.connections)) add({ pool, server: s.server, state }, n);
  });
  family('colonnade_in_flight', 'gauge', 'Calls lent a connection to the server right now.', (add) => {
    for (const { pool, s } of servers) add({ pool, server: s.server }, s.inFlight);
  });
  family('colonnade_waiters', 'gauge', 'Callers waiting for a connection.', (add) => {
    for (const p of state.pools) add({ pool: p.name }, p.waiters);
  });
  family('colonnade_overflow_connections', 'gauge', 'Overflow connections alive.', (add) => {
    for (const p of state.pools) add({ pool: p.name }, p.overflow);
  });
  family('colonnade_writer_queue_rows', 'gauge', 'Rows (or statements) in the async writer waiting to be sent.', (add) => {
    for (const p of state.pools) add({ pool: p.name }, p.writer.queued);
  });
  family('colonnade_writer_in_flight_rows', 'gauge', 'Rows (or statements) in a batch being sent or waiting to be retried.', (add) => {
    for (const p of state.pools) add({ pool: p.name }, p.writer.inFlight);
  });
  family('colonnade_writer_rows_total', 'counter', 'Rows the async writer wrote, dropped or dead-lettered.', (add) => {
    for (const p of state.pools) {
      add({ pool: p.name, outcome: 'written' }, p.writer.written);
      add({ pool: p.name, outcome: 'dropped' }, p.writer.dropped);
      add({ pool: p.name, outcome: 'dead_letter' }, p.writer.failed);
    }
  });
  family('colonnade_supervisor_restarts_total', 'counter', 'Restarts of a child by its supervisor since the observer started.', (add) => {
    for (const r of state.restarts) add({ supervisor: r.supervisor, child: r.child }, r.count);
  });
  return `${families.map((f) => f.lines.join('\n')).join('\n')}\n`;
}
